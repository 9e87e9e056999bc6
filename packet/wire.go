package packet

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// maxString is the longest UTF-8 string or binary field: its length is a
// two-byte integer (MQTT 5.0 sections 1.5.4 and 1.5.6).
const maxString = 65535

// varintLen returns how many bytes the Variable Byte Integer n takes.
func varintLen(n int) int {
	switch {
	case n < 1<<7:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<21:
		return 3
	}
	return 4
}

// appendVarint appends n, which must be at most MaxRemainingLength, as a
// Variable Byte Integer (MQTT 5.0 section 1.5.5).
func appendVarint(dst []byte, n uint32) []byte {
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(dst, byte(n))
}

// A writer encodes a packet body in two passes over the same code: first it
// counts (and validates) without writing, then it appends. Each packet type's
// write method is the one description of its layout.
type writer struct {
	b     []byte
	n     int  // bytes counted in the counting pass
	count bool // counting pass
	t     Type
	v     Version
	err   *Error
	// plen holds the Property Length of each property set, found in the
	// counting pass and written in the appending pass (a CONNECT has two).
	plen [2]int
	pi   int
}

func newWriter(t Type, v Version) writer {
	w := writer{t: t, v: v, count: true}
	if !v.Valid() {
		w.err = encodeErr(t, ReasonUnsupportedProtocolVersion, "unknown protocol version "+v.String())
	}
	return w
}

func (w *writer) fail(code ReasonCode, reason string) {
	if w.err == nil {
		w.err = encodeErr(w.t, code, reason)
	}
}

// failTopic records a topic name or filter that package topic refused.
func (w *writer) failTopic(code ReasonCode, what string, err error) {
	if w.err == nil {
		w.err = topicError(code, w.t, true, what, err)
	}
}

// header ends the counting pass: it checks the body's size, appends the fixed
// header to dst and readies w for the appending pass.
func (w *writer) header(dst []byte, flags byte) ([]byte, error) {
	if w.err != nil {
		return dst, w.err
	}
	if w.n > MaxRemainingLength {
		w.fail(ReasonPacketTooLarge, "packet over 268,435,455 bytes")
		return dst, w.err
	}
	dst = append(dst, byte(w.t)<<4|flags)
	w.b = appendVarint(dst, uint32(w.n))
	w.count = false
	w.pi = 0
	return w.b, nil
}

func (w *writer) u8(c byte) {
	if w.count {
		w.n++
		return
	}
	w.b = append(w.b, c)
}

func (w *writer) u16(v uint16) {
	if w.count {
		w.n += 2
		return
	}
	w.b = append(w.b, byte(v>>8), byte(v))
}

func (w *writer) u32(v uint32) {
	if w.count {
		w.n += 4
		return
	}
	w.b = append(w.b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func (w *writer) varint(v uint32) {
	if w.count {
		if v > MaxRemainingLength {
			w.fail(ReasonMalformedPacket, "variable byte integer over 268,435,455")
		}
		w.n += varintLen(int(v))
		return
	}
	w.b = appendVarint(w.b, v)
}

// str writes a UTF-8 Encoded String, refusing one that is too long, not
// well-formed UTF-8, or holds U+0000 (MQTT-1.5.4-1, MQTT-1.5.4-2).
func (w *writer) str(s string, what string) {
	if w.count {
		if err := checkString(s); err != "" {
			w.fail(ReasonMalformedPacket, what+" "+err)
		}
	}
	w.strTrusted(s)
}

// strTrusted writes a string already validated by the caller.
func (w *writer) strTrusted(s string) {
	if w.count {
		if len(s) > maxString {
			w.fail(ReasonMalformedPacket, "string longer than 65,535 bytes")
		}
		w.n += 2 + len(s)
		return
	}
	w.b = append(w.b, byte(len(s)>>8), byte(len(s)))
	w.b = append(w.b, s...)
}

// bin writes Binary Data: a two-byte length and the bytes.
func (w *writer) bin(b []byte, what string) {
	if w.count {
		if len(b) > maxString {
			w.fail(ReasonMalformedPacket, what+" longer than 65,535 bytes")
		}
		w.n += 2 + len(b)
		return
	}
	w.b = append(w.b, byte(len(b)>>8), byte(len(b)))
	w.b = append(w.b, b...)
}

// raw writes bytes with no length prefix (a PUBLISH payload).
func (w *writer) raw(b []byte) {
	if w.count {
		w.n += len(b)
		return
	}
	w.b = append(w.b, b...)
}

// checkString returns what is wrong with s as a UTF-8 Encoded String, or "".
func checkString(s string) string {
	switch {
	case len(s) > maxString:
		return "longer than 65,535 bytes"
	case !utf8.ValidString(s):
		return "is not well-formed UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains U+0000"
	}
	return ""
}

// A decoder reads a packet body. Its first error sticks: later reads return
// zero values, so decoding code reads straight through and checks d.err once.
type decoder struct {
	b   []byte
	off int
	t   Type
	v   Version
	// alias lets strings share b's memory. Only the Reader sets it, for a
	// buffer it allocated for this packet alone and never writes again.
	alias bool
	flags byte // the fixed header's low nibble
	err   *Error
}

func (d *decoder) fail(e *Error) {
	if d.err == nil {
		d.err = e
	}
}

func (d *decoder) malformed(reason string) { d.fail(malformed(d.t, reason)) }
func (d *decoder) protocol(reason string)  { d.fail(protocolErr(d.t, reason)) }

// need reports whether n more bytes can be read, failing d if not.
func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if len(d.b)-d.off < n {
		d.malformed(what + " runs past the end of the packet")
		return false
	}
	return true
}

func (d *decoder) more() bool { return d.err == nil && d.off < len(d.b) }

func (d *decoder) u8(what string) byte {
	if !d.need(1, what) {
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) u16(what string) uint16 {
	if !d.need(2, what) {
		return 0
	}
	v := uint16(d.b[d.off])<<8 | uint16(d.b[d.off+1])
	d.off += 2
	return v
}

func (d *decoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	b := d.b[d.off : d.off+4]
	d.off += 4
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// varint reads a Variable Byte Integer, refusing one longer than four bytes
// or not minimally encoded (MQTT-1.5.5-1).
func (d *decoder) varint(what string) uint32 {
	v, n, err := parseVarint(d.b[min(d.off, len(d.b)):])
	if d.err != nil {
		return 0
	}
	switch err {
	case varintShort:
		d.malformed(what + " runs past the end of the packet")
	case varintLong:
		d.malformed(what + " is longer than four bytes")
	case varintNotMinimal:
		d.malformed(what + " is not minimally encoded")
	}
	d.off += n
	return v
}

// bytes reads n raw bytes. They alias d.b, capped so that appending to them
// cannot overwrite what follows.
func (d *decoder) bytes(n int, what string) []byte {
	if !d.need(n, what) {
		return nil
	}
	b := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// bin reads Binary Data. The result is never nil, so that an empty value
// is told from an absent one.
func (d *decoder) bin(what string) []byte {
	n := d.u16(what)
	return d.bytes(int(n), what)
}

// str reads a UTF-8 Encoded String and checks it (MQTT-1.5.4-1,
// MQTT-1.5.4-2; 3.1.1 MQTT-1.5.3-1, MQTT-1.5.3-2).
func (d *decoder) str(what string) string {
	s := d.strUnchecked(what)
	if d.err == nil {
		if e := checkString(s); e != "" {
			d.malformed(what + " " + e)
		}
	}
	return s
}

// strUnchecked reads a string whose content the caller checks.
func (d *decoder) strUnchecked(what string) string {
	n := int(d.u16(what))
	b := d.bytes(n, what)
	if len(b) == 0 {
		return ""
	}
	if d.alias {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// rest returns what is left of the body.
func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	b := d.b[d.off:len(d.b):len(d.b)]
	d.off = len(d.b)
	return b
}

// end fails d if bytes are left over: the Remaining Length claimed more than
// the packet's fields hold.
func (d *decoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.malformed("remaining length is longer than the packet's contents")
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

type varintErr int

const (
	varintOK varintErr = iota
	varintShort
	varintLong
	varintNotMinimal
)

// parseVarint decodes a Variable Byte Integer from the front of b and
// returns it with the number of bytes it took.
func parseVarint(b []byte) (uint32, int, varintErr) {
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, i, varintShort
		}
		c := b[i]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, i + 1, varintNotMinimal
			}
			return v, i + 1, varintOK
		}
	}
	return 0, 4, varintLong
}
