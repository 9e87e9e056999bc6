package share

import (
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestPrimaryRestart: the primary goes and comes back on the same socket;
// the secondary reconnects and its subscription is made again upstream.
func TestPrimaryRestart(t *testing.T) {
	b := brokertest.Mochi(t)
	srv, path, up := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "r/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv2, err := NewServer(Options{Logger: testLogger(t)}, map[string]*mqtt.Client{"main": up})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv2.Listen(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Close() })
	eventually(t, "the subscription restored", func() bool { return srv2.holders("", "r/#") == 1 })
	if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: "r/x", Payload: []byte("x"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t, 5*time.Second); m.Topic != "r/x" {
		t.Error(m.Topic)
	}
	if err := s.Publish(ctxT(t), &mqtt.Message{Topic: "r/y", Payload: []byte("y"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
}
