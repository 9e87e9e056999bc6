package packet

import (
	"strconv"

	"github.com/ternmq/mqtt/topic"
)

// Connect is the CONNECT packet, the first a client sends (MQTT 5.0 section
// 3.1, 3.1.1 section 3.1).
//
// In MQTT 3.x the Properties of the packet and of the Will are not part of
// the protocol and are not encoded.
type Connect struct {
	// Version is the protocol level the packet was decoded with. Append
	// ignores it and writes the version it is given.
	Version Version

	ClientID   string
	CleanStart bool   // Clean Session in MQTT 3.x
	KeepAlive  uint16 // seconds; 0 turns keep-alive off

	// Username is sent when it is not empty or UsernameFlag is set; Password
	// when it is not nil. Decoding sets UsernameFlag whenever the packet
	// carries a user name, so that an empty one survives a round trip.
	Username     string
	UsernameFlag bool
	Password     []byte

	Will       *Will // nil: no Will Message
	Properties Properties
}

// Will is the Last Will of a CONNECT: the message the server publishes when
// the connection ends without a normal DISCONNECT.
type Will struct {
	Topic      string
	Payload    []byte
	QoS        QoS
	Retain     bool
	Properties Properties // MQTT 5.0 Will Properties
}

// Type returns TypeConnect.
func (*Connect) Type() Type { return TypeConnect }

// protocolName returns the Protocol Name of version v (MQTT-3.1.2-1;
// "MQIsdp" in MQTT 3.1).
func protocolName(v Version) string {
	if v == V31 {
		return "MQIsdp"
	}
	return "MQTT"
}

// Connect Flags bits (MQTT 5.0 section 3.1.2.3).
const (
	connUsername   = 0x80
	connPassword   = 0x40
	connWillRetain = 0x20
	connWillQoS    = 0x18
	connWill       = 0x04
	connClean      = 0x02
	connReserved   = 0x01
)

func (p *Connect) flags() byte {
	var f byte
	if p.Username != "" || p.UsernameFlag {
		f |= connUsername
	}
	if p.Password != nil {
		f |= connPassword
	}
	if p.Will != nil {
		f |= connWill | byte(p.Will.QoS)<<3
		if p.Will.Retain {
			f |= connWillRetain
		}
	}
	if p.CleanStart {
		f |= connClean
	}
	return f
}

// Append appends the encoded CONNECT to dst.
func (p *Connect) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeConnect, v)
	p.write(&w)
	dst, err := w.header(dst, 0)
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func (p *Connect) write(w *writer) {
	flags := p.flags()
	if w.count {
		if w.v != V5 && flags&connPassword != 0 && flags&connUsername == 0 {
			w.fail(ReasonMalformedPacket, "a password without a user name") // 3.1.1 MQTT-3.1.2-22
		}
		if p.Will != nil {
			if !p.Will.QoS.Valid() {
				w.fail(ReasonMalformedPacket, "Will QoS "+p.Will.QoS.String())
			}
			if err := topic.CheckName(p.Will.Topic); err != nil {
				w.failTopic(ReasonTopicNameInvalid, "Will Topic", err)
			}
		}
	}
	w.strTrusted(protocolName(w.v))
	w.u8(byte(w.v))
	w.u8(flags)
	w.u16(p.KeepAlive)
	if w.v == V5 {
		w.props(&p.Properties, pConnect)
	}
	w.str(p.ClientID, "Client Identifier")
	if p.Will != nil {
		if w.v == V5 {
			w.props(&p.Will.Properties, willProps)
		}
		w.strTrusted(p.Will.Topic)
		w.bin(p.Will.Payload, "Will Payload")
	}
	if flags&connUsername != 0 {
		w.str(p.Username, "User Name")
	}
	if flags&connPassword != 0 {
		w.bin(p.Password, "Password")
	}
}

// Decode decodes a CONNECT from the front of src. If v is 0, any version
// this package speaks is accepted and recorded in p.Version; otherwise a
// CONNECT of another version fails with ReasonUnsupportedProtocolVersion.
func (p *Connect) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeConnect)
	if err != nil {
		return 0, err
	}
	*p = Connect{}
	p.decode(&d)
	return n, d.end()
}

func (p *Connect) decode(d *decoder) {
	name := d.strUnchecked("Protocol Name")
	level := Version(d.u8("Protocol Version"))
	if d.err != nil {
		return
	}
	if !level.Valid() || name != protocolName(level) || (d.v != 0 && d.v != level) {
		// MQTT-3.1.2-1, MQTT-3.1.2-2: the server answers 0x84.
		d.fail(&Error{Code: ReasonUnsupportedProtocolVersion, Packet: TypeConnect,
			Reason: "protocol " + quote(name) + " level " + level.String()})
		return
	}
	d.v = level
	p.Version = level
	flags := d.u8("Connect Flags")
	p.KeepAlive = d.u16("Keep Alive")
	if d.err != nil {
		return
	}
	if flags&connReserved != 0 {
		d.malformed("reserved Connect Flag set") // MQTT-3.1.2-3
		return
	}
	willQoS := QoS(flags & connWillQoS >> 3)
	if flags&connWill == 0 && flags&(connWillQoS|connWillRetain) != 0 {
		d.malformed("Will QoS or Will Retain set without a Will") // MQTT-3.1.2-11, MQTT-3.1.2-13
		return
	}
	if !willQoS.Valid() {
		d.malformed("Will QoS 3") // MQTT-3.1.2-12
		return
	}
	if level != V5 && flags&connPassword != 0 && flags&connUsername == 0 {
		d.malformed("Password Flag set without User Name Flag") // 3.1.1 MQTT-3.1.2-22
		return
	}
	p.CleanStart = flags&connClean != 0
	if level == V5 {
		d.props(&p.Properties, pConnect)
	}
	p.ClientID = d.str("Client Identifier")
	if flags&connWill != 0 {
		w := &Will{QoS: willQoS, Retain: flags&connWillRetain != 0}
		if level == V5 {
			d.props(&w.Properties, willProps)
		}
		w.Topic = d.str("Will Topic")
		if d.err == nil {
			if err := topic.CheckName(w.Topic); err != nil {
				d.fail(topicError(ReasonTopicNameInvalid, TypeConnect, false, "Will Topic", err))
			}
		}
		if b := d.bin("Will Payload"); len(b) > 0 {
			w.Payload = b
		}
		p.Will = w
	}
	if flags&connUsername != 0 {
		p.Username = d.str("User Name")
		p.UsernameFlag = true
	}
	if flags&connPassword != 0 {
		p.Password = d.bin("Password")
	}
}

// quote returns s in double quotes, cut to 32 bytes: for error messages
// about values a peer sent.
func quote(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "..."
	}
	return strconv.Quote(s)
}
