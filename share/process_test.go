package share

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestChildPublishers: three secondary processes publish at QoS 0, 1 and
// 2 through one primary; an observer on the broker gets every QoS 1 and 2
// message, and each QoS 2 message once.
func TestChildPublishers(t *testing.T) {
	b := brokertest.Mosquitto(t)
	_, path, up := primary(t, b.URL, Options{})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	var mu sync.Mutex
	got := map[string]int{}
	if _, err := obs.Subscribe(ctxT(t), func(m *mqtt.Message) {
		mu.Lock()
		got[string(m.Payload)]++
		mu.Unlock()
	}, mqtt.Subscription{Filter: "cp/#", QoS: 2}); err != nil {
		t.Fatal(err)
	}
	const children = 3
	var outs []<-chan string
	for c := 0; c < children; c++ {
		_, lines := startProc(t, path, "TERN_SHARE_ROLE=publisher", fmt.Sprintf("TERN_SHARE_PREFIX=cp/%d", c))
		outs = append(outs, lines)
	}
	for c, lines := range outs {
		select {
		case l := <-lines:
			if l != "done" {
				t.Fatalf("child %d: %s", c, l)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("child %d did not finish", c)
		}
	}
	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var miss []string
		for c := 0; c < children; c++ {
			for qos := 1; qos <= 2; qos++ {
				for i := 0; i < childCount; i++ {
					if p := fmt.Sprintf("cp/%d/%d/%d", c, qos, i); got[p] == 0 {
						miss = append(miss, p)
					}
				}
			}
		}
		return miss
	}
	for end := time.Now().Add(5 * time.Second); len(missing()) > 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d QoS 1/2 messages never reached the observer: %v", len(m), m)
	}
	time.Sleep(200 * time.Millisecond) // room for a duplicate
	mu.Lock()
	defer mu.Unlock()
	qos0 := 0
	for p, n := range got {
		switch {
		case strings.HasPrefix(p[5:], "2/") && n != 1:
			t.Errorf("QoS 2 message %s arrived %d times", p, n)
		case strings.HasPrefix(p[5:], "0/"):
			qos0++
		}
	}
	t.Logf("QoS 0: %d of %d arrived; upstream %+v", qos0, children*childCount, up.Stats())
}

// TestPrimaryProcessKilled: the primary is a process of its own, killed
// with SIGKILL while a secondary publishes at QoS 1, and started again on
// the same socket. The secondary reconnects and subscribes again, and
// every message whose Publish returned nil reaches the observer.
func TestPrimaryProcessKilled(t *testing.T) {
	b := brokertest.Mosquitto(t)
	path := sockPath(t)
	cmd, _ := startProc(t, path, "TERN_SHARE_ROLE=primary", "TERN_SHARE_BROKER="+b.URL)
	obs := dialBroker(t, b.URL, mqtt.Config{})
	var mu sync.Mutex
	seen := map[string]bool{}
	if _, err := obs.Subscribe(ctxT(t), func(m *mqtt.Message) {
		mu.Lock()
		seen[string(m.Payload)] = true
		mu.Unlock()
	}, mqtt.Subscription{Filter: "pk/out", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "pk/in", QoS: 1}); err != nil {
		t.Fatal(err)
	}

	var acked []string
	failed := 0
	publish := func(i int) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		p := fmt.Sprint(i)
		if err := s.Publish(ctx, &mqtt.Message{Topic: "pk/out", Payload: []byte(p), QoS: 1}); err != nil {
			failed++
			return
		}
		acked = append(acked, p)
	}
	i := 0
	for ; i < 50; i++ {
		publish(i)
	}
	// Kill it with publishes in flight, from another goroutine.
	go func() {
		time.Sleep(5 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
	}()
	for f := failed; failed < f+3 && i < 1000; i++ {
		publish(i)
	}
	cmd.Wait()
	startProc(t, path, "TERN_SHARE_ROLE=primary", "TERN_SHARE_BROKER="+b.URL)
	for before := len(acked); len(acked) < before+50 && i < 1000; i++ {
		publish(i)
	}
	t.Logf("%d publishes accepted, %d failed", len(acked), failed)

	eventually(t, "every accepted message at the observer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range acked {
			if !seen[p] {
				return false
			}
		}
		return true
	})
	// The subscription is back: the observer's messages reach the
	// secondary once the new primary has subscribed again.
	eventually(t, "the subscription restored", func() bool {
		obs.Publish(ctxT(t), &mqtt.Message{Topic: "pk/in", Payload: []byte("x"), QoS: 1})
		select {
		case <-in:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})
}
