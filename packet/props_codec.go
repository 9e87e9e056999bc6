package packet

import (
	"strconv"

	"github.com/ternmq/mqtt/topic"
)

// props writes a Property Length and the properties of p, refusing any that
// the property set `in` (a packet type's bit, or willProps) may not carry.
func (w *writer) props(p *Properties, in uint16) {
	if w.count {
		n0 := w.n
		w.propList(p, in)
		plen := w.n - n0
		w.n += varintLen(plen)
		w.plen[w.pi] = plen
		w.pi++
		return
	}
	w.varint(uint32(w.plen[w.pi]))
	w.pi++
	w.propList(p, in)
}

// prop writes a property identifier after checking that `in` allows it.
func (w *writer) prop(id PropertyID, in uint16) {
	if w.count && propTable[id].packets&in == 0 {
		w.fail(ReasonMalformedPacket, id.String()+" is not allowed in "+propSetName(w.t, in))
	}
	w.u8(byte(id))
}

func propSetName(t Type, in uint16) string {
	if in == willProps {
		return "Will Properties"
	}
	return t.String()
}

// boolByte writes a Byte property that holds 0 or 1.
func (w *writer) boolProp(id PropertyID, v bool, in uint16) {
	w.prop(id, in)
	if v {
		w.u8(1)
	} else {
		w.u8(0)
	}
}

func (w *writer) propList(p *Properties, in uint16) {
	if p.PayloadFormat != 0 {
		if w.count && p.PayloadFormat > 1 {
			w.fail(ReasonProtocolError, "Payload Format Indicator must be 0 or 1")
		}
		w.prop(PropPayloadFormat, in)
		w.u8(p.PayloadFormat)
	}
	if p.MessageExpiryInterval != nil {
		w.prop(PropMessageExpiry, in)
		w.u32(*p.MessageExpiryInterval)
	}
	if p.ContentType != "" {
		w.prop(PropContentType, in)
		w.str(p.ContentType, "Content Type")
	}
	if p.ResponseTopic != "" {
		if w.count {
			if err := topic.CheckName(p.ResponseTopic); err != nil {
				w.failTopic(ReasonProtocolError, "Response Topic", err)
			}
		}
		w.prop(PropResponseTopic, in)
		w.strTrusted(p.ResponseTopic)
	}
	if p.CorrelationData != nil {
		w.prop(PropCorrelationData, in)
		w.bin(p.CorrelationData, "Correlation Data")
	}
	if w.count && len(p.SubscriptionIDs) > 1 && in != pPublish {
		w.fail(ReasonProtocolError, "more than one Subscription Identifier")
	}
	for _, id := range p.SubscriptionIDs {
		if w.count && (id == 0 || id > MaxRemainingLength) {
			w.fail(ReasonProtocolError, "Subscription Identifier out of range 1 to 268,435,455")
		}
		w.prop(PropSubscriptionID, in)
		w.varint(id)
	}
	if p.SessionExpiryInterval != nil {
		w.prop(PropSessionExpiry, in)
		w.u32(*p.SessionExpiryInterval)
	}
	if p.AssignedClientID != "" {
		w.prop(PropAssignedClientID, in)
		w.str(p.AssignedClientID, "Assigned Client Identifier")
	}
	if p.ServerKeepAlive != nil {
		w.prop(PropServerKeepAlive, in)
		w.u16(*p.ServerKeepAlive)
	}
	if p.AuthMethod != "" {
		w.prop(PropAuthMethod, in)
		w.str(p.AuthMethod, "Authentication Method")
	}
	if p.AuthData != nil {
		if w.count && p.AuthMethod == "" {
			w.fail(ReasonProtocolError, "Authentication Data without an Authentication Method")
		}
		w.prop(PropAuthData, in)
		w.bin(p.AuthData, "Authentication Data")
	}
	if p.RequestProblemInfo != nil {
		w.boolProp(PropRequestProblemInfo, *p.RequestProblemInfo, in)
	}
	if p.WillDelayInterval != 0 {
		w.prop(PropWillDelay, in)
		w.u32(p.WillDelayInterval)
	}
	if p.RequestResponseInfo {
		w.boolProp(PropRequestResponseInfo, true, in)
	}
	if p.ResponseInfo != "" {
		w.prop(PropResponseInfo, in)
		w.str(p.ResponseInfo, "Response Information")
	}
	if p.ServerReference != "" {
		w.prop(PropServerReference, in)
		w.str(p.ServerReference, "Server Reference")
	}
	if p.ReasonString != "" {
		w.prop(PropReasonString, in)
		w.str(p.ReasonString, "Reason String")
	}
	if p.ReceiveMaximum != 0 {
		w.prop(PropReceiveMaximum, in)
		w.u16(p.ReceiveMaximum)
	}
	if p.TopicAliasMaximum != 0 {
		w.prop(PropTopicAliasMaximum, in)
		w.u16(p.TopicAliasMaximum)
	}
	if p.TopicAlias != 0 {
		w.prop(PropTopicAlias, in)
		w.u16(p.TopicAlias)
	}
	if p.MaximumQoS != nil {
		if w.count && *p.MaximumQoS > QoS1 {
			w.fail(ReasonProtocolError, "Maximum QoS must be 0 or 1")
		}
		w.prop(PropMaximumQoS, in)
		w.u8(byte(*p.MaximumQoS))
	}
	if p.RetainAvailable != nil {
		w.boolProp(PropRetainAvailable, *p.RetainAvailable, in)
	}
	for _, u := range p.User {
		w.prop(PropUser, in)
		w.str(u.Key, "User Property name")
		w.str(u.Value, "User Property value")
	}
	if p.MaximumPacketSize != 0 {
		w.prop(PropMaximumPacketSize, in)
		w.u32(p.MaximumPacketSize)
	}
	if p.WildcardSubAvailable != nil {
		w.boolProp(PropWildcardSubAvailable, *p.WildcardSubAvailable, in)
	}
	if p.SubIDAvailable != nil {
		w.boolProp(PropSubIDAvailable, *p.SubIDAvailable, in)
	}
	if p.SharedSubAvailable != nil {
		w.boolProp(PropSharedSubAvailable, *p.SharedSubAvailable, in)
	}
}

// props reads a Property Length and the properties after it into p,
// refusing a property the set `in` may not carry (malformed, MQTT 5.0
// section 2.2.2.2) and one repeated where it may appear once (protocol error).
func (d *decoder) props(p *Properties, in uint16) {
	n := int(d.varint("property length"))
	if !d.need(n, "properties") {
		return
	}
	full := d.b
	d.b = d.b[:d.off+n]
	defer func() { d.b = full }()
	var seen uint64
	for d.more() {
		raw := d.varint("property identifier")
		id := PropertyID(raw)
		info, ok := id.info()
		if raw > uint32(maxPropertyID) || !ok {
			d.malformed("unknown property identifier 0x" + strconv.FormatUint(uint64(raw), 16))
			return
		}
		if info.packets&in == 0 {
			d.malformed(id.String() + " is not allowed in " + propSetName(d.t, in))
			return
		}
		repeatable := id == PropUser || (id == PropSubscriptionID && in == pPublish)
		if !repeatable {
			if seen&(1<<id) != 0 {
				d.protocol(id.String() + " included more than once")
				return
			}
			seen |= 1 << id
		}
		d.prop(p, id)
	}
	if d.err == nil && p.AuthData != nil && p.AuthMethod == "" {
		d.protocol("Authentication Data without an Authentication Method")
	}
}

// boolByte reads a Byte property that must be 0 or 1.
func (d *decoder) boolByte(id PropertyID) *bool {
	c := d.u8(id.String())
	if c > 1 {
		d.protocol(id.String() + " must be 0 or 1")
	}
	v := c == 1
	return &v
}

func (d *decoder) prop(p *Properties, id PropertyID) {
	name := id.String()
	switch id {
	case PropPayloadFormat:
		p.PayloadFormat = d.u8(name)
		if p.PayloadFormat > 1 {
			d.protocol("Payload Format Indicator must be 0 or 1")
		}
	case PropMessageExpiry:
		v := d.u32(name)
		p.MessageExpiryInterval = &v
	case PropContentType:
		p.ContentType = d.str(name)
	case PropResponseTopic:
		p.ResponseTopic = d.str(name)
		if d.err == nil {
			if err := topic.CheckName(p.ResponseTopic); err != nil {
				d.fail(topicError(ReasonProtocolError, d.t, false, "Response Topic", err)) // MQTT-3.3.2-14
			}
		}
	case PropCorrelationData:
		p.CorrelationData = d.bin(name)
	case PropSubscriptionID:
		v := d.varint(name)
		if d.err == nil && v == 0 {
			d.protocol("Subscription Identifier of 0")
		}
		p.SubscriptionIDs = append(p.SubscriptionIDs, v)
	case PropSessionExpiry:
		v := d.u32(name)
		p.SessionExpiryInterval = &v
	case PropAssignedClientID:
		p.AssignedClientID = d.str(name)
	case PropServerKeepAlive:
		v := d.u16(name)
		p.ServerKeepAlive = &v
	case PropAuthMethod:
		p.AuthMethod = d.str(name)
	case PropAuthData:
		p.AuthData = d.bin(name)
	case PropRequestProblemInfo:
		p.RequestProblemInfo = d.boolByte(id)
	case PropWillDelay:
		p.WillDelayInterval = d.u32(name)
	case PropRequestResponseInfo:
		p.RequestResponseInfo = *d.boolByte(id)
	case PropResponseInfo:
		p.ResponseInfo = d.str(name)
	case PropServerReference:
		p.ServerReference = d.str(name)
	case PropReasonString:
		p.ReasonString = d.str(name)
	case PropReceiveMaximum:
		p.ReceiveMaximum = d.u16(name)
		if d.err == nil && p.ReceiveMaximum == 0 {
			d.protocol("Receive Maximum of 0")
		}
	case PropTopicAliasMaximum:
		p.TopicAliasMaximum = d.u16(name)
	case PropTopicAlias:
		p.TopicAlias = d.u16(name)
		if d.err == nil && p.TopicAlias == 0 {
			d.fail(&Error{Code: ReasonTopicAliasInvalid, Packet: d.t, Reason: "Topic Alias of 0"}) // MQTT-3.3.2-8
		}
	case PropMaximumQoS:
		c := d.u8(name)
		if c > 1 {
			d.protocol("Maximum QoS must be 0 or 1")
		}
		q := QoS(c)
		p.MaximumQoS = &q
	case PropRetainAvailable:
		p.RetainAvailable = d.boolByte(id)
	case PropUser:
		k := d.str("User Property name")
		v := d.str("User Property value")
		p.User = append(p.User, UserProperty{k, v})
	case PropMaximumPacketSize:
		p.MaximumPacketSize = d.u32(name)
		if d.err == nil && p.MaximumPacketSize == 0 {
			d.protocol("Maximum Packet Size of 0")
		}
	case PropWildcardSubAvailable:
		p.WildcardSubAvailable = d.boolByte(id)
	case PropSubIDAvailable:
		p.SubIDAvailable = d.boolByte(id)
	case PropSharedSubAvailable:
		p.SharedSubAvailable = d.boolByte(id)
	}
}

// empty reports whether p holds no property that would be encoded. It asks
// the encoder, so the two can never disagree.
func (p *Properties) empty() bool {
	w := writer{count: true}
	w.propList(p, 0xffff)
	return w.n == 0
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
