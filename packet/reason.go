package packet

import "strconv"

// ReasonCode is an MQTT 5.0 reason code (section 2.4). Values below 0x80
// report success; 0x80 and above report failure.
//
// The codec uses reason codes for MQTT 3.x too, so that callers handle one
// vocabulary: a 3.x CONNACK return code is decoded to its 5.0 counterpart
// (1 → 0x84, 2 → 0x85, 3 → 0x88, 4 → 0x86, 5 → 0x87) and encoded back, and
// the 3.x SUBACK return codes 0, 1, 2 and 0x80 are the same numbers in 5.0.
type ReasonCode byte

// Reason codes (MQTT 5.0 Table 2-6).
const (
	ReasonSuccess                     ReasonCode = 0x00
	ReasonNormalDisconnection         ReasonCode = 0x00
	ReasonGrantedQoS0                 ReasonCode = 0x00
	ReasonGrantedQoS1                 ReasonCode = 0x01
	ReasonGrantedQoS2                 ReasonCode = 0x02
	ReasonDisconnectWithWill          ReasonCode = 0x04
	ReasonNoMatchingSubscribers       ReasonCode = 0x10
	ReasonNoSubscriptionExisted       ReasonCode = 0x11
	ReasonContinueAuthentication      ReasonCode = 0x18
	ReasonReauthenticate              ReasonCode = 0x19
	ReasonUnspecifiedError            ReasonCode = 0x80
	ReasonMalformedPacket             ReasonCode = 0x81
	ReasonProtocolError               ReasonCode = 0x82
	ReasonImplementationSpecificError ReasonCode = 0x83
	ReasonUnsupportedProtocolVersion  ReasonCode = 0x84
	ReasonClientIDNotValid            ReasonCode = 0x85
	ReasonBadUsernameOrPassword       ReasonCode = 0x86
	ReasonNotAuthorized               ReasonCode = 0x87
	ReasonServerUnavailable           ReasonCode = 0x88
	ReasonServerBusy                  ReasonCode = 0x89
	ReasonBanned                      ReasonCode = 0x8A
	ReasonServerShuttingDown          ReasonCode = 0x8B
	ReasonBadAuthenticationMethod     ReasonCode = 0x8C
	ReasonKeepAliveTimeout            ReasonCode = 0x8D
	ReasonSessionTakenOver            ReasonCode = 0x8E
	ReasonTopicFilterInvalid          ReasonCode = 0x8F
	ReasonTopicNameInvalid            ReasonCode = 0x90
	ReasonPacketIDInUse               ReasonCode = 0x91
	ReasonPacketIDNotFound            ReasonCode = 0x92
	ReasonReceiveMaximumExceeded      ReasonCode = 0x93
	ReasonTopicAliasInvalid           ReasonCode = 0x94
	ReasonPacketTooLarge              ReasonCode = 0x95
	ReasonMessageRateTooHigh          ReasonCode = 0x96
	ReasonQuotaExceeded               ReasonCode = 0x97
	ReasonAdministrativeAction        ReasonCode = 0x98
	ReasonPayloadFormatInvalid        ReasonCode = 0x99
	ReasonRetainNotSupported          ReasonCode = 0x9A
	ReasonQoSNotSupported             ReasonCode = 0x9B
	ReasonUseAnotherServer            ReasonCode = 0x9C
	ReasonServerMoved                 ReasonCode = 0x9D
	ReasonSharedSubsNotSupported      ReasonCode = 0x9E
	ReasonConnectionRateExceeded      ReasonCode = 0x9F
	ReasonMaximumConnectTime          ReasonCode = 0xA0
	ReasonSubIDsNotSupported          ReasonCode = 0xA1
	ReasonWildcardSubsNotSupported    ReasonCode = 0xA2
)

const (
	cc  = 1 << TypeConnack
	pa  = 1 << TypePuback
	prc = 1 << TypePubrec
	prl = 1 << TypePubrel
	pc  = 1 << TypePubcomp
	sa  = 1 << TypeSuback
	ua  = 1 << TypeUnsuback
	dc  = 1 << TypeDisconnect
	au  = 1 << TypeAuth
)

type reasonInfo struct {
	name    string
	packets uint16 // bit (1 << Type) for each packet that may carry the code
}

// reasons is Table 2-6 of MQTT 5.0: each code's name and the packets that may
// carry it. Code 0 has a name per packet; see ReasonCode.Name.
var reasons = map[ReasonCode]reasonInfo{
	0x00: {"Success", cc | pa | prc | prl | pc | sa | ua | dc | au},
	0x01: {"Granted QoS 1", sa},
	0x02: {"Granted QoS 2", sa},
	0x04: {"Disconnect with Will Message", dc},
	0x10: {"No matching subscribers", pa | prc},
	0x11: {"No subscription existed", ua},
	0x18: {"Continue authentication", au},
	0x19: {"Re-authenticate", au},
	0x80: {"Unspecified error", cc | pa | prc | sa | ua | dc},
	0x81: {"Malformed Packet", cc | dc},
	0x82: {"Protocol Error", cc | dc},
	0x83: {"Implementation specific error", cc | pa | prc | sa | ua | dc},
	0x84: {"Unsupported Protocol Version", cc},
	0x85: {"Client Identifier not valid", cc},
	0x86: {"Bad User Name or Password", cc},
	0x87: {"Not authorized", cc | pa | prc | sa | ua | dc},
	0x88: {"Server unavailable", cc},
	0x89: {"Server busy", cc | dc},
	0x8A: {"Banned", cc},
	0x8B: {"Server shutting down", dc},
	0x8C: {"Bad authentication method", cc | dc},
	0x8D: {"Keep Alive timeout", dc},
	0x8E: {"Session taken over", dc},
	0x8F: {"Topic Filter invalid", sa | ua | dc},
	0x90: {"Topic Name invalid", cc | pa | prc | dc},
	0x91: {"Packet Identifier in use", pa | prc | sa | ua},
	0x92: {"Packet Identifier not found", prl | pc},
	0x93: {"Receive Maximum exceeded", dc},
	0x94: {"Topic Alias invalid", dc},
	0x95: {"Packet too large", cc | dc},
	0x96: {"Message rate too high", dc},
	0x97: {"Quota exceeded", cc | pa | prc | sa | dc},
	0x98: {"Administrative action", dc},
	0x99: {"Payload format invalid", cc | pa | prc | dc},
	0x9A: {"Retain not supported", cc | dc},
	0x9B: {"QoS not supported", cc | dc},
	0x9C: {"Use another server", cc | dc},
	0x9D: {"Server moved", cc | dc},
	0x9E: {"Shared Subscriptions not supported", sa | dc},
	0x9F: {"Connection rate exceeded", cc | dc},
	0xA0: {"Maximum connect time", dc},
	0xA1: {"Subscription Identifiers not supported", sa | dc},
	0xA2: {"Wildcard Subscriptions not supported", sa | dc},
}

// String returns the code's name in the specification ("Quota exceeded").
// Code 0 is "Success"; [ReasonCode.Name] gives the name a packet uses.
func (c ReasonCode) String() string {
	if r, ok := reasons[c]; ok {
		return r.name
	}
	return "ReasonCode(0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// Name returns the code's name as used in a packet of type t: code 0 is
// "Normal disconnection" in DISCONNECT and "Granted QoS 0" in SUBACK.
func (c ReasonCode) Name(t Type) string {
	if c == 0 {
		switch t {
		case TypeDisconnect:
			return "Normal disconnection"
		case TypeSuback:
			return "Granted QoS 0"
		}
	}
	return c.String()
}

// IsError reports whether c reports a failure (0x80 or above).
func (c ReasonCode) IsError() bool { return c >= 0x80 }

// ValidFor reports whether MQTT 5.0 allows c in a packet of type t.
func (c ReasonCode) ValidFor(t Type) bool {
	r, ok := reasons[c]
	return ok && r.packets&(1<<t) != 0
}

// connackV3 maps MQTT 3.x CONNACK return codes (3.1.1 Table 3.1) to reason
// codes; the index is the 3.x code.
var connackV3 = [...]ReasonCode{
	0: ReasonSuccess,
	1: ReasonUnsupportedProtocolVersion, // unacceptable protocol version
	2: ReasonClientIDNotValid,           // identifier rejected
	3: ReasonServerUnavailable,
	4: ReasonBadUsernameOrPassword,
	5: ReasonNotAuthorized,
}

// ReturnCodeV3 returns the MQTT 3.x CONNACK return code (0-5) that stands for
// c, and false when 3.x has none.
func (c ReasonCode) ReturnCodeV3() (byte, bool) {
	for i, r := range connackV3 {
		if r == c {
			return byte(i), true
		}
	}
	return 0, false
}
