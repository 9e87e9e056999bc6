package packet

import "strconv"

// PropertyID identifies an MQTT 5.0 property (section 2.2.2.2, Table 2-4).
type PropertyID byte

// Property identifiers.
const (
	PropPayloadFormat        PropertyID = 0x01
	PropMessageExpiry        PropertyID = 0x02
	PropContentType          PropertyID = 0x03
	PropResponseTopic        PropertyID = 0x08
	PropCorrelationData      PropertyID = 0x09
	PropSubscriptionID       PropertyID = 0x0B
	PropSessionExpiry        PropertyID = 0x11
	PropAssignedClientID     PropertyID = 0x12
	PropServerKeepAlive      PropertyID = 0x13
	PropAuthMethod           PropertyID = 0x15
	PropAuthData             PropertyID = 0x16
	PropRequestProblemInfo   PropertyID = 0x17
	PropWillDelay            PropertyID = 0x18
	PropRequestResponseInfo  PropertyID = 0x19
	PropResponseInfo         PropertyID = 0x1A
	PropServerReference      PropertyID = 0x1C
	PropReasonString         PropertyID = 0x1F
	PropReceiveMaximum       PropertyID = 0x21
	PropTopicAliasMaximum    PropertyID = 0x22
	PropTopicAlias           PropertyID = 0x23
	PropMaximumQoS           PropertyID = 0x24
	PropRetainAvailable      PropertyID = 0x25
	PropUser                 PropertyID = 0x26
	PropMaximumPacketSize    PropertyID = 0x27
	PropWildcardSubAvailable PropertyID = 0x28
	PropSubIDAvailable       PropertyID = 0x29
	PropSharedSubAvailable   PropertyID = 0x2A
	maxPropertyID                       = PropSharedSubAvailable
	willProps                           = 1 << 0 // bit for Will Properties in propInfo.packets
	noPropertyID             PropertyID = 0
)

// DataType is the encoding of a property's value (MQTT 5.0 section 1.5).
type DataType byte

// Property data types.
const (
	DataByte DataType = iota + 1
	DataTwoByteInt
	DataFourByteInt
	DataVarInt
	DataString
	DataBinary
	DataStringPair
)

var dataTypeNames = [...]string{
	DataByte:        "Byte",
	DataTwoByteInt:  "Two Byte Integer",
	DataFourByteInt: "Four Byte Integer",
	DataVarInt:      "Variable Byte Integer",
	DataString:      "UTF-8 Encoded String",
	DataBinary:      "Binary Data",
	DataStringPair:  "UTF-8 String Pair",
}

// String returns the data type's name in the specification.
func (d DataType) String() string {
	if d >= DataByte && d <= DataStringPair {
		return dataTypeNames[d]
	}
	return "DataType(" + strconv.Itoa(int(d)) + ")"
}

type propInfo struct {
	name    string
	typ     DataType
	packets uint16 // bit (1 << Type) per packet that may carry it; bit 0: Will Properties
}

const (
	pConnect   = 1 << TypeConnect
	pPublish   = 1 << TypePublish
	pSubscribe = 1 << TypeSubscribe
	pUnsub     = 1 << TypeUnsubscribe
)

// propTable is Table 2-4 of MQTT 5.0.
var propTable = [maxPropertyID + 1]propInfo{
	PropPayloadFormat:        {"Payload Format Indicator", DataByte, pPublish | willProps},
	PropMessageExpiry:        {"Message Expiry Interval", DataFourByteInt, pPublish | willProps},
	PropContentType:          {"Content Type", DataString, pPublish | willProps},
	PropResponseTopic:        {"Response Topic", DataString, pPublish | willProps},
	PropCorrelationData:      {"Correlation Data", DataBinary, pPublish | willProps},
	PropSubscriptionID:       {"Subscription Identifier", DataVarInt, pPublish | pSubscribe},
	PropSessionExpiry:        {"Session Expiry Interval", DataFourByteInt, pConnect | cc | dc},
	PropAssignedClientID:     {"Assigned Client Identifier", DataString, cc},
	PropServerKeepAlive:      {"Server Keep Alive", DataTwoByteInt, cc},
	PropAuthMethod:           {"Authentication Method", DataString, pConnect | cc | au},
	PropAuthData:             {"Authentication Data", DataBinary, pConnect | cc | au},
	PropRequestProblemInfo:   {"Request Problem Information", DataByte, pConnect},
	PropWillDelay:            {"Will Delay Interval", DataFourByteInt, willProps},
	PropRequestResponseInfo:  {"Request Response Information", DataByte, pConnect},
	PropResponseInfo:         {"Response Information", DataString, cc},
	PropServerReference:      {"Server Reference", DataString, cc | dc},
	PropReasonString:         {"Reason String", DataString, cc | pa | prc | prl | pc | sa | ua | dc | au},
	PropReceiveMaximum:       {"Receive Maximum", DataTwoByteInt, pConnect | cc},
	PropTopicAliasMaximum:    {"Topic Alias Maximum", DataTwoByteInt, pConnect | cc},
	PropTopicAlias:           {"Topic Alias", DataTwoByteInt, pPublish},
	PropMaximumQoS:           {"Maximum QoS", DataByte, cc},
	PropRetainAvailable:      {"Retain Available", DataByte, cc},
	PropUser:                 {"User Property", DataStringPair, pConnect | cc | pPublish | willProps | pa | prc | prl | pc | pSubscribe | sa | pUnsub | ua | dc | au},
	PropMaximumPacketSize:    {"Maximum Packet Size", DataFourByteInt, pConnect | cc},
	PropWildcardSubAvailable: {"Wildcard Subscription Available", DataByte, cc},
	PropSubIDAvailable:       {"Subscription Identifier Available", DataByte, cc},
	PropSharedSubAvailable:   {"Shared Subscription Available", DataByte, cc},
}

func (id PropertyID) info() (propInfo, bool) {
	if id > maxPropertyID || propTable[id].name == "" {
		return propInfo{}, false
	}
	return propTable[id], true
}

// String returns the property's name in the specification.
func (id PropertyID) String() string {
	if p, ok := id.info(); ok {
		return p.name
	}
	return "PropertyID(0x" + strconv.FormatUint(uint64(id), 16) + ")"
}

// DataType returns how the property's value is encoded, or 0 for an unknown
// identifier.
func (id PropertyID) DataType() DataType {
	p, _ := id.info()
	return p.typ
}

// AllowedIn reports whether a packet of type t may carry the property.
func (id PropertyID) AllowedIn(t Type) bool {
	p, _ := id.info()
	return t >= TypeConnect && t <= TypeAuth && p.packets&(1<<t) != 0
}

// AllowedInWill reports whether the property may be among the Will
// Properties of a CONNECT.
func (id PropertyID) AllowedInWill() bool {
	p, _ := id.info()
	return p.packets&willProps != 0
}

// UserProperty is one User Property: a name and a value. A packet may carry
// several with the same name; their order is kept.
type UserProperty struct {
	Key, Value string
}

// Payload Format Indicator values.
const (
	PayloadFormatBytes byte = 0 // unspecified bytes
	PayloadFormatUTF8  byte = 1 // UTF-8 encoded character data
)

// Properties holds the MQTT 5.0 properties of a packet or of a Will. Each
// packet type allows a subset (see [PropertyID.AllowedIn]); encoding refuses
// a property the packet may not carry.
//
// A property is absent when its field is the zero value, except for the
// pointer fields: those are properties whose absence means something other
// than zero (a default of 1, or "unchanged"), and nil means absent.
// Properties is used by value; its slices and pointers are shared by copies.
type Properties struct {
	PayloadFormat         byte     // PUBLISH, Will: PayloadFormatBytes or PayloadFormatUTF8
	MessageExpiryInterval *uint32  // PUBLISH, Will: seconds; nil: the message does not expire
	ContentType           string   // PUBLISH, Will
	ResponseTopic         string   // PUBLISH, Will: a topic name, no wildcards (MQTT-3.3.2-14)
	CorrelationData       []byte   // PUBLISH, Will
	SubscriptionIDs       []uint32 // PUBLISH (any number), SUBSCRIBE (at most one): 1 to 268,435,455
	SessionExpiryInterval *uint32  // CONNECT, CONNACK, DISCONNECT: seconds; nil: absent
	AssignedClientID      string   // CONNACK
	ServerKeepAlive       *uint16  // CONNACK: seconds; nil: the client's Keep Alive stands
	AuthMethod            string   // CONNECT, CONNACK, AUTH
	AuthData              []byte   // CONNECT, CONNACK, AUTH
	RequestProblemInfo    *bool    // CONNECT; nil: true
	WillDelayInterval     uint32   // Will: seconds
	RequestResponseInfo   bool     // CONNECT
	ResponseInfo          string   // CONNACK
	ServerReference       string   // CONNACK, DISCONNECT
	ReasonString          string   // acks, CONNACK, DISCONNECT, AUTH
	ReceiveMaximum        uint16   // CONNECT, CONNACK: 0 means absent (65,535)
	TopicAliasMaximum     uint16   // CONNECT, CONNACK
	TopicAlias            uint16   // PUBLISH: 0 means absent
	MaximumQoS            *QoS     // CONNACK: 0 or 1; nil: 2
	RetainAvailable       *bool    // CONNACK; nil: true
	User                  []UserProperty
	MaximumPacketSize     uint32 // CONNECT, CONNACK: 0 means absent (no limit)
	WildcardSubAvailable  *bool  // CONNACK; nil: true
	SubIDAvailable        *bool  // CONNACK; nil: true
	SharedSubAvailable    *bool  // CONNACK; nil: true
}
