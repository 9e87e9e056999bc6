package mqtt

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// TestInflightLimit checks that a publish beyond the broker's Receive
// Maximum waits for room instead of failing or being sent.
func TestInflightLimit(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{ReceiveMaximum: 2})
	done := make([]*Completion, 3)
	for i := 0; i < 2; i++ {
		done[i] = c.PublishAsync(&Message{Topic: fmt.Sprint(i), QoS: QoS1})
	}
	third := make(chan *Completion)
	go func() { third <- c.PublishAsync(&Message{Topic: "2", QoS: QoS1}) }() // waits for room
	first := fc.Expect(packet.TypePublish).(*packet.Publish)
	fc.Expect(packet.TypePublish)
	// The third must not be on the wire while two await their PUBACK.
	fc.Timeout = 300 * time.Millisecond
	if p, err := fc.Next(); err == nil {
		t.Fatalf("a third publish was sent beyond Receive Maximum 2: %+v", p)
	}
	fc.Timeout = 0
	fc.Send(&packet.Puback{PacketID: first.PacketID})
	p3 := fc.Expect(packet.TypePublish).(*packet.Publish)
	if p3.Topic != "2" {
		t.Fatalf("after room was made, %q was sent", p3.Topic)
	}
	done[2] = <-third
	if err := done[0].Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if done[2].Err() != nil {
		t.Fatal(done[2].Err())
	}
}

// TestContextExpiryKeepsExchange: a publish whose caller stops waiting keeps
// its packet identifier until the broker answers.
func TestContextExpiryKeepsExchange(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Publish(ctx, &Message{Topic: "slow", QoS: QoS2}) }()
	pub := fc.Expect(packet.TypePublish).(*packet.Publish)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish: %v", err)
	}
	c.mu.Lock()
	held := c.sess.Get(pub.PacketID) != nil
	c.mu.Unlock()
	if !held {
		t.Fatal("the packet identifier was freed while its exchange is open")
	}
	fc.Send(&packet.Pubrec{PacketID: pub.PacketID})
	fc.Expect(packet.TypePubrel)
	fc.Send(&packet.Pubcomp{PacketID: pub.PacketID})
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.sess.Len() == 0 && c.inflight == 0
	})
}

func TestWriteTimeout(t *testing.T) {
	noLeaks(t)
	events := make(chan Event, 4)
	c, _ := connected(t, Config{WriteTimeout: 200 * time.Millisecond, OnEvent: func(e Event) { events <- e }}, packet.Properties{})
	// The broker reads nothing: a large enough message fills the socket
	// buffers and the write times out.
	err := c.Publish(ctxT(t), &Message{Topic: "big", Payload: make([]byte, 64<<20)})
	if !errors.Is(err, ErrWriteTimeout) {
		t.Fatalf("Publish: %v, want ErrWriteTimeout", err)
	}
	for e := range events {
		if e.Kind == EventDisconnected {
			if !errors.Is(e.Err, ErrWriteTimeout) {
				t.Fatalf("event: %v", e.Err)
			}
			break
		}
	}
}

func TestDisconnectWith(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	zero := uint32(0)
	go c.DisconnectWith(ctxT(t), packet.Disconnect{ReasonCode: packet.ReasonDisconnectWithWill,
		Properties: packet.Properties{SessionExpiryInterval: &zero, ReasonString: "bye"}})
	d := fc.Expect(packet.TypeDisconnect).(*packet.Disconnect)
	if d.ReasonCode != packet.ReasonDisconnectWithWill || d.Properties.ReasonString != "bye" || *d.Properties.SessionExpiryInterval != 0 {
		t.Fatalf("DISCONNECT %+v", d)
	}
	fc.ExpectClosed()
}

func TestSharedSubscription(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		in := newInbox()
		for i := 0; i < 2; i++ {
			c := dial(t, Config{Broker: b.URL})
			if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "$share/workers/jobs/+", QoS: QoS1}); err != nil {
				t.Fatal(err)
			}
		}
		pub := dial(t, Config{Broker: b.URL})
		const n = 20
		for i := 0; i < n; i++ {
			if err := pub.Publish(ctxT(t), &Message{Topic: fmt.Sprintf("jobs/%d", i), QoS: QoS1}); err != nil {
				t.Fatal(err)
			}
		}
		// Each job reaches exactly one of the two workers.
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			m := in.next(t)
			if seen[m.Topic] {
				t.Fatalf("%s given to both workers", m.Topic)
			}
			seen[m.Topic] = true
		}
		select {
		case m := <-in:
			t.Fatalf("extra delivery of %s", m.Topic)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestPersistentSession reconnects with a persistent session: the broker
// reports the session present and delivers what was queued meanwhile.
func TestPersistentSession(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				id := "persist-" + b.Name + "-" + v.String()
				cfg := Config{Broker: b.URL, Version: v, ClientID: id, Persistent: true, SessionExpiry: time.Hour}
				a := dial(t, cfg)
				if a.Negotiated().SessionPresent {
					// A session left by an earlier run: clear it first.
					a.Close()
					clean := cfg
					clean.Persistent = false
					dial(t, clean).Disconnect(ctxT(t))
					a = dial(t, cfg)
				}
				if _, err := a.Subscribe(ctxT(t), nil, Subscription{Filter: "queued/" + id, QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				if err := a.Disconnect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				pub := dial(t, Config{Broker: b.URL, Version: v})
				for i := 0; i < 3; i++ {
					if err := pub.Publish(ctxT(t), &Message{Topic: "queued/" + id, QoS: QoS1, Payload: []byte{byte(i)}}); err != nil {
						t.Fatal(err)
					}
				}
				in := newInbox()
				cfg.DefaultHandler = in.handler
				a2 := dial(t, cfg)
				if !a2.Negotiated().SessionPresent {
					t.Fatal("session not present after reconnecting")
				}
				got := map[byte]bool{}
				for i := 0; i < 3; i++ {
					m := in.next(t)
					// Mosquitto keeps the order (MQTT 5.0 section 4.6);
					// Mochi 2.7.9 resends a resumed session's messages in
					// any order.
					if b.Name == "mosquitto" && m.Payload[0] != byte(i) {
						t.Fatalf("queued message %d arrived as %d", i, m.Payload[0])
					}
					got[m.Payload[0]] = true
				}
				if len(got) != 3 {
					t.Fatalf("queued messages: got %v", got)
				}
			})
		}
	})
}

// TestSlowHandler blocks a handler and checks that the client still reads
// PINGRESP (no false keep-alive timeout) and the acknowledgements of its
// own publishes.
func TestSlowHandler(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	entered := make(chan struct{})
	c, fc := connected(t, Config{KeepAlive: time.Second, PingTimeout: 2 * time.Second,
		DefaultHandler: func(*Message) { close(entered); <-release }}, packet.Properties{})
	fc.Send(&packet.Publish{QoS: QoS1, Topic: "slow", PacketID: 1})
	<-entered
	// While the handler blocks: two keep-alive rounds, answered...
	for i := 0; i < 2; i++ {
		fc.Expect(packet.TypePingreq)
		fc.Send(&packet.Pingresp{})
	}
	// ...and a publish of our own, acknowledged.
	done := c.PublishAsync(&Message{Topic: "mine", QoS: QoS1})
	pub := fc.Expect(packet.TypePublish).(*packet.Publish)
	fc.Send(&packet.Puback{PacketID: pub.PacketID})
	if err := done.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateConnected {
		t.Fatalf("blocked handler ended the connection: %v", c.Err())
	}
	// The blocked message is acknowledged once its handler returns.
	close(release)
	if ack := fc.Expect(packet.TypePuback).(*packet.Puback); ack.PacketID != 1 {
		t.Fatalf("PUBACK %d", ack.PacketID)
	}
}

// TestUndeliveredBound blocks the handler while the broker floods the
// client: QoS 0 messages beyond Config.MaxUndelivered are dropped and
// counted, QoS 1 messages are kept.
func TestUndeliveredBound(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	in := newInbox()
	c, fc := connected(t, Config{MaxUndelivered: 1000, DefaultHandler: func(m *Message) { <-release; in.handler(m) }}, packet.Properties{})
	payload := make([]byte, 299) // 300 bytes with the topic "q"
	for i := 0; i < 10; i++ {
		fc.Send(&packet.Publish{Topic: "q", Payload: payload})
	}
	fc.Send(&packet.Publish{Topic: "q", QoS: QoS1, PacketID: 1, Payload: payload})
	waitFor(t, func() bool { return c.Stats().Received == 11 })
	st := c.Stats()
	if st.Dropped != 7 || st.Undelivered != 4 || st.UndeliveredBytes != 1200 {
		t.Fatalf("Stats %+v: want 3 QoS 0 messages kept and 7 dropped, and the QoS 1 message kept over the bound", st)
	}
	close(release)
	for i := 0; i < 4; i++ {
		in.next(t)
	}
	if ack := fc.Expect(packet.TypePuback).(*packet.Puback); ack.PacketID != 1 {
		t.Fatalf("PUBACK %d", ack.PacketID)
	}
	waitFor(t, func() bool { st := c.Stats(); return st.Undelivered == 0 && st.UndeliveredBytes == 0 })
}
