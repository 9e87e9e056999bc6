package packet

import "strconv"

// Version is an MQTT protocol level, as carried in CONNECT.
type Version byte

// Protocol versions.
const (
	V31  Version = 3 // MQTT 3.1, protocol name "MQIsdp"
	V311 Version = 4 // MQTT 3.1.1
	V5   Version = 5 // MQTT 5.0
)

// Valid reports whether v is a protocol level this package speaks.
func (v Version) Valid() bool { return v == V31 || v == V311 || v == V5 }

// String returns the version as people write it: "3.1", "3.1.1" or "5.0".
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	}
	return "Version(" + strconv.Itoa(int(v)) + ")"
}

// Type is an MQTT control packet type, the high nibble of the first byte.
type Type byte

// Control packet types (MQTT 5.0 section 2.1.2).
const (
	TypeConnect     Type = 1
	TypeConnack     Type = 2
	TypePublish     Type = 3
	TypePuback      Type = 4
	TypePubrec      Type = 5
	TypePubrel      Type = 6
	TypePubcomp     Type = 7
	TypeSubscribe   Type = 8
	TypeSuback      Type = 9
	TypeUnsubscribe Type = 10
	TypeUnsuback    Type = 11
	TypePingreq     Type = 12
	TypePingresp    Type = 13
	TypeDisconnect  Type = 14
	TypeAuth        Type = 15 // MQTT 5.0 only
)

var typeNames = [...]string{
	TypeConnect:     "CONNECT",
	TypeConnack:     "CONNACK",
	TypePublish:     "PUBLISH",
	TypePuback:      "PUBACK",
	TypePubrec:      "PUBREC",
	TypePubrel:      "PUBREL",
	TypePubcomp:     "PUBCOMP",
	TypeSubscribe:   "SUBSCRIBE",
	TypeSuback:      "SUBACK",
	TypeUnsubscribe: "UNSUBSCRIBE",
	TypeUnsuback:    "UNSUBACK",
	TypePingreq:     "PINGREQ",
	TypePingresp:    "PINGRESP",
	TypeDisconnect:  "DISCONNECT",
	TypeAuth:        "AUTH",
}

// String returns the packet type's name as the specification writes it
// ("PUBLISH").
func (t Type) String() string {
	if t >= TypeConnect && t <= TypeAuth {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// fixedFlags is the value the low nibble of the first byte must have, for
// every type but PUBLISH (MQTT-2.1.3-1, 3.1.1 MQTT-2.2.2-1).
func (t Type) fixedFlags() byte {
	switch t {
	case TypePubrel, TypeSubscribe, TypeUnsubscribe:
		return 0x02
	}
	return 0
}

// QoS is a quality of service level.
type QoS byte

// Quality of service levels.
const (
	QoS0 QoS = 0 // at most once
	QoS1 QoS = 1 // at least once
	QoS2 QoS = 2 // exactly once
)

// Valid reports whether q is 0, 1 or 2.
func (q QoS) Valid() bool { return q <= QoS2 }

// String returns "QoS 0", "QoS 1" or "QoS 2".
func (q QoS) String() string {
	if q.Valid() {
		return "QoS " + strconv.Itoa(int(q))
	}
	return "QoS(" + strconv.Itoa(int(q)) + ")"
}

// MaxRemainingLength is the largest Remaining Length a Variable Byte Integer
// can carry: 268,435,455 bytes (MQTT 5.0 section 1.5.5).
const MaxRemainingLength = 268_435_455

// MaxPacketSize is the largest possible MQTT packet: a one-byte type, a
// four-byte Remaining Length and MaxRemainingLength bytes.
const MaxPacketSize = 1 + 4 + MaxRemainingLength
