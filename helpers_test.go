package mqtt

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// noLeaks fails the test if any of the client's goroutines (connection,
// dispatcher) outlive it. It polls: a dispatcher exits on its own shortly
// after Close.
func noLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var leaked []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "github.com/ternmq/mqtt.(*conn)") || strings.Contains(g, "github.com/ternmq/mqtt.(*dispatcher)") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines of the client outlived it:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a client and closes it when the test ends.
func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := Dial(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", cfg.Broker, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// inbox collects received messages.
type inbox chan *Message

func newInbox() inbox { return make(inbox, 10000) }

func (in inbox) handler(m *Message) { in <- m }

// next returns the next message, failing the test after a while.
func (in inbox) next(t *testing.T) *Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived")
	}
	return nil
}

var versions = []packet.Version{packet.V311, packet.V5}
