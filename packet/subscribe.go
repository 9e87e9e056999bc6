package packet

import "github.com/ternmq/mqtt/topic"

// Subscribe is the SUBSCRIBE packet (MQTT 5.0 section 3.8).
type Subscribe struct {
	PacketID      uint16
	Properties    Properties // SubscriptionIDs (at most one) and User
	Subscriptions []Subscription
}

// Subscription is one topic filter of a SUBSCRIBE with its options. All but
// QoS are MQTT 5.0 options (section 3.8.3.1).
type Subscription struct {
	Filter            string
	QoS               QoS  // maximum QoS
	NoLocal           bool // don't send back this client's own messages
	RetainAsPublished bool // keep the RETAIN flag of forwarded messages
	// RetainHandling: 0 send retained messages at subscribe, 1 only if the
	// subscription is new, 2 never.
	RetainHandling byte
}

// Type returns TypeSubscribe.
func (*Subscribe) Type() Type { return TypeSubscribe }

// Append appends the encoded SUBSCRIBE to dst. It refuses an empty list
// (MQTT-3.8.3-2), an invalid topic filter, and options MQTT 3.x lacks.
func (p *Subscribe) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeSubscribe, v)
	p.write(&w)
	dst, err := w.header(dst, TypeSubscribe.fixedFlags())
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func (s *Subscription) options() byte {
	o := byte(s.QoS) | s.RetainHandling<<4
	if s.NoLocal {
		o |= 0x04
	}
	if s.RetainAsPublished {
		o |= 0x08
	}
	return o
}

func (p *Subscribe) write(w *writer) {
	if w.count {
		if p.PacketID == 0 {
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
		if len(p.Subscriptions) == 0 {
			w.fail(ReasonProtocolError, "no topic filters") // MQTT-3.8.3-2
		}
	}
	w.u16(p.PacketID)
	if w.v == V5 {
		w.props(&p.Properties, pSubscribe)
	}
	for i := range p.Subscriptions {
		s := &p.Subscriptions[i]
		if w.count {
			s.check(w)
		}
		w.strTrusted(s.Filter)
		w.u8(s.options())
	}
}

func (s *Subscription) check(w *writer) {
	if err := topic.CheckFilter(s.Filter); err != nil {
		w.failTopic(ReasonTopicFilterInvalid, "", err)
	}
	switch {
	case !s.QoS.Valid():
		w.fail(ReasonMalformedPacket, s.QoS.String())
	case w.v != V5 && (s.NoLocal || s.RetainAsPublished || s.RetainHandling != 0):
		w.fail(ReasonProtocolError, "subscription options of MQTT 5.0 in MQTT "+w.v.String())
	case s.RetainHandling > 2:
		w.fail(ReasonProtocolError, "Retain Handling 3")
	}
	if s.NoLocal && w.v == V5 && isShared(s.Filter) {
		w.fail(ReasonProtocolError, "No Local on a shared subscription") // MQTT-3.8.3-4
	}
}

// Decode decodes a SUBSCRIBE from the front of src; see [Packet]. Topic
// filters are checked to be UTF-8 strings but not for wildcard placement:
// that earns a per-filter reason code (0x8F) in SUBACK, which is the
// receiver's to give.
func (p *Subscribe) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeSubscribe)
	if err != nil {
		return 0, err
	}
	*p = Subscribe{}
	p.decode(&d)
	return n, d.end()
}

func (p *Subscribe) decode(d *decoder) {
	p.PacketID = d.u16("Packet Identifier")
	if d.err == nil && p.PacketID == 0 {
		d.protocol("Packet Identifier 0") // MQTT-2.2.1-3
	}
	if d.v == V5 {
		d.props(&p.Properties, pSubscribe)
	}
	if d.err == nil && !d.more() {
		d.protocol("no topic filters") // MQTT-3.8.3-2, 3.1.1 MQTT-3.8.3-3
	}
	for d.more() {
		s := Subscription{Filter: d.str("Topic Filter")}
		o := d.u8("Subscription Options")
		if d.err != nil {
			return
		}
		s.QoS = QoS(o & 3)
		reserved := byte(0xfc) // 3.1.1 MQTT-3-8.3-4
		if d.v == V5 {
			reserved = 0xc0 // MQTT-3.8.3-5
			s.NoLocal = o&0x04 != 0
			s.RetainAsPublished = o&0x08 != 0
			s.RetainHandling = o >> 4 & 3
		}
		switch {
		case o&reserved != 0:
			d.malformed("reserved Subscription Options bits set")
		case !s.QoS.Valid():
			d.malformed("QoS 3 in Subscription Options")
		case s.RetainHandling == 3:
			d.protocol("Retain Handling 3")
		case s.NoLocal && isShared(s.Filter):
			d.protocol("No Local on a shared subscription") // MQTT-3.8.3-4
		}
		p.Subscriptions = append(p.Subscriptions, s)
	}
}

func isShared(filter string) bool {
	_, _, ok := topic.SplitShared(filter)
	return ok
}
