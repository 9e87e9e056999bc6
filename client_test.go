package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

func TestConnectAndClose(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				var events []Event
				var mu sync.Mutex
				c := dial(t, Config{Broker: b.URL, Version: v, ClientIDPrefix: "cc-", KeepAlive: 30 * time.Second,
					OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
				n := c.Negotiated()
				if n.Version != v || !strings.HasPrefix(n.ClientID, "cc-") || n.KeepAlive != 30*time.Second && n.KeepAlive == 0 {
					t.Fatalf("Negotiated = %+v", n)
				}
				if c.State() != StateConnected {
					t.Fatalf("State = %v", c.State())
				}
				if err := c.Disconnect(ctxT(t)); err != nil {
					t.Fatalf("Disconnect: %v", err)
				}
				if c.State() != StateClosed {
					t.Fatalf("State after Disconnect = %v", c.State())
				}
				if err := c.Publish(ctxT(t), &Message{Topic: "a"}); !errors.Is(err, ErrClosed) {
					t.Fatalf("Publish after Disconnect: %v, want ErrClosed", err)
				}
				if _, err := c.Subscribe(ctxT(t), nil, Subscription{Filter: "a"}); !errors.Is(err, ErrClosed) {
					t.Fatalf("Subscribe after Disconnect: %v, want ErrClosed", err)
				}
				if err := c.Disconnect(ctxT(t)); !errors.Is(err, ErrClosed) {
					t.Fatalf("second Disconnect: %v", err)
				}
				waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 2 })
				mu.Lock()
				defer mu.Unlock()
				if events[0].Kind != EventConnected || events[1].Kind != EventDisconnected || !errors.Is(events[1].Err, ErrClosed) {
					t.Fatalf("events %+v", events)
				}
			})
		}
	})
}

// TestQoSMatrix publishes at each QoS to a subscription at each QoS: the
// message arrives once, at the lower of the two (MQTT 5.0 section 3.8.4).
func TestQoSMatrix(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				in := newInbox()
				sub := dial(t, Config{Broker: b.URL, Version: v})
				pub := dial(t, Config{Broker: b.URL, Version: v})
				for sq := QoS0; sq <= QoS2; sq++ {
					filter := fmt.Sprintf("matrix/%v/sub%d/+", v, sq)
					res, err := sub.Subscribe(ctxT(t), in.handler, Subscription{Filter: filter, QoS: sq})
					if err != nil || len(res) != 1 || res[0].Code != packet.ReasonCode(sq) {
						t.Fatalf("Subscribe QoS %d: %+v, %v", sq, res, err)
					}
					for pq := QoS0; pq <= QoS2; pq++ {
						topic := fmt.Sprintf("matrix/%v/sub%d/pub%d", v, sq, pq)
						payload := []byte(topic)
						if err := pub.Publish(ctxT(t), &Message{Topic: topic, QoS: pq, Payload: payload}); err != nil {
							t.Fatalf("Publish QoS %d: %v", pq, err)
						}
						m := in.next(t)
						if m.Topic != topic || string(m.Payload) != topic || m.QoS != min(pq, sq) {
							t.Fatalf("got %s %q QoS %d, want %s at QoS %d", m.Topic, m.Payload, m.QoS, topic, min(pq, sq))
						}
					}
				}
				select {
				case m := <-in:
					t.Fatalf("extra message %s", m.Topic)
				default:
				}
			})
		}
	})
}

func TestRetained(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				topic := "retained/" + v.String()
				pub := dial(t, Config{Broker: b.URL, Version: v})
				if err := pub.Publish(ctxT(t), &Message{Topic: topic, QoS: QoS1, Retain: true, Payload: []byte("kept")}); err != nil {
					t.Fatal(err)
				}
				in := newInbox()
				sub := dial(t, Config{Broker: b.URL, Version: v})
				if _, err := sub.Subscribe(ctxT(t), in.handler, Subscription{Filter: topic, QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				if m := in.next(t); !m.Retain || string(m.Payload) != "kept" {
					t.Fatalf("retained message: %+v", m)
				}
				// An empty retained message clears it (MQTT-3.3.1-6).
				if err := pub.Publish(ctxT(t), &Message{Topic: topic, QoS: QoS1, Retain: true}); err != nil {
					t.Fatal(err)
				}
				m := in.next(t)
				if b.Name == "mochi" && !m.Retain && string(m.Payload) == "kept" {
					// Mochi 2.7.9 acknowledges a publish before it has
					// finished giving it to subscribers, so a subscription
					// made right after the PUBACK can get a live copy too.
					m = in.next(t)
				}
				if len(m.Payload) != 0 {
					t.Fatalf("clearing message: %+v", m)
				}
			})
		}
	})
}

// TestWill checks that the broker publishes the Will after an abnormal
// close, and not after Disconnect (MQTT-3.1.2-10).
func TestWill(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				topic := "will/" + v.String()
				in := newInbox()
				watcher := dial(t, Config{Broker: b.URL, Version: v})
				if _, err := watcher.Subscribe(ctxT(t), in.handler, Subscription{Filter: topic, QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				will := &Message{Topic: topic, Payload: []byte("gone"), QoS: QoS1}
				if v == packet.V5 {
					will.Properties.ContentType = "text/plain"
				}
				a := dial(t, Config{Broker: b.URL, Version: v, Will: will})
				a.Close() // abnormal: no DISCONNECT
				m := in.next(t)
				// Mochi 2.7.9 drops a Will's Content Type; Mosquitto keeps it.
				if string(m.Payload) != "gone" || (v == packet.V5 && b.Name == "mosquitto" && m.Properties.ContentType != "text/plain") {
					t.Fatalf("will: %+v", m)
				}

				a2 := dial(t, Config{Broker: b.URL, Version: v, Will: will})
				if err := a2.Disconnect(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				// The next message must be this marker, not the Will.
				if err := watcher.Publish(ctxT(t), &Message{Topic: topic, QoS: QoS1, Payload: []byte("marker")}); err != nil {
					t.Fatal(err)
				}
				if m := in.next(t); string(m.Payload) != "marker" {
					t.Fatalf("after Disconnect the broker published %q", m.Payload)
				}
			})
		}
	})
}

func TestOverlappingSubscriptions(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		for _, v := range versions {
			t.Run(v.String(), func(t *testing.T) {
				hash, plus, def := newInbox(), newInbox(), newInbox()
				c := dial(t, Config{Broker: b.URL, Version: v, DefaultHandler: def.handler})
				if _, err := c.Subscribe(ctxT(t), hash.handler, Subscription{Filter: "ov/#", QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Subscribe(ctxT(t), plus.handler, Subscription{Filter: "ov/+", QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				if err := c.Publish(ctxT(t), &Message{Topic: "ov/x", QoS: QoS1, Payload: []byte("1")}); err != nil {
					t.Fatal(err)
				}
				if m := hash.next(t); m.Topic != "ov/x" {
					t.Fatal(m.Topic)
				}
				if m := plus.next(t); m.Topic != "ov/x" {
					t.Fatal(m.Topic)
				}
				// Unsubscribing one filter leaves the other.
				res, err := c.Unsubscribe(ctxT(t), "ov/+")
				if err != nil || len(res) != 1 || !res[0].OK() {
					t.Fatalf("Unsubscribe: %+v %v", res, err)
				}
				if err := c.Publish(ctxT(t), &Message{Topic: "ov/y", QoS: QoS1}); err != nil {
					t.Fatal(err)
				}
				if m := hash.next(t); m.Topic != "ov/y" {
					t.Fatal(m.Topic)
				}
			})
		}
	})
}

func TestMQTT31(t *testing.T) {
	noLeaks(t)
	b := brokertest.Mosquitto(t)
	in := newInbox()
	c := dial(t, Config{Broker: b.URL, Version: packet.V31})
	if id := c.Negotiated().ClientID; id == "" || len(id) > 23 {
		t.Fatalf("3.1 client ID %q", id)
	}
	if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "v31/#", QoS: QoS2}); err != nil {
		t.Fatal(err)
	}
	for q := QoS0; q <= QoS2; q++ {
		if err := c.Publish(ctxT(t), &Message{Topic: "v31/t", QoS: q, Payload: []byte{byte(q)}}); err != nil {
			t.Fatal(err)
		}
		if m := in.next(t); m.QoS != q || m.Payload[0] != byte(q) {
			t.Fatalf("got %+v", m)
		}
	}
	if err := c.Disconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentPublish runs 1,000 goroutines publishing at once, under
// -race in CI, and checks that every message arrives.
func TestConcurrentPublish(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		const n = 1000
		in := newInbox()
		sub := dial(t, Config{Broker: b.URL})
		if _, err := sub.Subscribe(ctxT(t), in.handler, Subscription{Filter: "many/#", QoS: QoS1}); err != nil {
			t.Fatal(err)
		}
		pub := dial(t, Config{Broker: b.URL})
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- pub.Publish(ctxT(t), &Message{Topic: fmt.Sprintf("many/%d", i), QoS: QoS(i % 3), Payload: []byte("x")})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		for len(seen) < n {
			m := in.next(t)
			if seen[m.Topic] {
				t.Fatalf("%s delivered twice", m.Topic)
			}
			seen[m.Topic] = true
		}
	})
}

// TestHandlerPublishes has a handler publish at QoS 1 and 2 and wait for
// the acknowledgement: the dispatcher must not deadlock.
func TestHandlerPublishes(t *testing.T) {
	noLeaks(t)
	b := brokertest.Mochi(t)
	out := newInbox()
	c := dial(t, Config{Broker: b.URL})
	var hErr error
	_, err := c.Subscribe(ctxT(t), func(m *Message) {
		for q := QoS0; q <= QoS2; q++ {
			if err := c.Publish(context.Background(), &Message{Topic: "reply/" + m.Topic, QoS: q}); err != nil {
				hErr = err
			}
		}
	}, Subscription{Filter: "req/+", QoS: QoS1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctxT(t), out.handler, Subscription{Filter: "reply/#", QoS: QoS2}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := c.Publish(ctxT(t), &Message{Topic: fmt.Sprintf("req/%d", i), QoS: QoS1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 60; i++ {
		out.next(t)
	}
	if hErr != nil {
		t.Fatal(hErr)
	}
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
