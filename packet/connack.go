package packet

// Connack is the CONNACK packet, the server's answer to CONNECT (MQTT 5.0
// section 3.2).
//
// ReasonCode holds an MQTT 3.x return code translated to its 5.0 counterpart
// (see [ReasonCode]); MQTT 3.1 has no Session Present flag.
type Connack struct {
	SessionPresent bool
	ReasonCode     ReasonCode
	Properties     Properties
}

// Type returns TypeConnack.
func (*Connack) Type() Type { return TypeConnack }

// Append appends the encoded CONNACK to dst.
func (p *Connack) Append(dst []byte, v Version) ([]byte, error) {
	w := newWriter(TypeConnack, v)
	p.write(&w)
	dst, err := w.header(dst, 0)
	if err != nil {
		return dst, err
	}
	p.write(&w)
	return w.b, nil
}

func (p *Connack) write(w *writer) {
	code := byte(p.ReasonCode)
	if w.v != V5 {
		var ok bool
		if code, ok = p.ReasonCode.ReturnCodeV3(); !ok && w.count {
			w.fail(ReasonProtocolError, "MQTT "+w.v.String()+" has no return code for "+p.ReasonCode.String())
		}
	} else if w.count && !p.ReasonCode.ValidFor(TypeConnack) {
		w.fail(ReasonProtocolError, "reason code "+p.ReasonCode.String()+" is not valid in CONNACK")
	}
	if w.count && p.SessionPresent && p.ReasonCode != ReasonSuccess {
		w.fail(ReasonProtocolError, "Session Present with a refusal") // MQTT-3.2.2-6
	}
	if p.SessionPresent && w.v != V31 {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.u8(code)
	if w.v == V5 {
		w.props(&p.Properties, cc)
	}
}

// Decode decodes a CONNACK from the front of src; see [Packet].
func (p *Connack) Decode(src []byte, v Version) (int, error) {
	d, n, err := startDecode(src, v, TypeConnack)
	if err != nil {
		return 0, err
	}
	*p = Connack{}
	p.decode(&d)
	return n, d.end()
}

func (p *Connack) decode(d *decoder) {
	flags := d.u8("Connect Acknowledge Flags")
	code := d.u8("Connect Reason Code")
	if d.err != nil {
		return
	}
	if d.v == V31 {
		flags = 0 // reserved and unused in MQTT 3.1
	}
	if flags&^1 != 0 {
		d.malformed("reserved Connect Acknowledge Flags set") // MQTT-3.2.2-1
		return
	}
	p.SessionPresent = flags == 1
	if d.v == V5 {
		p.ReasonCode = ReasonCode(code)
		if !p.ReasonCode.ValidFor(TypeConnack) {
			d.protocol("reason code 0x" + hexByte(code) + " is not valid in CONNACK") // MQTT-3.2.2-8
			return
		}
	} else {
		if int(code) >= len(connackV3) {
			d.protocol("reserved return code 0x" + hexByte(code))
			return
		}
		p.ReasonCode = connackV3[code]
	}
	if p.SessionPresent && p.ReasonCode != ReasonSuccess {
		d.protocol("Session Present with a refusal") // MQTT-3.2.2-6, 3.1.1 MQTT-3.2.2-4
		return
	}
	if d.v == V5 {
		d.props(&p.Properties, cc)
	}
}
