package mqtt

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/faultproxy"
)

// TestNotify: functions registered with Notify after Dial get the events
// OnEvent gets, in the same order, after it; a deregistered one gets no
// more.
func TestNotify(t *testing.T) {
	noLeaks(t)
	b := brokertest.Mochi(t)
	px := faultproxy.New(t, strings.TrimPrefix(b.URL, "mqtt://"))
	var mu sync.Mutex
	var order []string
	record := func(who string) func(Event) {
		return func(e Event) {
			mu.Lock()
			order = append(order, who+":"+e.Kind.String())
			mu.Unlock()
		}
	}
	ev := newEvents()
	c := dial(t, Config{Broker: px.URL(), Reconnect: true, Backoff: fastBackoff, OnEvent: func(e Event) {
		record("cfg")(e)
		ev.on(e)
	}})
	ev.waitFor(t, EventConnected) // Dial's, delivered before the Notify calls
	stopA := c.Notify(record("a"))
	stopB := c.Notify(record("b"))
	// Registered last, it runs after a and b for each event: once it has
	// seen a connection, so have they.
	connected := make(chan struct{}, 10)
	c.Notify(func(e Event) {
		if e.Kind == EventConnected {
			connected <- struct{}{}
		}
	})
	next := func() {
		t.Helper()
		px.Cut()
		select {
		case <-connected:
		case <-time.After(10 * time.Second):
			t.Fatal("no reconnection")
		}
	}
	next()
	stopA()
	stopA() // twice is harmless
	next()
	stopB()
	next()
	mu.Lock()
	got := strings.Join(order, " ")
	mu.Unlock()
	want := "cfg:connected cfg:disconnected a:disconnected b:disconnected cfg:connecting a:connecting b:connecting cfg:connected a:connected b:connected " +
		"cfg:disconnected b:disconnected cfg:connecting b:connecting cfg:connected b:connected " +
		"cfg:disconnected cfg:connecting cfg:connected"
	if got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
}
