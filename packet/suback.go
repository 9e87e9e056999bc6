package packet

// Suback is the SUBACK packet: one reason code per topic filter of the
// SUBSCRIBE it answers, in order (MQTT 5.0 section 3.9). In MQTT 3.x the
// codes are the granted QoS (0, 1, 2) or 0x80 for a refusal.
type Suback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}

// Type returns TypeSuback.
func (*Suback) Type() Type { return TypeSuback }

// Append appends the encoded SUBACK to dst.
func (p *Suback) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeSuback, v)
	p.write(&w)
	dst, err := w.header(dst, 0)
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

// validSubackCode reports whether c may stand in a SUBACK of version v.
func validSubackCode(c ReasonCode, v Version) bool {
	if v == V5 {
		return c.ValidFor(TypeSuback)
	}
	return c <= ReasonGrantedQoS2 || c == ReasonUnspecifiedError // 3.1.1 section 3.9.3
}

func (p *Suback) write(w *writer) {
	if w.count {
		if p.PacketID == 0 {
			w.fail(ReasonProtocolError, "Packet Identifier 0")
		}
	}
	w.u16(p.PacketID)
	if w.v == V5 {
		w.props(&p.Properties, sa)
	}
	w.reasonCodes(p.ReasonCodes, validSubackCode)
}

// reasonCodes writes a list of at least one reason code, each of which
// must satisfy valid: the encoding side of decoder.reasonCodes.
func (w *writer) reasonCodes(codes []ReasonCode, valid func(ReasonCode, Version) bool) {
	if w.count {
		if len(codes) == 0 {
			w.fail(ReasonProtocolError, "no reason codes")
		}
		for _, c := range codes {
			if !valid(c, w.v) {
				w.fail(ReasonProtocolError, "reason code "+c.String()+" is not valid in "+w.t.String())
			}
		}
	}
	for _, c := range codes {
		w.u8(byte(c))
	}
}

// Decode decodes a SUBACK from the front of src; see [Packet].
func (p *Suback) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeSuback)
	if err != nil {
		return 0, err
	}
	*p = Suback{}
	p.decode(&d)
	return n, d.end()
}

func (p *Suback) decode(d *decoder) {
	p.PacketID = d.u16("Packet Identifier")
	if d.err == nil && p.PacketID == 0 {
		d.protocol("Packet Identifier 0")
	}
	if d.v == V5 {
		d.props(&p.Properties, sa)
	}
	p.ReasonCodes = d.reasonCodes(validSubackCode)
}

// reasonCodes reads the rest of the body as a list of at least one reason
// code, each of which must satisfy valid.
func (d *decoder) reasonCodes(valid func(ReasonCode, Version) bool) []ReasonCode {
	b := d.rest()
	if d.err != nil {
		return nil
	}
	if len(b) == 0 {
		d.protocol("no reason codes")
		return nil
	}
	codes := make([]ReasonCode, len(b))
	for i, c := range b {
		codes[i] = ReasonCode(c)
		if !valid(codes[i], d.v) {
			d.protocol("reason code 0x" + hexByte(c) + " is not valid in " + d.t.String())
			return nil
		}
	}
	return codes
}
