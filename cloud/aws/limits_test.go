package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// recorder is a Mochi hook that records the CONNECT, PUBLISH and SUBSCRIBE
// packets the broker reads.
type recorder struct {
	mochi.HookBase
	mu   sync.Mutex
	seen []string // "CONNECT client-id", "PUBLISH topic", "SUBSCRIBE filter"
}

func (r *recorder) ID() string { return "recorder" }

func (r *recorder) Provides(b byte) bool { return b == mochi.OnPacketRead }

func (r *recorder) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch pk.FixedHeader.Type {
	case packets.Connect:
		r.seen = append(r.seen, "CONNECT "+pk.Connect.ClientIdentifier)
	case packets.Publish:
		r.seen = append(r.seen, "PUBLISH "+pk.TopicName)
	case packets.Subscribe:
		for _, f := range pk.Filters {
			r.seen = append(r.seen, "SUBSCRIBE "+f.Filter)
		}
	}
	return pk, nil
}

func (r *recorder) saw(what string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		if s == what {
			return true
		}
	}
	return false
}

// TestLimits checks that with Limits, what AWS IoT Core would refuse is
// refused before it is sent, and what it takes goes through: against an
// in-process broker that records what it got.
func TestLimits(t *testing.T) {
	rec := &recorder{}
	broker := brokertest.Mochi(t, rec)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	base := mqtt.Config{Broker: broker.URL, ClientID: "thing-limits", Limits: Limits()}

	for _, c := range []struct {
		name string
		cfg  func(*mqtt.Config)
	}{
		{"client ID of 129 bytes", func(c *mqtt.Config) { c.ClientID = strings.Repeat("c", 129) }},
		{"keep alive 29 s", func(c *mqtt.Config) { c.KeepAlive = 29 * time.Second }},
		{"keep alive 1201 s", func(c *mqtt.Config) { c.KeepAlive = 1201 * time.Second }},
		{"keep alive off", func(c *mqtt.Config) { c.KeepAlive = -1 }},
		{"Will QoS 2", func(c *mqtt.Config) { c.Will = &mqtt.Message{Topic: "will", QoS: mqtt.QoS2} }},
	} {
		cfg := base
		cfg.ClientID = "refused-" + strings.ReplaceAll(c.name, " ", "-")
		c.cfg(&cfg)
		if _, err := mqtt.Dial(ctx, cfg); !errors.Is(err, mqtt.ErrLimit) {
			t.Errorf("Dial with %s: %v, want ErrLimit", c.name, err)
		}
		if rec.saw("CONNECT " + cfg.ClientID) {
			t.Errorf("Dial with %s: the broker got the CONNECT", c.name)
		}
	}

	cfg := base
	cfg.ClientID = strings.Repeat("c", 128)
	cfg.KeepAlive = 30 * time.Second
	client, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	deep := "a/b/c/d/e/f/g/h" // 8 levels
	long := strings.Repeat("t", 256)
	for _, c := range []struct {
		name string
		m    mqtt.Message
		ok   bool
	}{
		{"topic of 256 bytes", mqtt.Message{Topic: long, QoS: mqtt.QoS1}, true},
		{"topic of 257 bytes", mqtt.Message{Topic: long + "t", QoS: mqtt.QoS1}, false},
		{"8 levels", mqtt.Message{Topic: deep, QoS: mqtt.QoS1}, true},
		{"9 levels", mqtt.Message{Topic: deep + "/i", QoS: mqtt.QoS1}, false},
		{"payload of 128 KiB", mqtt.Message{Topic: "big/ok", Payload: bytes.Repeat([]byte{1}, 128<<10), QoS: mqtt.QoS1}, true},
		{"payload of 128 KiB + 1", mqtt.Message{Topic: "big/over", Payload: bytes.Repeat([]byte{1}, 128<<10+1), QoS: mqtt.QoS1}, false},
		{"QoS 2", mqtt.Message{Topic: "qos/2", QoS: mqtt.QoS2}, false},
	} {
		err := client.Publish(ctx, &c.m)
		switch {
		case c.ok && err != nil:
			t.Errorf("publish with %s: %v", c.name, err)
		case !c.ok && !errors.Is(err, mqtt.ErrLimit):
			t.Errorf("publish with %s: %v, want ErrLimit", c.name, err)
		}
		// QoS 1: the PUBACK came, so the broker has read all it will get.
		if got := rec.saw("PUBLISH " + c.m.Topic); got != c.ok {
			t.Errorf("publish with %s: the broker got it: %v, want %v", c.name, got, c.ok)
		}
	}

	for _, c := range []struct {
		sub mqtt.Subscription
		ok  bool
	}{
		{mqtt.Subscription{Filter: "things/+/qos1", QoS: mqtt.QoS1}, true},
		{mqtt.Subscription{Filter: "things/+/qos2", QoS: mqtt.QoS2}, false},
		{mqtt.Subscription{Filter: deep + "/#", QoS: mqtt.QoS0}, false},
	} {
		_, err := client.Subscribe(ctx, nil, c.sub)
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, mqtt.ErrLimit)) {
			t.Errorf("subscribe to %s at %v: %v", c.sub.Filter, c.sub.QoS, err)
		}
		if got := rec.saw("SUBSCRIBE " + c.sub.Filter); got != c.ok {
			t.Errorf("subscribe to %s at %v: the broker got it: %v, want %v", c.sub.Filter, c.sub.QoS, got, c.ok)
		}
	}
}

func TestLimitsAreFresh(t *testing.T) {
	a := Limits()
	a.MaxQoS = mqtt.QoS2
	if b := Limits(); b.MaxQoS != mqtt.QoS1 {
		t.Errorf("changing one Limits changed the next: %v", fmt.Sprint(b.MaxQoS))
	}
}
