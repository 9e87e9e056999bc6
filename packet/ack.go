package packet

// Puback acknowledges a QoS 1 PUBLISH (MQTT 5.0 section 3.4).
type Puback struct {
	PacketID   uint16
	ReasonCode ReasonCode // MQTT 5.0 only; 3.x acknowledges success alone
	Properties Properties
}

// Pubrec answers a QoS 2 PUBLISH: first step of the exchange (section 3.5).
type Pubrec struct {
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}

// Pubrel answers a PUBREC: second step of the QoS 2 exchange (section 3.6).
type Pubrel struct {
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}

// Pubcomp answers a PUBREL: last step of the QoS 2 exchange (section 3.7).
type Pubcomp struct {
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}

// ack is the shared layout of PUBACK, PUBREC, PUBREL and PUBCOMP; the four
// types convert to it.
type ack struct {
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}

// Type returns TypePuback.
func (*Puback) Type() Type { return TypePuback }

// Type returns TypePubrec.
func (*Pubrec) Type() Type { return TypePubrec }

// Type returns TypePubrel.
func (*Pubrel) Type() Type { return TypePubrel }

// Type returns TypePubcomp.
func (*Pubcomp) Type() Type { return TypePubcomp }

// Append appends the encoded PUBACK to dst.
func (p *Puback) Append(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).append(dst, v, TypePuback)
}

// Append appends the encoded PUBREC to dst.
func (p *Pubrec) Append(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).append(dst, v, TypePubrec)
}

// Append appends the encoded PUBREL to dst.
func (p *Pubrel) Append(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).append(dst, v, TypePubrel)
}

// Append appends the encoded PUBCOMP to dst.
func (p *Pubcomp) Append(dst []byte, v Version) ([]byte, error) {
	return (*ack)(p).append(dst, v, TypePubcomp)
}

// Decode decodes a PUBACK from the front of src; see [Packet].
func (p *Puback) Decode(src []byte, v Version) (int, error) {
	return (*ack)(p).decodeFrom(src, v, TypePuback)
}

// Decode decodes a PUBREC from the front of src; see [Packet].
func (p *Pubrec) Decode(src []byte, v Version) (int, error) {
	return (*ack)(p).decodeFrom(src, v, TypePubrec)
}

// Decode decodes a PUBREL from the front of src; see [Packet].
func (p *Pubrel) Decode(src []byte, v Version) (int, error) {
	return (*ack)(p).decodeFrom(src, v, TypePubrel)
}

// Decode decodes a PUBCOMP from the front of src; see [Packet].
func (p *Pubcomp) Decode(src []byte, v Version) (int, error) {
	return (*ack)(p).decodeFrom(src, v, TypePubcomp)
}

func (p *ack) append(dst []byte, v Version, t Type) ([]byte, error) {
	w := newWriter(t, v)
	p.write(&w)
	dst, err := w.header(dst, t.fixedFlags())
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

// write writes the body in its shortest form: MQTT 5.0 leaves out a Success
// reason code with no properties, and the Property Length when there are no
// properties (section 3.4.2.1).
func (p *ack) write(w *writer) {
	if w.count {
		if p.PacketID == 0 {
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
		if w.v != V5 && p.ReasonCode != ReasonSuccess {
			w.fail(ReasonProtocolError, "a reason code in MQTT "+w.v.String())
		} else if !p.ReasonCode.ValidFor(w.t) {
			w.fail(ReasonProtocolError, "reason code "+p.ReasonCode.String()+" is not valid in "+w.t.String())
		}
	}
	w.u16(p.PacketID)
	if w.v != V5 {
		return
	}
	empty := p.Properties.empty()
	if p.ReasonCode == ReasonSuccess && empty {
		return
	}
	w.u8(byte(p.ReasonCode))
	if !empty {
		w.props(&p.Properties, 1<<w.t)
	}
}

func (p *ack) decodeFrom(src []byte, v Version, t Type) (int, error) {
	d, n, err := startDecode(src, v, t)
	if err != nil {
		return 0, err
	}
	*p = ack{}
	p.decode(&d)
	return n, d.end()
}

func (p *ack) decode(d *decoder) {
	p.PacketID = d.u16("Packet Identifier")
	if d.err == nil && p.PacketID == 0 {
		d.protocol("Packet Identifier 0") // MQTT-2.2.1-5
	}
	if d.v != V5 || !d.more() {
		return
	}
	p.ReasonCode = ReasonCode(d.u8("Reason Code"))
	if !p.ReasonCode.ValidFor(d.t) {
		d.protocol("reason code 0x" + hexByte(byte(p.ReasonCode)) + " is not valid in " + d.t.String())
	}
	if d.more() {
		d.props(&p.Properties, 1<<d.t)
	}
}
