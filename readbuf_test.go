package mqtt

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// TestReadBuffer decodes a stream of packets of many sizes through the
// adaptive read buffer, fed by readers that return one byte, half of what
// was asked, or everything at once: the buffer switches between its sizes
// without losing or reordering a byte.
func TestReadBuffer(t *testing.T) {
	var stream []byte
	var want []int
	for i := range 300 {
		n := []int{0, 10, 500, 511, 512, 513, 4000, 40 << 10, 70 << 10}[i%9]
		p := &packet.Publish{Topic: "t/" + strconv.Itoa(i), Payload: bytes.Repeat([]byte{byte(i)}, n)}
		stream, _ = p.Append(stream, packet.V5)
		want = append(want, n)
	}
	for name, rd := range map[string]func(io.Reader) io.Reader{
		"whole":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"datarr":  iotest.DataErrReader,
	} {
		t.Run(name, func(t *testing.T) {
			b := newReadBuffer(rd(bytes.NewReader(stream)))
			r := packet.NewReader(b, 0)
			for i, n := range want {
				p, err := r.ReadPacket(packet.V5)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				pub := p.(*packet.Publish)
				if pub.Topic != "t/"+strconv.Itoa(i) || len(pub.Payload) != n || n > 0 && pub.Payload[n-1] != byte(i) {
					t.Fatalf("packet %d: topic %s, %d bytes", i, pub.Topic, len(pub.Payload))
				}
			}
			if _, err := r.ReadPacket(packet.V5); err != io.EOF {
				t.Fatalf("after the stream: %v", err)
			}
			b.release()
		})
	}
}

// TestMessageSizes sends messages of sizes around the read buffer's and
// the one-allocation size classes through real brokers, interleaved with
// bursts of small ones, and checks every byte.
func TestMessageSizes(t *testing.T) {
	noLeaks(t)
	sizes := []int{0, 1, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 32 << 10, 100 << 10}
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		in := newInbox()
		c := dial(t, Config{Broker: b.URL})
		if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "size/#", QoS: QoS1}); err != nil {
			t.Fatal(err)
		}
		var sent [][]byte
		for i, n := range sizes {
			for j := range 20 { // a burst of small messages before each size
				p := []byte(strconv.Itoa(i*100 + j))
				sent = append(sent, p)
				c.PublishAsync(&Message{Topic: "size/s", QoS: QoS1, Payload: p})
			}
			p := bytes.Repeat([]byte{byte(n)}, n)
			sent = append(sent, p)
			if err := c.Publish(ctxT(t), &Message{Topic: "size/" + strconv.Itoa(n), QoS: QoS1, Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range sent {
			if m := in.next(t); !bytes.Equal(m.Payload, p) {
				t.Fatalf("message %d: %d bytes, want %d", i, len(m.Payload), len(p))
			}
		}
	})
}
