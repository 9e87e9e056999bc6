package packet

// Pingreq is the PINGREQ packet, the client's keep-alive (section 3.12).
type Pingreq struct{}

// Pingresp is the PINGRESP packet, the server's answer to PINGREQ
// (section 3.13).
type Pingresp struct{}

// Type returns TypePingreq.
func (*Pingreq) Type() Type { return TypePingreq }

// Type returns TypePingresp.
func (*Pingresp) Type() Type { return TypePingresp }

// Append appends the two bytes of a PINGREQ to dst.
func (*Pingreq) Append(dst []byte, v Version) ([]byte, error) {
	return appendEmpty(dst, v, TypePingreq)
}

// Append appends the two bytes of a PINGRESP to dst.
func (*Pingresp) Append(dst []byte, v Version) ([]byte, error) {
	return appendEmpty(dst, v, TypePingresp)
}

// Decode decodes a PINGREQ from the front of src.
func (*Pingreq) Decode(src []byte, v Version) (int, error) {
	return decodeEmpty(src, v, TypePingreq)
}

// Decode decodes a PINGRESP from the front of src.
func (*Pingresp) Decode(src []byte, v Version) (int, error) {
	return decodeEmpty(src, v, TypePingresp)
}

func appendEmpty(dst []byte, v Version, t Type) ([]byte, error) {
	w := newWriter(t, v)
	return w.header(dst, 0)
}

func decodeEmpty(src []byte, v Version, t Type) (int, error) {
	d, n, err := startDecode(src, v, t)
	if err != nil {
		return 0, err
	}
	return n, d.end()
}

// Disconnect is the DISCONNECT packet (MQTT 5.0 section 3.14). In MQTT 3.x
// it has no body, and only a client sends it.
type Disconnect struct {
	ReasonCode ReasonCode // MQTT 5.0 only
	Properties Properties
}

// Type returns TypeDisconnect.
func (*Disconnect) Type() Type { return TypeDisconnect }

// Append appends the encoded DISCONNECT to dst, in its shortest form.
func (p *Disconnect) Append(dst []byte, v Version) ([]byte, error) {
	return (*reasoned)(p).append(dst, v, TypeDisconnect)
}

// Decode decodes a DISCONNECT from the front of src; see [Packet].
func (p *Disconnect) Decode(src []byte, v Version) (int, error) {
	return (*reasoned)(p).decodeFrom(src, v, TypeDisconnect)
}

// Auth is the AUTH packet of MQTT 5.0 enhanced authentication (section
// 3.15).
type Auth struct {
	ReasonCode ReasonCode // Success, Continue authentication or Re-authenticate
	Properties Properties // AuthMethod, AuthData, ReasonString, User
}

// Type returns TypeAuth.
func (*Auth) Type() Type { return TypeAuth }

// Append appends the encoded AUTH to dst. AUTH exists only in MQTT 5.0.
func (p *Auth) Append(dst []byte, v Version) ([]byte, error) {
	return (*reasoned)(p).append(dst, v, TypeAuth)
}

// Decode decodes an AUTH from the front of src; see [Packet].
func (p *Auth) Decode(src []byte, v Version) (int, error) {
	return (*reasoned)(p).decodeFrom(src, v, TypeAuth)
}

// reasoned is the shared layout of DISCONNECT and AUTH: a reason code and
// properties, both left out when they are Success and empty.
type reasoned struct {
	ReasonCode ReasonCode
	Properties Properties
}

func (p *Disconnect) decode(d *decoder) { decodeReasoned((*reasoned)(p), d) }
func (p *Auth) decode(d *decoder)       { decodeReasoned((*reasoned)(p), d) }

func (p *reasoned) append(dst []byte, v Version, t Type) ([]byte, error) {
	w := newWriter(t, v)
	writeReasoned(p, &w)
	dst, err := w.header(dst, 0)
	if err != nil {
		return dst, err
	}
	writeReasoned(p, &w)
	return w.b, nil
}

func (p *reasoned) decodeFrom(src []byte, v Version, t Type) (int, error) {
	d, n, err := startDecode(src, v, t)
	if err != nil {
		return 0, err
	}
	*p = reasoned{}
	decodeReasoned(p, &d)
	return n, d.end()
}

func writeReasoned(p *reasoned, w *writer) {
	if w.count {
		switch {
		case w.v != V5 && w.t == TypeAuth:
			w.fail(ReasonProtocolError, "AUTH in MQTT "+w.v.String())
		case w.v != V5 && p.ReasonCode != 0:
			w.fail(ReasonProtocolError, "a reason code in MQTT "+w.v.String())
		case !p.ReasonCode.ValidFor(w.t):
			w.fail(ReasonProtocolError, "reason code "+p.ReasonCode.String()+" is not valid in "+w.t.String())
		}
	}
	if w.v != V5 {
		return
	}
	empty := p.Properties.empty()
	if p.ReasonCode == 0 && empty {
		return
	}
	w.u8(byte(p.ReasonCode))
	if !empty {
		w.props(&p.Properties, 1<<w.t)
	}
}

// decodeReasoned reads a reason code and properties, either of which may be
// left out (MQTT 5.0 sections 3.14.2.1 and 3.15.2.1).
func decodeReasoned(p *reasoned, d *decoder) {
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
