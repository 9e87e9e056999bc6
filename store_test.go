package mqtt

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ternmq/mqtt/mqtttest"
	"github.com/ternmq/mqtt/packet"
)

// storedSession leaves, in a memory store, the session of a client that
// published four messages through a scripted broker and was closed: 1
// (QoS 1) and 2 (QoS 2) unacknowledged, 3 (QoS 2) with PUBREC received and
// PUBREL sent, 4 still queued behind the in-flight window of 3; and an
// inbound QoS 2 message, identifier 9, delivered and answered with PUBREC.
// It returns the store and the packet identifiers of 1 to 3.
func storedSession(t *testing.T, v packet.Version) (Store, []uint16) {
	st := NewMemoryStore()
	in := newInbox()
	c, fc := connected(t, Config{Version: v, ClientID: "kept", Persistent: true, MaxInflight: 3, Store: st,
		DefaultHandler: in.handler}, packet.Properties{})
	var cs []*Completion
	for i, q := range []QoS{QoS1, QoS2, QoS2, QoS1} {
		cs = append(cs, c.PublishAsync(&Message{Topic: "kept", QoS: q, Payload: []byte{byte('1' + i)}}))
	}
	var ids []uint16
	for range 3 {
		ids = append(ids, fc.Expect(packet.TypePublish).(*packet.Publish).PacketID)
	}
	fc.Send(&packet.Pubrec{PacketID: ids[2]})
	fc.Expect(packet.TypePubrel)
	fc.Send(&packet.Publish{QoS: QoS2, Topic: "in", PacketID: 9, Payload: []byte("once")})
	if m := in.next(t); string(m.Payload) != "once" {
		t.Fatal(m)
	}
	fc.Expect(packet.TypePubrec)
	c.Close()
	for i, cp := range cs {
		if err := cp.Wait(ctxT(t)); !errors.Is(err, ErrClosed) {
			t.Fatalf("message %d: %v, want ErrClosed", i+1, err)
		}
	}
	return st, ids
}

// TestStoreResumesSession: a new Client on the Store of a closed one, with
// the broker's session present, resends the open exchanges in order (each
// PUBLISH with DUP and its identifier, the PUBREL owed), then the queued
// message as a new one; and it does not deliver again the inbound QoS 2
// message it had answered (MQTT-4.3.3, MQTT-4.4.0-1).
func TestStoreResumesSession(t *testing.T) {
	noLeaks(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			st, ids := storedSession(t, v)
			in := newInbox()
			c, fc, err := fakeDial(t, Config{Version: v, ClientID: "kept", Persistent: true, MaxInflight: 3, Store: st,
				DefaultHandler: in.handler}, func(fc *mqtttest.Conn) {
				fc.ExpectConnect()
				fc.Send(&packet.Connack{SessionPresent: true})
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				p := fc.Expect(packet.TypePublish).(*packet.Publish)
				if !p.Dup || p.PacketID != ids[i] || string(p.Payload) != fmt.Sprint(i+1) {
					t.Fatalf("resend %d: %+v, want DUP, identifier %d", i+1, p, ids[i])
				}
			}
			if rel := fc.Expect(packet.TypePubrel).(*packet.Pubrel); rel.PacketID != ids[2] {
				t.Fatalf("PUBREL for %d, want %d", rel.PacketID, ids[2])
			}
			// The broker resends its QoS 2 message: answered, not delivered.
			fc.Send(&packet.Publish{QoS: QoS2, Dup: true, Topic: "in", PacketID: 9, Payload: []byte("once")})
			fc.Expect(packet.TypePubrec)
			fc.Send(&packet.Pubrel{PacketID: 9})
			fc.Expect(packet.TypePubcomp)
			// Room in the window: the queued message goes out, new.
			fc.Send(&packet.Puback{PacketID: ids[0]})
			p := fc.Expect(packet.TypePublish).(*packet.Publish)
			if p.Dup || string(p.Payload) != "4" {
				t.Fatalf("queued message: %+v", p)
			}
			fc.Send(&packet.Puback{PacketID: p.PacketID}, &packet.Pubrec{PacketID: ids[1]})
			fc.Expect(packet.TypePubrel)
			fc.Send(&packet.Pubcomp{PacketID: ids[1]}, &packet.Pubcomp{PacketID: ids[2]})
			waitFor(t, func() bool { return c.Stats().InFlight == 0 })
			select {
			case m := <-in:
				t.Fatalf("delivered %q again", m.Payload)
			default:
			}
			if n := storeLen(t, st); n != 0 {
				t.Fatalf("%d records left in the store after every exchange completed", n)
			}
		})
	}
}

// TestStoreNoSession: when the broker has no session, the stored messages
// go out again as new messages in order, the one whose PUBREC came counts
// as delivered, and the inbound identifier is forgotten (MQTT-3.2.2-5).
func TestStoreNoSession(t *testing.T) {
	noLeaks(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			st, _ := storedSession(t, v)
			in := newInbox()
			_, fc := connected(t, Config{Version: v, ClientID: "kept", Persistent: true, Store: st,
				DefaultHandler: in.handler}, packet.Properties{})
			var ps []*packet.Publish
			for _, want := range []string{"1", "2", "4"} {
				p := fc.Expect(packet.TypePublish).(*packet.Publish)
				if p.Dup || string(p.Payload) != want {
					t.Fatalf("got %+v, want message %s, new", p, want)
				}
				ps = append(ps, p)
			}
			fc.Send(&packet.Puback{PacketID: ps[0].PacketID}, &packet.Puback{PacketID: ps[2].PacketID},
				&packet.Pubrec{PacketID: ps[1].PacketID})
			fc.Expect(packet.TypePubrel)
			fc.Send(&packet.Pubcomp{PacketID: ps[1].PacketID})
			fc.Send(&packet.Publish{QoS: QoS2, Topic: "in", PacketID: 9, Payload: []byte("new")})
			if m := in.next(t); string(m.Payload) != "new" {
				t.Fatal(m)
			}
			fc.Expect(packet.TypePubrec)
			fc.Send(&packet.Pubrel{PacketID: 9})
			fc.Expect(packet.TypePubcomp)
			waitFor(t, func() bool { return storeLen(t, st) == 0 })
		})
	}
}

func storeLen(t *testing.T, st Store) int {
	t.Helper()
	n := 0
	if err := st.Load(func(uint64, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMaxRetries: after Config.MaxRetries connection ends, a publish's and
// a subscribe's callers get ErrRetryLimit; the QoS 1 message is still
// resent on the next connection (MQTT-4.4.0-1), the SUBSCRIBE is not.
func TestMaxRetries(t *testing.T) {
	noLeaks(t)
	b := mqtttest.NewBroker(t)
	accept := func(present bool) *mqtttest.Conn {
		fc := b.Accept()
		fc.ExpectConnect()
		fc.Send(&packet.Connack{SessionPresent: present})
		return fc
	}
	ch := make(chan *Client, 1)
	go func() {
		c, err := Dial(ctxT(t), Config{Broker: b.URL, ClientID: "r", Persistent: true, Reconnect: true,
			Backoff: fastBackoff, MaxRetries: 2})
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}()
	fc := accept(false)
	c := <-ch
	if c == nil {
		return
	}
	defer c.Close()
	pub := c.PublishAsync(&Message{Topic: "r", QoS: QoS1, Payload: []byte("m")})
	subErr := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctxT(t), func(*Message) {}, Subscription{Filter: "r/#", QoS: QoS1})
		subErr <- err
	}()
	id := fc.Expect(packet.TypePublish).(*packet.Publish).PacketID
	fc.Expect(packet.TypeSubscribe)
	fc.Close()
	fc = accept(true)
	fc.Expect(packet.TypePublish)
	fc.Expect(packet.TypeSubscribe)
	select {
	case <-pub.Done():
		t.Fatalf("publish ended after one reconnection: %v", pub.Err())
	default:
	}
	fc.Close()
	if err := pub.Wait(ctxT(t)); !errors.Is(err, ErrRetryLimit) || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("publish after two connection ends: %v", err)
	}
	if err := <-subErr; !errors.Is(err, ErrRetryLimit) {
		t.Fatalf("subscribe after two connection ends: %v", err)
	}
	fc = accept(true)
	if p := fc.Expect(packet.TypePublish).(*packet.Publish); !p.Dup || p.PacketID != id {
		t.Fatalf("the abandoned wait's message is not resent: %+v", p)
	}
	fc.Send(&packet.Puback{PacketID: id})
	waitFor(t, func() bool { return c.Stats().InFlight == 0 })
	// The SUBSCRIBE was not resent: the next packet is a new publish.
	c.PublishAsync(&Message{Topic: "r", QoS: QoS0, Payload: []byte("after")})
	if p := fc.Expect(packet.TypePublish).(*packet.Publish); string(p.Payload) != "after" {
		t.Fatalf("got %+v", p)
	}
	if st := c.Stats(); st.Reconnects != 2 {
		t.Fatalf("stats %+v", st)
	}
}
