package mqtt

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/ternmq/mqtt/internal/brokertest"
)

// packetLog is a Mochi hook that records the type and topic of every
// PUBLISH, SUBSCRIBE and UNSUBSCRIBE the broker reads.
type packetLog struct {
	mochi.HookBase
	mu  sync.Mutex
	got []string
}

func (h *packetLog) ID() string           { return "packet-log" }
func (h *packetLog) Provides(b byte) bool { return b == mochi.OnPacketRead }

func (h *packetLog) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	var s string
	switch pk.FixedHeader.Type {
	case packets.Publish:
		s = "PUBLISH " + pk.TopicName
	case packets.Subscribe:
		s = "SUBSCRIBE " + pk.Filters[0].Filter
	case packets.Unsubscribe:
		s = "UNSUBSCRIBE " + pk.Filters[0].Filter
	default:
		return pk, nil
	}
	h.mu.Lock()
	h.got = append(h.got, s)
	h.mu.Unlock()
	return pk, nil
}

func (h *packetLog) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

// TestLimits: with Config.Limits, what is over a broker's own limits is
// refused with ErrLimit before anything is sent; what is within them goes.
func TestLimits(t *testing.T) {
	noLeaks(t)
	lim := &Limits{MaxTopicBytes: 16, MaxTopicLevels: 3, MaxPayloadBytes: 8, MaxClientIDBytes: 12,
		MinKeepAlive: 30 * time.Second, MaxKeepAlive: 1200 * time.Second, MaxQoS: QoS1}

	t.Run("config", func(t *testing.T) {
		for name, cfg := range map[string]Config{
			"client ID":       {ClientID: "a-client-id-too-long"},
			"keep alive low":  {ClientID: "c", KeepAlive: 10 * time.Second},
			"keep alive off":  {ClientID: "c", KeepAlive: -1},
			"keep alive high": {ClientID: "c", KeepAlive: time.Hour},
			"will QoS":        {ClientID: "c", Will: &Message{Topic: "w", QoS: QoS2}},
			"will topic":      {ClientID: "c", Will: &Message{Topic: "a/b/c/d"}},
		} {
			cfg.Broker = "mqtt://127.0.0.1:1" // never dialled
			cfg.Limits = lim
			if _, err := Dial(ctxT(t), cfg); !errors.Is(err, ErrLimit) {
				t.Errorf("%s: Dial: %v, want ErrLimit", name, err)
			}
		}
	})

	h := &packetLog{}
	b := brokertest.Mochi(t, h)
	c := dial(t, Config{Broker: b.URL, ClientID: "limits", Limits: lim})
	in := newInbox()
	refused := []struct {
		name string
		do   func() error
	}{
		{"long topic", func() error { return c.Publish(ctxT(t), &Message{Topic: strings.Repeat("t", 17), QoS: 1}) }},
		{"deep topic", func() error { return c.Publish(ctxT(t), &Message{Topic: "a/b/c/d"}) }},
		{"payload", func() error { return c.Publish(ctxT(t), &Message{Topic: "a", Payload: []byte("123456789")}) }},
		{"QoS 2", func() error { return c.Publish(ctxT(t), &Message{Topic: "a", QoS: 2}) }},
		{"async", func() error { return c.PublishAsync(&Message{Topic: "a", QoS: 2}).Err() }},
		{"filter QoS 2", func() error {
			_, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "a/#", QoS: 2})
			return err
		}},
		{"deep filter", func() error {
			_, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "a/+/+/#"})
			return err
		}},
		{"unsubscribe", func() error {
			_, err := c.Unsubscribe(ctxT(t), strings.Repeat("f", 17))
			return err
		}},
	}
	for _, r := range refused {
		if err := r.do(); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v, want ErrLimit", r.name, err)
		}
	}
	if got := h.list(); len(got) != 0 {
		t.Fatalf("the broker got %q; nothing over the limits may be sent", got)
	}
	// Within the limits: the edges are allowed.
	if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "a/b/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), &Message{Topic: "a/b/" + strings.Repeat("c", 12), QoS: 1, Payload: []byte("12345678")}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); string(m.Payload) != "12345678" {
		t.Fatalf("got %q", m.Payload)
	}
	if _, err := c.Unsubscribe(ctxT(t), "a/b/#"); err != nil {
		t.Fatal(err)
	}
	want := []string{"SUBSCRIBE a/b/#", "PUBLISH a/b/cccccccccccc", "UNSUBSCRIBE a/b/#"}
	if got := h.list(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("the broker got %q, want %q", got, want)
	}
}
