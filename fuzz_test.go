package mqtt

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// FuzzInbound feeds a connected client arbitrary bytes from the broker's
// side, after a valid CONNACK: whatever they are, the client never panics,
// and the connection ends exactly once with one of the documented causes
// (a bad packet, the server's DISCONNECT, or the loss of the connection
// when the broker's side closes after the bytes).
func FuzzInbound(f *testing.F) {
	seed := func(ps ...packet.Packet) []byte {
		var b []byte
		for _, p := range ps {
			b, _ = p.Append(b, packet.V5)
		}
		return b
	}
	f.Add(byte(5), seed(&packet.Publish{Topic: "a", Payload: []byte("x")}))
	f.Add(byte(5), seed(&packet.Publish{Topic: "a", QoS: QoS2, PacketID: 1}, &packet.Pubrel{PacketID: 1}))
	f.Add(byte(5), seed(&packet.Publish{Topic: "a", Properties: packet.Properties{TopicAlias: 1}}, &packet.Publish{Properties: packet.Properties{TopicAlias: 1}}))
	f.Add(byte(5), seed(&packet.Puback{PacketID: 7}, &packet.Pingresp{}, &packet.Disconnect{ReasonCode: packet.ReasonServerShuttingDown}))
	f.Add(byte(5), seed(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication}))
	f.Add(byte(4), []byte{0x30, 0x05, 0x00, 0x01, 'a', 'h', 'i', 0xff})
	f.Add(byte(4), []byte{0x32, 0x7f})
	f.Fuzz(func(t *testing.T, version byte, data []byte) {
		v := packet.V5
		if version%2 == 0 {
			v = packet.V311
		}
		cc, sc := net.Pipe()
		defer sc.Close()
		go func() {
			r := packet.NewReader(sc, 0)
			if _, err := r.ReadPacket(0); err != nil {
				return
			}
			ack := &packet.Connack{}
			ack.Properties.TopicAliasMaximum = 4
			b, _ := ack.Append(nil, v)
			go io.Copy(io.Discard, sc) // the client's acknowledgements
			sc.Write(append(b, data...))
			sc.Close()
		}()
		ends := make(chan error, 4)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, Config{Broker: "mqtt://fuzz:1883", Version: v, ClientID: "fuzz", TopicAliasMaximum: 4,
			DefaultHandler: func(*Message) {},
			OnEvent: func(e Event) {
				if e.Kind == EventDisconnected {
					ends <- e.Err
				}
			},
			Dialer: DialerFunc(func(context.Context, *url.URL) (net.Conn, error) { return cc, nil })})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		select {
		case err := <-ends:
			var de *DisconnectError
			if !errors.Is(err, ErrBadPacket) && !errors.Is(err, ErrConnectionLost) && !errors.As(err, &de) {
				t.Fatalf("the connection ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end")
		}
		c.Close()
		select {
		case err := <-ends:
			t.Fatalf("a second end: %v", err)
		case <-time.After(time.Millisecond):
		}
	})
}
