package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// The raw reference: a minimal MQTT client made of a TCP socket and the
// codec (github.com/ternmq/mqtt/packet) alone. No session, no checks, no
// goroutine per connection beyond what the measurement needs; the
// publisher writes pre-encoded PUBLISH packets, many per system call, and
// the subscriber only reads and acknowledges, its acknowledgements
// written in batches. It is meant as the ceiling a client can reach
// through the broker.

type rawConn struct {
	nc net.Conn
	br *bufio.Reader
	r  *packet.Reader
	v  packet.Version
}

func rawDial(ctx context.Context, addr, id string, v packet.Version, bufSize int) (*rawConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	rc := &rawConn{nc: nc, v: v}
	rc.br = bufio.NewReaderSize(nc, bufSize)
	rc.r = packet.NewReader(rc.br, 0)
	b, err := (&packet.Connect{ClientID: id, CleanStart: true, KeepAlive: 60}).Append(nil, v)
	if err == nil {
		_, err = nc.Write(b)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	p, err := rc.r.ReadPacket(v)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("raw: reading CONNACK: %w", err)
	}
	if ack, ok := p.(*packet.Connack); !ok || ack.ReasonCode != packet.ReasonSuccess {
		nc.Close()
		return nil, fmt.Errorf("raw: CONNACK refused: %v", p)
	}
	nc.SetDeadline(time.Time{})
	return rc, nil
}

func (rc *rawConn) close() {
	b, _ := (&packet.Disconnect{}).Append(nil, rc.v)
	rc.nc.SetWriteDeadline(time.Now().Add(time.Second))
	rc.nc.Write(b)
	rc.nc.Close()
}

// rawRefill is how many window slots must be free before the raw
// publisher writes again (fewer if the rest of the run is fewer): it
// writes in batches rather than one message per acknowledgement.
var rawRefill = 1

// rawPub is the raw publisher.
type rawPub struct{ *rawConn }

// encodeAll encodes n PUBLISH packets back to back and returns the buffer
// with the offset of each packet (and one past the last).
func encodeAll(v packet.Version, topic string, qos packet.QoS, payload []byte, n int) ([]byte, []int, error) {
	p := packet.Publish{Topic: topic, QoS: qos, Payload: payload}
	var buf []byte
	off := make([]int, 0, n+1)
	var id uint16
	for range n {
		if qos > 0 {
			id++
			if id == 0 {
				id = 1
			}
			p.PacketID = id
		}
		off = append(off, len(buf))
		var err error
		buf, err = p.Append(buf, v)
		if err != nil {
			return nil, nil, err
		}
	}
	off = append(off, len(buf))
	return buf, off, nil
}

// pipeline writes n pre-encoded messages, keeping at most window QoS 1/2
// messages unacknowledged; a reader goroutine reads the acknowledgements
// (and answers PUBREC with PUBREL). It returns once every message is
// written (QoS 0) or acknowledged (QoS 1 and 2).
func (p rawPub) pipeline(ctx context.Context, topic string, qos packet.QoS, payload []byte, n, window int) error {
	buf, off, err := encodeAll(p.v, topic, qos, payload, n)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { p.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if qos == 0 {
		for sent := 0; sent < n; {
			k := min(window, n-sent)
			if _, err := p.nc.Write(buf[off[sent]:off[sent+k]]); err != nil {
				return err
			}
			sent += k
		}
		return nil
	}
	var completed atomic.Int64
	var ob outbox
	ob.init()
	readErr := make(chan error, 1)
	go func() {
		for completed.Load() < int64(n) {
			pk, err := p.r.ReadPacket(p.v)
			if err != nil {
				readErr <- err
				ob.signal()
				return
			}
			switch pk := pk.(type) {
			case *packet.Puback:
				if qos == 1 {
					completed.Add(1)
					ob.signal()
				}
			case *packet.Pubrec:
				ob.add(&packet.Pubrel{PacketID: pk.PacketID}, p.v)
			case *packet.Pubcomp:
				if qos == 2 {
					completed.Add(1)
					ob.signal()
				}
			}
		}
		readErr <- nil
	}()
	// One goroutine writes: the PUBRELs the reader queued and as many
	// PUBLISH packets as the window allows, together, in one system call
	// (writev); while it writes, more acknowledgements pile up for the
	// next one.
	var pending []byte
	for sent := 0; sent < n || (qos == 2 && completed.Load() < int64(n)); {
		pending = ob.take(pending[:0])
		k := min(n, int(completed.Load())+window) - sent
		if k < rawRefill && sent+k < n {
			k = 0
		}
		if len(pending) == 0 && k <= 0 {
			select {
			case <-ob.wake:
			case err := <-readErr:
				if err == nil && sent < n {
					err = errors.New("raw: reader ended early")
				}
				return err
			}
			continue
		}
		bufs := net.Buffers{pending}
		if k > 0 {
			bufs = append(bufs, buf[off[sent]:off[sent+k]])
			sent += k
		}
		if _, err := bufs.WriteTo(p.nc); err != nil {
			return err
		}
	}
	return <-readErr
}

// outbox collects acknowledgements for a writer goroutine.
type outbox struct {
	mu   sync.Mutex
	buf  []byte
	wake chan struct{} // capacity 1
}

func (o *outbox) init() { o.wake = make(chan struct{}, 1) }

func (o *outbox) add(p packet.Packet, v packet.Version) {
	o.mu.Lock()
	o.buf, _ = p.Append(o.buf, v)
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take appends what is queued to dst and empties the queue.
func (o *outbox) take(dst []byte) []byte {
	o.mu.Lock()
	dst = append(dst, o.buf...)
	o.buf = o.buf[:0]
	o.mu.Unlock()
	return dst
}

// sync publishes one message and waits for its acknowledgement, reading on
// the calling goroutine.
func (p rawPub) sync(ctx context.Context, pk *packet.Publish, buf []byte) error {
	b, err := pk.Append(buf[:0], p.v)
	if err != nil {
		return err
	}
	if _, err := p.nc.Write(b); err != nil {
		return err
	}
	for {
		r, err := p.r.ReadPacket(p.v)
		if err != nil {
			return err
		}
		switch r := r.(type) {
		case *packet.Puback:
			return nil
		case *packet.Pubrec:
			b, _ := (&packet.Pubrel{PacketID: r.PacketID}).Append(buf[:0], p.v)
			if _, err := p.nc.Write(b); err != nil {
				return err
			}
		case *packet.Pubcomp:
			return nil
		}
	}
}

// rawSubscribe subscribes rc to filter and starts a goroutine that reads
// and acknowledges messages, calling on for each; acknowledgements are
// written in batches, whenever the read buffer runs dry.
func rawSubscribe(ctx context.Context, rc *rawConn, filter string, qos packet.QoS, on func()) error {
	b, err := (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}).Append(nil, rc.v)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		rc.nc.SetDeadline(dl)
	}
	if _, err := rc.nc.Write(b); err != nil {
		return err
	}
	p, err := rc.r.ReadPacket(rc.v)
	if err != nil {
		return err
	}
	if sa, ok := p.(*packet.Suback); !ok || len(sa.ReasonCodes) != 1 || sa.ReasonCodes[0].IsError() {
		return fmt.Errorf("raw: SUBSCRIBE refused: %v", p)
	}
	rc.nc.SetDeadline(time.Time{})
	// A reader goroutine queues the acknowledgements, a writer goroutine
	// writes whatever is queued in one system call.
	var ob outbox
	ob.init()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := rc.r.ReadPacket(rc.v)
			if err != nil {
				return // closed
			}
			switch p := p.(type) {
			case *packet.Publish:
				switch p.QoS {
				case 1:
					ob.add(&packet.Puback{PacketID: p.PacketID}, rc.v)
				case 2:
					ob.add(&packet.Pubrec{PacketID: p.PacketID}, rc.v)
				}
				on()
			case *packet.Pubrel:
				ob.add(&packet.Pubcomp{PacketID: p.PacketID}, rc.v)
			}
		}
	}()
	go func() {
		var out []byte
		for {
			select {
			case <-ob.wake:
			case <-done:
				return
			}
			if out = ob.take(out[:0]); len(out) > 0 {
				if _, err := rc.nc.Write(out); err != nil {
					return
				}
			}
		}
	}()
	return nil
}
