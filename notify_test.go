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
	px.Cut()
	ev.waitFor(t, EventConnected)
	stopA()
	stopA() // twice is harmless
	px.Cut()
	ev.waitFor(t, EventConnected)
	stopB()
	time.Sleep(10 * time.Millisecond) // the dispatcher has run the last event's callbacks
	mu.Lock()
	got := strings.Join(order, " ")
	mu.Unlock()
	want := "cfg:connected cfg:disconnected a:disconnected b:disconnected cfg:connecting a:connecting b:connecting cfg:connected a:connected b:connected " +
		"cfg:disconnected b:disconnected cfg:connecting b:connecting cfg:connected b:connected"
	if got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
}
