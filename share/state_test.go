package share

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestEventsState: a subscription to EventsTopic is answered at once
// with the upstream's state, retained: connected, then, with the broker
// down, not connected.
func TestEventsState(t *testing.T) {
	b := brokertest.Mosquitto(t)
	_, path, _ := primary(t, b.URL, Options{})
	s := secondary(t, path, mqtt.Config{})
	if e, ok := s.Upstream(); !ok || e.Kind != mqtt.EventConnected {
		t.Errorf("after Dial, Upstream() = %v %v, want connected", e.Kind, ok)
	}
	state := func() EventJSON {
		t.Helper()
		c := dialBroker(t, "unix://"+path, mqtt.Config{})
		in := newInbox()
		if _, err := c.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: EventsTopic, QoS: 1}); err != nil {
			t.Fatal(err)
		}
		m := in.next(t, 2*time.Second)
		var j EventJSON
		if err := json.Unmarshal(m.Payload, &j); err != nil || !m.Retain {
			t.Fatalf("%q retain %v: %v", m.Payload, m.Retain, err)
		}
		c.Close()
		return j
	}
	if j := state(); j.Kind != "connected" || j.Connection != "main" {
		t.Errorf("state %+v, want connected on main", j)
	}
	if err := b.Terminate(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the secondary told of the loss", func() bool {
		e, _ := s.Upstream()
		return e.Kind != mqtt.EventConnected
	})
	if j := state(); j.Kind == "connected" {
		t.Errorf("state %+v with the broker down", j)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the secondary told of the reconnection", func() bool {
		e, _ := s.Upstream()
		return e.Kind == mqtt.EventConnected
	})
}
