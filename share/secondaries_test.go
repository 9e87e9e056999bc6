package share

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestChildOverlapping: five secondary processes on one primary, four on
// overlapping filters (o/# twice, o/+, o/a) and one on a filter that
// matches nothing published (p/#). Every message published on o/a and
// o/b reaches each matching secondary once, and the last one none.
func TestChildOverlapping(t *testing.T) {
	b := brokertest.Mosquitto(t)
	srv, path, up := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	const nA, nB = 60, 15 // messages on o/a and on o/b
	filters := []string{"o/#", "o/+", "o/a", "o/#", "p/#"}
	gets := map[string][]string{"o/#": {"o/a", "o/b"}, "o/+": {"o/a", "o/b"}, "o/a": {"o/a"}}
	agents := make([]*agent, len(filters))
	for i, f := range filters {
		agents[i] = startAgent(t, fmt.Sprintf("secondary %d on %s", i, f), path, false)
		agents[i].sub(t, f)
		// Every secondary holds "end" too: the message published on it
		// last tells it that everything before has arrived (one upstream
		// connection, one queue per secondary, both in order).
		agents[i].sub(t, "end")
	}
	for f, want := range map[string]int{"o/#": 2, "o/+": 1, "o/a": 1, "p/#": 1, "end": len(filters)} {
		if n := srv.holders("", f); n != want {
			t.Errorf("%s: %d holders, want %d", f, n, want)
		}
	}

	pub := func(topic, payload string) {
		t.Helper()
		if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte(payload), QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < nA; i++ {
		pub("o/a", strconv.Itoa(i))
		if i%(nA/nB) == 0 {
			pub("o/b", strconv.Itoa(i))
		}
	}
	pub("end", "end")

	for i, a := range agents {
		got := map[string]int{}
		for {
			l := a.line(t, 10*time.Second)
			if l == "msg end end" {
				break
			}
			if !strings.HasPrefix(l, "msg ") {
				t.Fatalf("%s: %q", a.name, l)
			}
			got[strings.TrimPrefix(l, "msg ")]++
		}
		want := map[string]int{}
		for _, topic := range gets[filters[i]] {
			for j := 0; j < nA; j++ {
				if topic == "o/a" || j%(nA/nB) == 0 {
					want[topic+" "+strconv.Itoa(j)] = 1
				}
			}
		}
		for m, n := range got {
			if want[m] != n {
				t.Errorf("%s: %q arrived %d times, want %d", a.name, m, n, want[m])
			}
		}
		for m := range want {
			if got[m] == 0 {
				t.Errorf("%s: %q never arrived", a.name, m)
			}
		}
		t.Logf("%s: %d messages", a.name, len(got))
	}
	t.Logf("upstream %+v", up.Stats())
}

// subsCount follows the broker's count of subscriptions, which Mosquitto
// publishes on $SYS/broker/subscriptions/count (retained, every
// sys_interval seconds when it changed), through an observer client of
// its own.
type subsCount struct {
	obs   *mqtt.Client
	probe bool // the observer holds the probe filters

	mu sync.Mutex // guards n
	n  int        // the latest count; -1 before the first
}

const sysSubsTopic = "$SYS/broker/subscriptions/count"

// probeFilters are subscribed and unsubscribed together, in one packet,
// by the observer to mark a point in the broker's count (see expect).
var probeFilters = func() []string {
	var fs []string
	for i := 0; i < 10; i++ {
		fs = append(fs, fmt.Sprintf("probe/%d", i))
	}
	return fs
}()

func watchSubs(t *testing.T, url string) *subsCount {
	w := &subsCount{obs: dialBroker(t, url, mqtt.Config{}), n: -1}
	if _, err := w.obs.Subscribe(ctxT(t), func(m *mqtt.Message) {
		n, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			return
		}
		w.mu.Lock()
		w.n = n
		w.mu.Unlock()
	}, mqtt.Subscription{Filter: sysSubsTopic}); err != nil {
		t.Fatal(err)
	}
	return w
}

// expect waits until the broker counts want subscriptions besides the
// observer's. Mosquitto reports the count only when it changed, at its
// next $SYS pass: to know that a count it reports includes everything
// done before expect was called, and is not an older one that happens to
// be equal, the observer first subscribes to (or unsubscribes from) the
// ten probe filters in one packet, and expect waits for the count that
// includes them (any count from before differs from it by about ten).
func (w *subsCount) expect(t *testing.T, want int) {
	t.Helper()
	var err error
	if w.probe {
		_, err = w.obs.Unsubscribe(ctxT(t), probeFilters...)
	} else {
		var subs []mqtt.Subscription
		for _, f := range probeFilters {
			subs = append(subs, mqtt.Subscription{Filter: f})
		}
		_, err = w.obs.Subscribe(ctxT(t), func(*mqtt.Message) {}, subs...)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.probe = !w.probe
	total := 1 + want // the observer's subscription to sysSubsTopic
	if w.probe {
		total += len(probeFilters)
	}
	last := -1
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		w.mu.Lock()
		last = w.n
		w.mu.Unlock()
		if last == total {
			return
		}
	}
	t.Fatalf("the broker counts %d subscriptions, want %d (%d of the secondaries')", last, total, want)
}

// TestBrokerRefCount: secondary processes join and leave shared filters,
// and the broker's own count of subscriptions ($SYS) shows one upstream
// subscription per filter, made by the first holder and removed with the
// last, whether it unsubscribes or is killed with SIGKILL. Mosquitto
// counts at most every two seconds (sys_interval 1 means "more than one
// second since the last pass"), so each count checked costs that much:
// the test checks six.
func TestBrokerRefCount(t *testing.T) {
	b := brokertest.Mosquitto(t, "sys_interval 1")
	srv, path, up := primary(t, b.URL, Options{})
	w := watchSubs(t, b.URL)
	obs := dialBroker(t, b.URL, mqtt.Config{})
	x, y, z := startAgent(t, "x", path, false), startAgent(t, "y", path, false), startAgent(t, "z", path, false)

	x.sub(t, "rc/#") // the first holder subscribes at the broker
	w.expect(t, 1)
	y.sub(t, "rc/#") // the second shares it
	z.sub(t, "rc/+") // another filter is one more
	w.expect(t, 2)
	if n := srv.holders("", "rc/#"); n != 2 {
		t.Fatalf("rc/# holders %d, want 2", n)
	}

	x.do(t, "unsub rc/#") // y still holds it
	w.expect(t, 2)
	// and still gets its messages, once
	if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: "rc/a/b", Payload: []byte("1"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if l := y.line(t, 5*time.Second); l != "msg rc/a/b 1" {
		t.Fatalf("y: %q", l)
	}
	y.do(t, "unsub rc/#") // the last holder leaves
	w.expect(t, 1)
	// Gone at the broker: a message on rc/a/b (which rc/+ does not
	// match) no longer reaches the primary. The next message, on rc/c,
	// which rc/+ matches, comes after it if it does.
	before := up.Stats().Received
	for _, topic := range []string{"rc/a/b", "rc/c"} {
		if err := obs.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte("2"), QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if l := z.line(t, 5*time.Second); l != "msg rc/c 2" {
		t.Fatalf("z: %q", l)
	}
	if n := up.Stats().Received - before; n != 1 {
		t.Errorf("upstream received %d messages, want 1 (rc/# unsubscribed at the broker)", n)
	}

	x.sub(t, "rc/#")
	y.sub(t, "rc/#")
	x.kill() // y still holds rc/#
	eventually(t, "x's subscription released", func() bool { return srv.holders("", "rc/#") == 1 })
	w.expect(t, 2)
	y.kill() // the last holder of rc/#
	eventually(t, "y's subscription released", func() bool { return srv.holders("", "rc/#") == 0 })
	w.expect(t, 1)
	eventually(t, "one secondary left", func() bool { return len(srv.Secondaries()) == 1 })
}

// TestChildEvents cuts the primary's connection to the broker: every
// secondary process that registered with Notify sees disconnected (the
// connection lost), connecting and connected, and the primary reconnects
// once for all.
func TestChildEvents(t *testing.T) {
	b := brokertest.Mosquitto(t)
	proxy := faultproxyNew(t, b.URL)
	_, path, up := primary(t, proxy.URL(), Options{})
	var agents []*agent
	for i := 0; i < 3; i++ {
		agents = append(agents, startAgent(t, fmt.Sprintf("secondary %d", i), path, true))
	}
	proxy.Cut()
	for _, a := range agents {
		var events []string
		for len(events) == 0 || !strings.HasPrefix(events[len(events)-1], "event connected") {
			events = append(events, a.line(t, 5*time.Second))
		}
		want := []string{"event disconnected true", "event connecting false", "event connected false"}
		if strings.Join(events, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s: %q, want %q", a.name, events, want)
		}
	}
	if n := up.Stats().Reconnects; n != 1 {
		t.Errorf("upstream reconnected %d times, want 1", n)
	}
}
