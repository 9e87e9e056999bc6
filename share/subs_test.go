package share

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestOverlapping: two secondaries on a/# and a/+ each get a message
// once; a third shares a/#; the upstream subscription of a/# stays while
// one of them holds it and goes with the last.
func TestOverlapping(t *testing.T) {
	b := brokertest.Mosquitto(t)
	srv, path, up := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	s1, s2, s3 := secondary(t, path, mqtt.Config{}), secondary(t, path, mqtt.Config{}), secondary(t, path, mqtt.Config{})
	in1, in2, in3 := newInbox(), newInbox(), newInbox()
	for _, x := range []struct {
		s      *Secondary
		in     inbox
		filter string
	}{{s1, in1, "a/#"}, {s2, in2, "a/+"}, {s3, in3, "a/#"}} {
		res, err := x.s.Subscribe(ctxT(t), x.in.handler, mqtt.Subscription{Filter: x.filter, QoS: 1})
		if err != nil || res[0].Code != 1 {
			t.Fatalf("subscribe %s: %v %v", x.filter, res, err)
		}
	}
	if n := srv.holders("", "a/#"); n != 2 {
		t.Fatalf("a/# holders %d, want 2", n)
	}
	pub := func(topic string) {
		t.Helper()
		if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte(topic), QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	pub("a/x")
	for i, in := range []inbox{in1, in2, in3} {
		if m := in.next(t, 5*time.Second); m.Topic != "a/x" {
			t.Errorf("secondary %d got %s", i+1, m.Topic)
		}
		in.none(t, 50*time.Millisecond)
	}

	if _, err := s1.Unsubscribe(ctxT(t), "a/#"); err != nil {
		t.Fatal(err)
	}
	pub("a/y/z") // a/# only
	if m := in3.next(t, 5*time.Second); m.Topic != "a/y/z" {
		t.Errorf("secondary 3 got %s", m.Topic)
	}
	in1.none(t, 50*time.Millisecond)
	in2.none(t, 0)

	if _, err := s3.Unsubscribe(ctxT(t), "a/#"); err != nil {
		t.Fatal(err)
	}
	if n := srv.holders("", "a/#"); n != 0 {
		t.Fatalf("a/# holders %d, want 0", n)
	}
	// Gone at the broker: nothing reaches the primary's client.
	before := up.Stats().Received
	pub("a/y/z")
	pub("a/w") // a/+ still held by secondary 2
	in2.next(t, 5*time.Second)
	if got := up.Stats().Received - before; got != 1 {
		t.Errorf("upstream received %d messages, want 1 (a/# unsubscribed at the broker)", got)
	}
	in1.none(t, 0)
	in3.none(t, 0)
}

// TestEvents cuts the primary's connection: every secondary that
// registered sees disconnected, connecting and connected, and the primary
// reconnects once for all.
func TestEvents(t *testing.T) {
	b := brokertest.Mosquitto(t)
	proxy := faultproxyNew(t, b.URL)
	_, path, up := primary(t, proxy.URL(), Options{})
	type rec struct{ ch chan mqtt.Event }
	var recs []rec
	for i := 0; i < 2; i++ {
		s := secondary(t, path, mqtt.Config{})
		r := rec{make(chan mqtt.Event, 100)}
		s.Notify(func(e mqtt.Event) { r.ch <- e })
		recs = append(recs, r)
	}
	proxy.Cut()
	for i, r := range recs {
		var kinds []mqtt.EventKind
		for len(kinds) == 0 || kinds[len(kinds)-1] != mqtt.EventConnected {
			select {
			case e := <-r.ch:
				kinds = append(kinds, e.Kind)
				if e.Kind == mqtt.EventDisconnected && !errorsIs(e.Err, mqtt.ErrConnectionLost) {
					t.Errorf("secondary %d: disconnected with %v, want ErrConnectionLost", i, e.Err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("secondary %d: events %v, no connected", i, kinds)
			}
		}
		if kinds[0] != mqtt.EventDisconnected || kinds[1] != mqtt.EventConnecting {
			t.Errorf("secondary %d: events %v", i, kinds)
		}
	}
	if n := up.Stats().Reconnects; n != 1 {
		t.Errorf("upstream reconnected %d times, want 1", n)
	}
}

// TestKilledSecondary kills a secondary process with SIGKILL while
// messages flow: the other secondary gets every message, and the killed
// one's subscription is released.
func TestKilledSecondary(t *testing.T) {
	b := brokertest.Mosquitto(t)
	srv, path, _ := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "k/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	cmd, lines := startChild(t, path, "k/#")
	if n := srv.holders("", "k/#"); n != 2 {
		t.Fatalf("holders %d, want 2", n)
	}
	const total = 200
	for i := 0; i < total; i++ {
		obs.PublishAsync(&mqtt.Message{Topic: "k/x", Payload: []byte(strconv.Itoa(i)), QoS: 1})
		if i == 20 {
			select { // the child is receiving
			case l := <-lines:
				t.Logf("child: %s", l)
			case <-time.After(5 * time.Second):
				t.Fatalf("child received nothing; up %+v", srv.Secondaries())
			}
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	for i := 0; i < total; i++ {
		if m := in.next(t, 5*time.Second); string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
	}
	eventually(t, "the killed secondary's subscription released", func() bool { return srv.holders("", "k/#") == 1 })
	eventually(t, "one secondary left", func() bool { return len(srv.Secondaries()) == 1 })
}
