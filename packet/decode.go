package packet

import (
	"io"
	"strconv"
)

// header is a parsed fixed header.
type header struct {
	t     Type
	flags byte
	rl    int // Remaining Length
	n     int // bytes the fixed header took
}

// size returns the whole packet's size.
func (h header) size() int { return h.n + h.rl }

// parseHeader parses the fixed header at the front of b and checks the
// packet type and its reserved flags (MQTT-2.1.3-1; 3.1.1 MQTT-2.2.2-1,
// MQTT-2.2.2-2). It returns io.ErrUnexpectedEOF when b is too short.
func parseHeader(b []byte, v Version) (header, error) {
	if len(b) == 0 {
		return header{}, io.ErrUnexpectedEOF
	}
	h := header{t: Type(b[0] >> 4), flags: b[0] & 0x0f}
	if err := checkType(h.t, h.flags, v); err != nil {
		return h, err
	}
	rl, n, verr := parseVarint(b[1:])
	switch verr {
	case varintShort:
		return h, io.ErrUnexpectedEOF
	case varintLong:
		return h, malformed(h.t, "remaining length is longer than four bytes")
	case varintNotMinimal:
		return h, malformed(h.t, "remaining length is not minimally encoded") // MQTT-1.5.5-1
	}
	h.rl, h.n = int(rl), 1+n
	return h, nil
}

// checkType checks the first byte's packet type and flags for version v
// (0: any version).
func checkType(t Type, flags byte, v Version) error {
	switch {
	case t == 0:
		return malformed(0, "reserved packet type 0")
	case t == TypeAuth && v != V5 && v != 0:
		return malformed(0, "packet type 15 (AUTH) is reserved before MQTT 5.0")
	case t != TypePublish && flags != t.fixedFlags():
		return malformed(t, "reserved fixed header flags 0x"+strconv.FormatUint(uint64(flags), 16))
	}
	return nil
}

// startDecode parses the fixed header at the front of src, checks that it
// is of type t and that src holds the whole packet, and returns a decoder
// over its body with the packet's total size.
func startDecode(src []byte, v Version, t Type) (decoder, int, error) {
	if !v.Valid() && !(v == 0 && t == TypeConnect) {
		return decoder{}, 0, &Error{Code: ReasonUnsupportedProtocolVersion, Packet: t, Reason: "unknown protocol version " + v.String()}
	}
	h, err := parseHeader(src, v)
	if err != nil {
		return decoder{}, 0, err
	}
	if h.t != t {
		return decoder{}, 0, malformed(h.t, "expected a "+t.String()+" packet")
	}
	if len(src) < h.size() {
		return decoder{}, 0, io.ErrUnexpectedEOF
	}
	return decoder{b: src[h.n:h.size()], t: t, v: v, flags: h.flags}, h.size(), nil
}

// Decode decodes the packet at the front of src, encoded for protocol
// version v, and returns it with the number of bytes it took. A v of 0 is
// accepted only for a CONNECT, whose version is then read from the packet.
//
// Strings in the packet are copies; its byte slices (payload, correlation
// data, password, authentication data) refer to src, which must not change
// while the packet is in use. If src holds only part of a packet, Decode
// returns io.ErrUnexpectedEOF.
func Decode(src []byte, v Version) (Packet, int, error) {
	h, err := parseHeader(src, v)
	if err != nil {
		return nil, 0, err
	}
	if !v.Valid() && !(v == 0 && h.t == TypeConnect) {
		return nil, 0, &Error{Code: ReasonUnsupportedProtocolVersion, Packet: h.t, Reason: "unknown protocol version " + v.String()}
	}
	if len(src) < h.size() {
		return nil, 0, io.ErrUnexpectedEOF
	}
	d := decoder{b: src[h.n:h.size()], t: h.t, v: v, flags: h.flags}
	p, err := decodeBody(&d, nil)
	if err != nil {
		return nil, 0, err
	}
	return p, h.size(), nil
}

// decodeBody decodes the body in d as a packet of type d.t: into a new
// packet, or, for the types k keeps, into k's when k is not nil.
func decodeBody(d *decoder, k *kept) (Packet, error) {
	var p Packet
	switch d.t {
	case TypeConnect:
		c := new(Connect)
		c.decode(d)
		p = c
	case TypeConnack:
		c := new(Connack)
		c.decode(d)
		p = c
	case TypePublish:
		c := reuse(k, func(k *kept) *Publish { return &k.publish })
		c.decode(d)
		p = c
	case TypePuback:
		c := reuse(k, func(k *kept) *Puback { return &k.puback })
		(*ack)(c).decode(d)
		p = c
	case TypePubrec:
		c := reuse(k, func(k *kept) *Pubrec { return &k.pubrec })
		(*ack)(c).decode(d)
		p = c
	case TypePubrel:
		c := reuse(k, func(k *kept) *Pubrel { return &k.pubrel })
		(*ack)(c).decode(d)
		p = c
	case TypePubcomp:
		c := reuse(k, func(k *kept) *Pubcomp { return &k.pubcomp })
		(*ack)(c).decode(d)
		p = c
	case TypeSubscribe:
		c := new(Subscribe)
		c.decode(d)
		p = c
	case TypeSuback:
		c := new(Suback)
		c.decode(d)
		p = c
	case TypeUnsubscribe:
		c := new(Unsubscribe)
		c.decode(d)
		p = c
	case TypeUnsuback:
		c := new(Unsuback)
		c.decode(d)
		p = c
	case TypePingreq:
		p = reuse(k, func(k *kept) *Pingreq { return &k.pingreq })
	case TypePingresp:
		p = reuse(k, func(k *kept) *Pingresp { return &k.pingresp })
	case TypeDisconnect:
		c := new(Disconnect)
		c.decode(d)
		p = c
	case TypeAuth:
		c := new(Auth)
		c.decode(d)
		p = c
	default:
		return nil, malformed(d.t, "unknown packet type")
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return p, nil
}

// kept holds the packets a Reader with ReusePackets decodes into: the
// types a connection receives most often.
type kept struct {
	publish  Publish
	puback   Puback
	pubrec   Pubrec
	pubrel   Pubrel
	pubcomp  Pubcomp
	pingreq  Pingreq
	pingresp Pingresp
}

// reuse returns a new T when k is nil, or else k's T, zeroed.
func reuse[T any](k *kept, field func(*kept) *T) *T {
	if k == nil {
		return new(T)
	}
	p := field(k)
	var zero T
	*p = zero
	return p
}
