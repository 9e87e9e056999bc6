package main

// Allocation benchmarks of Tern's hot paths, over an in-memory pipe to a
// fake broker written here with the codec:
//
//	cd benchmarks && go test -run '^$' -bench . -benchmem ./e2e
//
// The fake broker allocates nothing per packet (it reads each packet into
// a reused buffer and writes pre-encoded answers), so allocs/op are
// Tern's own. The pipe's deadline methods do nothing: a net.Pipe deadline
// allocates a timer each time it is set, where a TCP socket's does not,
// and Tern sets the write deadline once per batch it writes.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// pipeConn is one end of a net.Pipe without deadlines.
type pipeConn struct{ net.Conn }

func (pipeConn) SetDeadline(time.Time) error      { return nil }
func (pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (pipeConn) SetWriteDeadline(time.Time) error { return nil }

// fakeBroker serves one client over conn: CONNACK to CONNECT, PUBACK to a
// QoS 1 PUBLISH, SUBACK (granting the requested QoS) to SUBSCRIBE, PINGRESP
// to PINGREQ; QoS 0 PUBLISH packets are read and dropped. On demand it
// sends pre-encoded QoS 0 PUBLISH packets (send).
type fakeBroker struct {
	conn  net.Conn
	v     packet.Version
	br    *bufio.Reader
	buf   []byte
	ack   [6]byte
	chunk []byte // chunkN pre-encoded PUBLISH packets of pubSize bytes each
	send  chan int
	done  chan struct{}
}

const chunkN = 128

func newFakeBroker(conn net.Conn, v packet.Version, p packet.Publish) *fakeBroker {
	fb := &fakeBroker{conn: conn, v: v, br: bufio.NewReaderSize(conn, 64<<10), buf: make([]byte, 4096),
		send: make(chan int), done: make(chan struct{})}
	for range chunkN {
		var err error
		if fb.chunk, err = p.Append(fb.chunk, v); err != nil {
			panic(err)
		}
	}
	go fb.serve()
	go fb.sender()
	return fb
}

func (fb *fakeBroker) sender() {
	size := len(fb.chunk) / chunkN
	for {
		var n int
		select {
		case n = <-fb.send:
		case <-fb.done:
			return
		}
		for n > 0 {
			k := min(n, chunkN)
			if _, err := fb.conn.Write(fb.chunk[:k*size]); err != nil {
				return
			}
			n -= k
		}
	}
}

func (fb *fakeBroker) serve() {
	defer close(fb.done)
	for {
		h, err := fb.br.ReadByte()
		if err != nil {
			return
		}
		rl, shift := 0, 0
		for {
			c, err := fb.br.ReadByte()
			if err != nil {
				return
			}
			rl |= int(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		if rl > len(fb.buf) {
			fb.buf = make([]byte, rl)
		}
		body := fb.buf[:rl]
		if _, err := io.ReadFull(fb.br, body); err != nil {
			return
		}
		var out []byte
		switch packet.Type(h >> 4) {
		case packet.TypeConnect:
			if fb.v == packet.V5 {
				out = append(fb.ack[:0], 0x20, 3, 0, 0, 0)
			} else {
				out = append(fb.ack[:0], 0x20, 2, 0, 0)
			}
		case packet.TypePublish:
			if (h>>1)&3 == 1 {
				tl := int(body[0])<<8 | int(body[1])
				out = append(fb.ack[:0], 0x40, 2, body[2+tl], body[3+tl])
			}
		case packet.TypeSubscribe:
			// Packet identifier, then (5.0) properties, then the filter
			// and its options byte, the last byte of the packet.
			qos := body[len(body)-1] & 3
			if fb.v == packet.V5 {
				out = append(fb.ack[:0], 0x90, 4, body[0], body[1], 0, qos)
			} else {
				out = append(fb.ack[:0], 0x90, 3, body[0], body[1], qos)
			}
		case packet.TypePingreq:
			out = append(fb.ack[:0], 0xd0, 0)
		case packet.TypeDisconnect:
			return
		}
		if len(out) > 0 {
			if _, err := fb.conn.Write(out); err != nil {
				return
			}
		}
	}
}

// dialFake connects a Tern client to a new fake broker, which sends pub
// on demand.
func dialFake(b *testing.B, v packet.Version, pub packet.Publish) (*mqtt.Client, *fakeBroker) {
	cc, sc := net.Pipe()
	fb := newFakeBroker(sc, v, pub)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mqtt.Dial(ctx, mqtt.Config{Broker: "mqtt://pipe:1883", Version: v, ClientID: "bench",
		Dialer: mqtt.DialerFunc(func(context.Context, *url.URL) (net.Conn, error) { return pipeConn{cc}, nil })})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.Disconnect(ctx)
		c.Close()
		sc.Close()
		<-fb.done
	})
	return c, fb
}

func forVersions(b *testing.B, f func(*testing.B, packet.Version)) {
	b.Run("v3.1.1", func(b *testing.B) { f(b, packet.V311) })
	b.Run("v5.0", func(b *testing.B) { f(b, packet.V5) })
}

var benchPayload = make([]byte, 64)

// recvPub is the QoS 0 message the fake broker sends.
var recvPub = packet.Publish{Topic: "bench/recv", Payload: benchPayload}

const warmup = 2000

// BenchmarkPublishQoS0 is Publish at QoS 0: it returns once the message
// is written to the connection.
func BenchmarkPublishQoS0(b *testing.B) {
	forVersions(b, func(b *testing.B, v packet.Version) {
		c, _ := dialFake(b, v, recvPub)
		m := &mqtt.Message{Topic: "bench/pub", QoS: mqtt.QoS0, Payload: benchPayload}
		ctx := context.Background()
		for range warmup {
			if err := c.Publish(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := c.Publish(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPublishAsyncQoS0 is PublishAsync at QoS 0 with up to 64
// completions outstanding.
func BenchmarkPublishAsyncQoS0(b *testing.B) {
	forVersions(b, func(b *testing.B, v packet.Version) {
		c, _ := dialFake(b, v, recvPub)
		m := &mqtt.Message{Topic: "bench/pub", QoS: mqtt.QoS0, Payload: benchPayload}
		var ring [64]*mqtt.Completion
		run := func(n int) {
			for i := range n {
				slot := &ring[i%len(ring)]
				if *slot != nil {
					<-(*slot).Done()
					if err := (*slot).Err(); err != nil {
						b.Fatal(err)
					}
				}
				*slot = c.PublishAsync(m)
			}
		}
		run(warmup)
		b.ReportAllocs()
		b.ResetTimer()
		run(b.N)
		for _, cp := range ring {
			if cp != nil {
				<-cp.Done()
			}
		}
	})
}

// BenchmarkPublishQoS1Sync is Publish at QoS 1: it returns on PUBACK.
func BenchmarkPublishQoS1Sync(b *testing.B) {
	forVersions(b, func(b *testing.B, v packet.Version) {
		c, _ := dialFake(b, v, recvPub)
		m := &mqtt.Message{Topic: "bench/pub", QoS: mqtt.QoS1, Payload: benchPayload}
		ctx := context.Background()
		for range warmup {
			if err := c.Publish(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := c.Publish(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReceiveQoS0 is one QoS 0 message read, decoded and given to a
// handler that counts it.
func BenchmarkReceiveQoS0(b *testing.B) {
	forVersions(b, func(b *testing.B, v packet.Version) { benchReceive(b, v, recvPub) })
}

// BenchmarkReceiveQoS0SubID is BenchmarkReceiveQoS0 in MQTT 5.0 with the
// Subscription Identifier property a broker adds to every message that
// matches a subscription made with one, as Tern's Subscribe always does in
// 5.0 (Mosquitto does so in the end-to-end runs).
func BenchmarkReceiveQoS0SubID(b *testing.B) {
	p := recvPub
	p.Properties.SubscriptionIDs = []uint32{1}
	b.Run("v5.0", func(b *testing.B) { benchReceive(b, packet.V5, p) })
}

func benchReceive(b *testing.B, v packet.Version, pub packet.Publish) {
	c, fb := dialFake(b, v, pub)
	var count, target atomic.Int64
	reached := make(chan struct{}, 1)
	h := func(*mqtt.Message) {
		if count.Add(1) == target.Load() {
			reached <- struct{}{}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, h, mqtt.Subscription{Filter: pub.Topic, QoS: mqtt.QoS0}); err != nil {
		b.Fatal(err)
	}
	run := func(n int) {
		count.Store(0)
		target.Store(int64(n))
		fb.send <- n
		select {
		case <-reached:
		case <-time.After(time.Minute):
			b.Fatalf("%d of %d messages received", count.Load(), n)
		}
	}
	run(warmup)
	b.ReportAllocs()
	b.ResetTimer()
	run(b.N)
}
