package packet

import (
	"bufio"
	"io"
	"strconv"
)

// Reader reads MQTT packets from a byte stream, refusing any packet larger
// than its maximum size before allocating room for it.
//
// Each packet ReadPacket returns owns a buffer of its own: its strings and
// byte slices refer to that buffer, which nothing else writes, so the packet
// may be kept as long as needed. A Reader is not safe for concurrent use.
type Reader struct {
	// ReusePackets, if set, makes ReadPacket decode the packets a
	// connection receives most often (PUBLISH, PUBACK, PUBREC, PUBREL,
	// PUBCOMP, PINGREQ, PINGRESP) into values the Reader keeps, instead of
	// new ones: such a packet is valid only until the next ReadPacket. The
	// strings and slices it holds still refer to its own body buffer and
	// stay valid. Off by default.
	ReusePackets bool

	// Body, if not nil, provides the buffer a packet body of n bytes is
	// read into (n at most 64 KiB; larger bodies get a buffer of the
	// Reader's own): a slice of length n that nothing else uses, or nil to
	// let the Reader allocate one. The packet's strings and slices will
	// refer to it.
	Body func(t Type, n int) []byte

	r    io.Reader
	br   io.ByteReader
	max  int
	kept *kept
}

// DefaultMaxSize is the limit a Reader applies when given none: the largest
// packet MQTT can express (MaxPacketSize).
const DefaultMaxSize = MaxPacketSize

// chunk is the largest body read into a buffer allocated in one piece; past
// it the buffer grows as bytes arrive, so that a peer's claim of a large
// packet costs memory only once the bytes are really sent.
const chunk = 64 << 10

// NewReader returns a Reader of r whose packets may be at most maxSize bytes
// in all (fixed header included, as MQTT 5.0 counts Maximum Packet Size). A
// maxSize of 0 or less means DefaultMaxSize. If r is not an io.ByteReader,
// it is wrapped in a bufio.Reader.
func NewReader(r io.Reader, maxSize int) *Reader {
	br, ok := r.(io.ByteReader)
	if !ok {
		b := bufio.NewReader(r)
		r, br = b, b
	}
	rd := &Reader{r: r, br: br}
	rd.SetMaxSize(maxSize)
	return rd
}

// SetMaxSize changes the largest packet the Reader accepts; 0 or less means
// DefaultMaxSize.
func (r *Reader) SetMaxSize(n int) {
	if n <= 0 || n > MaxPacketSize {
		n = MaxPacketSize
	}
	r.max = n
}

// MaxSize returns the largest packet the Reader accepts.
func (r *Reader) MaxSize() int { return r.max }

// ReadPacket reads and decodes the next packet, encoded for protocol version
// v (0 is accepted only for a CONNECT, whose version is then read from it).
//
// It returns io.EOF when the stream ends cleanly between packets and
// io.ErrUnexpectedEOF when it ends inside one. A packet over the maximum
// size fails with an *Error of code ReasonPacketTooLarge (errors.Is
// ErrTooLarge) before its body is read; a packet that breaks the rules fails
// with an *Error carrying the reason code to answer with. After any error
// the stream's position is unknown and the connection should be closed.
func (r *Reader) ReadPacket(v Version) (Packet, error) {
	first, err := r.br.ReadByte()
	if err != nil {
		return nil, err
	}
	t, flags := Type(first>>4), first&0x0f
	if err := checkType(t, flags, v); err != nil {
		return nil, err
	}
	if !v.Valid() && !(v == 0 && t == TypeConnect) {
		return nil, &Error{Code: ReasonUnsupportedProtocolVersion, Packet: t, Reason: "unknown protocol version " + v.String()}
	}
	var hdr [4]byte
	n := 0
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, unexpected(err)
		}
		hdr[n] = c
		n++
		if c&0x80 == 0 || n == 4 {
			break
		}
	}
	rl, _, verr := parseVarint(hdr[:n])
	switch verr {
	case varintLong:
		return nil, malformed(t, "remaining length is longer than four bytes")
	case varintNotMinimal:
		return nil, malformed(t, "remaining length is not minimally encoded") // MQTT-1.5.5-1
	}
	if size := 1 + n + int(rl); size > r.max {
		return nil, &Error{Code: ReasonPacketTooLarge, Packet: t,
			Reason: "packet of " + strconv.Itoa(size) + " bytes is over the limit of " + strconv.Itoa(r.max)}
	}
	body, err := r.readBody(t, int(rl))
	if err != nil {
		return nil, err
	}
	d := decoder{b: body, t: t, v: v, flags: flags, alias: true}
	if r.ReusePackets && r.kept == nil {
		r.kept = new(kept)
	} else if !r.ReusePackets {
		r.kept = nil
	}
	return decodeBody(&d, r.kept)
}

// readBody reads the n bytes of a body of type t into a new buffer.
func (r *Reader) readBody(t Type, n int) ([]byte, error) {
	if n <= chunk {
		var b []byte
		if r.Body != nil {
			b = r.Body(t, n)
		}
		if len(b) != n {
			b = make([]byte, n)
		}
		if _, err := io.ReadFull(r.r, b); err != nil {
			return nil, unexpected(err)
		}
		return b, nil
	}
	b := make([]byte, 0, chunk)
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(b, make([]byte, min(cap(b), n-len(b)))...)[:len(b)]
		}
		m, err := io.ReadFull(r.r, b[len(b):min(cap(b), n)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, unexpected(err)
		}
	}
	return b, nil
}

// unexpected turns io.EOF inside a packet into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
