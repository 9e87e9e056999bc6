package packet

import "github.com/ternmq/mqtt/topic"

// Unsubscribe is the UNSUBSCRIBE packet (MQTT 5.0 section 3.10).
type Unsubscribe struct {
	PacketID   uint16
	Properties Properties // User only
	Filters    []string
}

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() Type { return TypeUnsubscribe }

// Append appends the encoded UNSUBSCRIBE to dst. It refuses an empty list
// (MQTT-3.10.3-2) and an invalid topic filter.
func (p *Unsubscribe) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeUnsubscribe, v)
	p.write(&w)
	dst, err := w.header(dst, TypeUnsubscribe.fixedFlags())
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func (p *Unsubscribe) write(w *writer) {
	if w.count {
		if p.PacketID == 0 {
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
		if len(p.Filters) == 0 {
			w.fail(ReasonProtocolError, "no topic filters") // MQTT-3.10.3-2
		}
		for _, f := range p.Filters {
			if err := topic.CheckFilter(f); err != nil {
				w.failTopic(ReasonTopicFilterInvalid, "", err)
			}
		}
	}
	w.u16(p.PacketID)
	if w.v == V5 {
		w.props(&p.Properties, pUnsub)
	}
	for _, f := range p.Filters {
		w.strTrusted(f)
	}
}

// Decode decodes an UNSUBSCRIBE from the front of src; see [Packet].
func (p *Unsubscribe) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeUnsubscribe)
	if err != nil {
		return 0, err
	}
	*p = Unsubscribe{}
	p.decode(&d)
	return n, d.end()
}

func (p *Unsubscribe) decode(d *decoder) {
	p.PacketID = d.u16("Packet Identifier")
	if d.err == nil && p.PacketID == 0 {
		d.protocol("Packet Identifier 0") // MQTT-2.2.1-3
	}
	if d.v == V5 {
		d.props(&p.Properties, pUnsub)
	}
	if d.err == nil && !d.more() {
		d.protocol("no topic filters") // MQTT-3.10.3-2
	}
	for d.more() {
		p.Filters = append(p.Filters, d.str("Topic Filter"))
	}
}

// Unsuback is the UNSUBACK packet (MQTT 5.0 section 3.11). MQTT 3.x carries
// only the Packet Identifier; 5.0 adds one reason code per topic filter.
type Unsuback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode // MQTT 5.0 only
}

// Type returns TypeUnsuback.
func (*Unsuback) Type() Type { return TypeUnsuback }

// Append appends the encoded UNSUBACK to dst.
func (p *Unsuback) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeUnsuback, v)
	p.write(&w)
	dst, err := w.header(dst, 0)
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func validUnsubackCode(c ReasonCode, _ Version) bool { return c.ValidFor(TypeUnsuback) }

func (p *Unsuback) write(w *writer) {
	if w.count {
		if p.PacketID == 0 {
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
		if w.v != V5 && len(p.ReasonCodes) != 0 {
			w.fail(ReasonProtocolError, "reason codes in MQTT "+w.v.String())
		}
	}
	w.u16(p.PacketID)
	if w.v != V5 {
		return
	}
	w.props(&p.Properties, ua)
	w.reasonCodes(p.ReasonCodes, validUnsubackCode)
}

// Decode decodes an UNSUBACK from the front of src; see [Packet].
func (p *Unsuback) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeUnsuback)
	if err != nil {
		return 0, err
	}
	*p = Unsuback{}
	p.decode(&d)
	return n, d.end()
}

func (p *Unsuback) decode(d *decoder) {
	p.PacketID = d.u16("Packet Identifier")
	if d.err == nil && p.PacketID == 0 {
		d.protocol("Packet Identifier 0")
	}
	if d.v != V5 {
		return
	}
	d.props(&p.Properties, ua)
	p.ReasonCodes = d.reasonCodes(validUnsubackCode)
}
