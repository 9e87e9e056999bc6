package mqtt

import (
	"io"
	"sync"
)

// readBuffer is a connection's buffered reader, sized by the traffic: an
// idle connection holds a small buffer, and a read that fills it (a sign
// that more is waiting in the socket) switches to a large one from a pool,
// kept while reads keep filling it and given back at the first read that
// does not. A burst thus costs few system calls, and a thousand idle
// connections hold no large buffers. Only the reader goroutine uses it.
type readBuffer struct {
	rd    io.Reader
	buf   []byte // small or *big
	r, w  int    // buf[r:w] is buffered
	small []byte
	big   *[]byte // from bigReadPool while reads fill buffers
}

const (
	smallReadSize = 512
	bigReadSize   = 32 << 10
)

var bigReadPool = sync.Pool{New: func() any { b := make([]byte, bigReadSize); return &b }}

func newReadBuffer(rd io.Reader) *readBuffer {
	small := make([]byte, smallReadSize)
	return &readBuffer{rd: rd, buf: small, small: small}
}

// fill reads into the empty buffer, choosing its size first.
func (b *readBuffer) fill() error {
	full := b.w == len(b.buf)
	b.r, b.w = 0, 0
	switch {
	case full && b.big == nil:
		b.big = bigReadPool.Get().(*[]byte)
		b.buf = *b.big
	case !full && b.big != nil:
		b.release()
	}
	for range 100 {
		n, err := b.rd.Read(b.buf)
		b.w = n
		switch {
		case n > 0:
			return nil // an error comes back on the next read
		case err != nil:
			return err
		}
	}
	return io.ErrNoProgress
}

// release gives the large buffer back; the buffer must be empty.
func (b *readBuffer) release() {
	if b.big != nil {
		bigReadPool.Put(b.big)
		b.big = nil
		b.buf = b.small
	}
}

// ReadByte implements io.ByteReader.
func (b *readBuffer) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

// Read implements io.Reader. A read at least as large as the buffer, when
// nothing is buffered, goes straight into p.
func (b *readBuffer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= len(b.buf) {
			return b.rd.Read(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them; n is at most the
// small buffer's size.
func (b *readBuffer) Peek(n int) ([]byte, error) {
	for b.w-b.r < n {
		if b.r > 0 {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		}
		m, err := b.rd.Read(b.buf[b.w:])
		b.w += m
		if err != nil && b.w-b.r < n {
			return b.buf[b.r:b.w], err
		}
	}
	return b.buf[b.r : b.r+n], nil
}
