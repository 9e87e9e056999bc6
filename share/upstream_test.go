package share

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// TestBrokerRestart: Mosquitto stops and starts again; the primary
// reconnects once for its three secondaries, which keep publishing and
// receiving on their subscriptions.
func TestBrokerRestart(t *testing.T) {
	b := brokertest.MosquittoPersistent(t)
	// Counted from Dial on: a Notify registered after Dial may or may not
	// see the first connection's event, still on its way to the
	// dispatcher.
	var connected atomic.Int32
	up := dialBroker(t, b.URL, mqtt.Config{Reconnect: true, Backoff: fastBackoff, OnEvent: func(e mqtt.Event) {
		if e.Kind == mqtt.EventConnected {
			connected.Add(1)
		}
	}})
	_, path := serve(t, map[string]*mqtt.Client{"main": up})
	var ss []*Secondary
	var ins []inbox
	for i := 0; i < 3; i++ {
		s := secondary(t, path, mqtt.Config{})
		in := newInbox()
		if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: fmt.Sprintf("br/%d", i), QoS: 1}); err != nil {
			t.Fatal(err)
		}
		ss, ins = append(ss, s), append(ins, in)
	}
	if err := b.Terminate(); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "upstream connected again", func() bool { return connected.Load() >= 2 })
	time.Sleep(200 * time.Millisecond) // room for a second, wrong, reconnection
	if n, r := connected.Load(), up.Stats().Reconnects; n != 2 || r != 1 {
		t.Errorf("upstream connected %d times, Reconnects %d; want 2 (Dial, then once again) and 1", n, r)
	}
	for i, s := range ss {
		// Each secondary publishes to the next one's topic.
		topic := fmt.Sprintf("br/%d", (i+1)%len(ss))
		if err := s.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte(topic), QoS: 1}); err != nil {
			t.Fatalf("secondary %d: %v", i, err)
		}
	}
	for i, in := range ins {
		if m := in.next(t, 5*time.Second); m.Topic != fmt.Sprintf("br/%d", i) {
			t.Errorf("secondary %d got %s", i, m.Topic)
		}
	}
	for i, s := range ss {
		if n := s.Local().Stats().Reconnects; n != 0 {
			t.Errorf("secondary %d reconnected %d times to the primary", i, n)
		}
	}
}

// TestResentQoS2: a raw secondary sends a QoS 2 PUBLISH, then the same
// again with DUP before and after its PUBREC; the broker gets it once.
func TestResentQoS2(t *testing.T) {
	b := brokertest.Mosquitto(t)
	_, path, _ := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	in := newInbox()
	if _, err := obs.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "dup/#", QoS: 2}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []packet.Version{packet.V5, packet.V311} {
		nc, r, _ := rawConnect(t, path, "", v)
		send := func(p packet.Packet) {
			t.Helper()
			b, err := p.Append(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			nc.Write(b)
		}
		pub := &packet.Publish{Topic: fmt.Sprintf("dup/%d", v), Payload: []byte("once"), QoS: 2, PacketID: 7}
		send(pub)
		dup := *pub
		dup.Dup = true
		send(&dup)
		// Two PUBRECs at most (one per PUBLISH), at least one.
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, err := r.ReadPacket(v)
		if rec, ok := p.(*packet.Pubrec); !ok || rec.PacketID != 7 {
			t.Fatalf("v%d: %v %v, want PUBREC 7", v, p, err)
		}
		send(&dup) // after PUBREC: answered with PUBREC again
		send(&packet.Pubrel{PacketID: 7})
		for {
			p, err := r.ReadPacket(v)
			if err != nil {
				t.Fatalf("v%d: %v", v, err)
			}
			if c, ok := p.(*packet.Pubcomp); ok && c.PacketID == 7 {
				break
			}
			if rec, ok := p.(*packet.Pubrec); !ok || rec.PacketID != 7 {
				t.Fatalf("v%d: %v, want PUBREC or PUBCOMP 7", v, p)
			}
		}
		if m := in.next(t, 5*time.Second); m.Topic != pub.Topic || m.QoS != 2 {
			t.Errorf("v%d: observer got %s QoS %d", v, m.Topic, m.QoS)
		}
		in.none(t, 300*time.Millisecond)
	}
}

// TestHigherQoS: a secondary subscribed at QoS 0 gets messages at QoS 0;
// a second one asks QoS 2 on the same filter, the Server subscribes again
// upstream with it, and then messages come at QoS 2 to the second and
// still at QoS 0 to the first.
func TestHigherQoS(t *testing.T) {
	b := brokertest.Mosquitto(t)
	srv, path, _ := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	s1, s2 := secondary(t, path, mqtt.Config{}), secondary(t, path, mqtt.Config{})
	in1, in2 := newInbox(), newInbox()
	if res, err := s1.Subscribe(ctxT(t), in1.handler, mqtt.Subscription{Filter: "hq/#", QoS: 0}); err != nil || res[0].Code != 0 {
		t.Fatal(res, err)
	}
	pub := func() {
		t.Helper()
		if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: "hq/x", Payload: []byte("x"), QoS: 2}); err != nil {
			t.Fatal(err)
		}
	}
	pub()
	if m := in1.next(t, 5*time.Second); m.QoS != 0 {
		t.Errorf("first secondary alone: QoS %d, want 0", m.QoS)
	}
	if res, err := s2.Subscribe(ctxT(t), in2.handler, mqtt.Subscription{Filter: "hq/#", QoS: 2}); err != nil || res[0].Code != 2 {
		t.Fatalf("second secondary's SUBACK %v %v, want QoS 2 granted", res, err)
	}
	if n := srv.holders("", "hq/#"); n != 2 {
		t.Fatalf("holders %d, want 2", n)
	}
	pub()
	if m := in2.next(t, 5*time.Second); m.QoS != 2 {
		t.Errorf("second secondary: QoS %d, want 2 (subscribed again upstream)", m.QoS)
	}
	if m := in1.next(t, 5*time.Second); m.QoS != 0 {
		t.Errorf("first secondary: QoS %d, want 0", m.QoS)
	}
	in1.none(t, 100*time.Millisecond)
	in2.none(t, 0)
}

// TestNamedConnections: one Server with two upstream connections, a 3.1.1
// client to Mosquitto named "m" and a 5.0 client to Mochi named "k";
// secondaries pick one by name and publish, subscribe and get events of
// theirs alone.
func TestNamedConnections(t *testing.T) {
	bm, bk := brokertest.Mosquitto(t), brokertest.Mochi(t)
	upM := dialBroker(t, bm.URL, mqtt.Config{Version: packet.V311, Reconnect: true, Backoff: fastBackoff})
	upK := dialBroker(t, bk.URL, mqtt.Config{Reconnect: true, Backoff: fastBackoff})
	srv, path := serve(t, map[string]*mqtt.Client{"m": upM, "k": upK})

	obsM, obsK := dialBroker(t, bm.URL, mqtt.Config{}), dialBroker(t, bk.URL, mqtt.Config{})
	for _, c := range []struct {
		name       string
		obs, other *mqtt.Client
		up         *mqtt.Client
	}{{"m", obsM, obsK, upM}, {"k", obsK, obsM, upK}, {"", obsK, obsM, upK}} { // "" is the first by name: k
		s, err := Dial(ctxT(t), path, c.name, mqtt.Config{Backoff: fastBackoff})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		inObs, inOther, inS := newInbox(), newInbox(), newInbox()
		topic := "nc/" + c.name
		for _, x := range []struct {
			cl *mqtt.Client
			in inbox
		}{{c.obs, inObs}, {c.other, inOther}} {
			if _, err := x.cl.Subscribe(ctxT(t), x.in.handler, mqtt.Subscription{Filter: topic, QoS: 2}); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := s.Subscribe(ctxT(t), inS.handler, mqtt.Subscription{Filter: topic + "/back", QoS: 2}); err != nil || res[0].Code != 2 {
			t.Fatalf("%q: subscribe %v %v", c.name, res, err)
		}
		for qos := mqtt.QoS(0); qos <= 2; qos++ {
			if err := s.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte{byte('0' + qos)}, QoS: qos}); err != nil {
				t.Fatalf("%q QoS %d: %v", c.name, qos, err)
			}
			if m := inObs.next(t, 5*time.Second); m.QoS != qos {
				t.Errorf("%q: observer got QoS %d, want %d", c.name, m.QoS, qos)
			}
		}
		inOther.none(t, 100*time.Millisecond)
		if err := c.obs.Publish(ctxT(t), &mqtt.Message{Topic: topic + "/back", Payload: []byte("b"), QoS: 2}); err != nil {
			t.Fatal(err)
		}
		if m := inS.next(t, 5*time.Second); m.Topic != topic+"/back" || m.QoS != 2 {
			t.Errorf("%q: secondary got %s QoS %d", c.name, m.Topic, m.QoS)
		}
		if n := srv.holders(c.name, topic+"/back"); n != 1 {
			t.Errorf("%q: holders %d", c.name, n)
		}
	}
	if v := upM.Negotiated().Version; v != packet.V311 {
		t.Errorf("upstream m speaks %d", v)
	}
}

// serve starts a Server for conns on a fresh socket.
func serve(t *testing.T, conns map[string]*mqtt.Client) (*Server, string) {
	t.Helper()
	srv, err := NewServer(Options{Logger: testLogger(t)}, conns)
	if err != nil {
		t.Fatal(err)
	}
	path := sockPath(t)
	if err := srv.Listen(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, path
}
