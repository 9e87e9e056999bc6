package share

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// Secondary is a program's handle on a connection a primary (a Server)
// shares: the same calls, with the same meaning, as an *mqtt.Client (see
// Conn). Publish at QoS 1 or 2 returns when the broker has acknowledged
// the message to the primary; Subscribe returns the broker's result for
// each filter; Notify reports the events of the primary's connection to
// the broker.
//
// Underneath it is an *mqtt.Client connected to the primary's socket
// (see Local), which reconnects on its own when the primary restarts and
// subscribes again to what it had subscribed to.
type Secondary struct {
	c *mqtt.Client

	mu    sync.Mutex // guards fns, next, last and known
	fns   map[uint64]func(mqtt.Event)
	next  uint64
	last  mqtt.Event    // the latest upstream event heard of
	known chan struct{} // closed when the first one comes
}

// Dial connects to the primary listening on the unix socket path and
// returns the handle of its connection called name (the primary's default
// connection if name is empty). cfg configures the local client as for
// mqtt.Dial, except that Broker is unix://path, Username is name and
// Reconnect is always on: a Secondary keeps trying to reach its primary
// until Close or Disconnect. ctx bounds the first connection.
func Dial(ctx context.Context, path, name string, cfg mqtt.Config) (*Secondary, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("share: %w", err)
	}
	s := &Secondary{fns: map[uint64]func(mqtt.Event){}, known: make(chan struct{})}
	cfg.Broker = "unix://" + abs
	cfg.Servers = nil
	cfg.Username = name
	cfg.Reconnect = true
	c, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.c = c
	if _, err := c.Subscribe(ctx, s.onEvent, mqtt.Subscription{Filter: EventsTopic, QoS: 1}); err != nil {
		c.Close()
		return nil, fmt.Errorf("share: subscribing to %s: %w", EventsTopic, err)
	}
	// The primary answers the subscription with the upstream's state:
	// wait for it (a little), so that Upstream knows it on return.
	wait := time.NewTimer(stateWait)
	defer wait.Stop()
	select {
	case <-s.known:
	case <-ctx.Done():
	case <-wait.C:
	}
	return s, nil
}

// onEvent turns the primary's event messages into calls of the Notify
// callbacks, in the order they were registered.
func (s *Secondary) onEvent(m *mqtt.Message) {
	e, ok := decodeEvent(m.Payload)
	if !ok {
		return
	}
	s.mu.Lock()
	s.last = e
	select {
	case <-s.known:
	default:
		close(s.known)
	}
	ids := make([]uint64, 0, len(s.fns))
	for id := range s.fns {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	fns := make([]func(mqtt.Event), len(ids))
	for i, id := range ids {
		fns[i] = s.fns[id]
	}
	s.mu.Unlock()
	for _, f := range fns {
		f(e)
	}
}

// stateWait bounds how long Dial waits for the upstream's state.
const stateWait = 2 * time.Second

// Upstream returns the latest event of the primary's connection to the
// broker that s has heard of, and false before the first. The primary
// tells a secondary the current state as soon as it subscribes to
// EventsTopic, which Dial does (and waits for the answer) and the local
// client does again after each reconnection to the primary: a program
// can ask whether the broker is reachable without waiting for a change.
func (s *Secondary) Upstream() (mqtt.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.last.Kind != 0
}

// Notify registers f to receive the events of the primary's connection
// to the broker (not of the local connection to the primary: see Local),
// on the local client's dispatcher goroutine, in order with message
// deliveries. After a reconnection to the primary, f gets the upstream's
// current state again (usually EventConnected, with no change upstream).
// Event.Err wraps the sentinel error the primary's event did
// (ErrConnectionLost, ...) and carries its text; Event.Negotiated, on
// EventConnected, holds SessionPresent only. It returns the function that
// deregisters f.
func (s *Secondary) Notify(f func(mqtt.Event)) (stop func()) {
	s.mu.Lock()
	s.next++
	id := s.next
	s.fns[id] = f
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.fns, id)
		s.mu.Unlock()
	}
}

// Local returns the client connected to the primary: its State, Stats and
// Notify are those of the local connection.
func (s *Secondary) Local() *mqtt.Client { return s.c }

// Publish publishes m through the primary; see mqtt.Client.Publish.
func (s *Secondary) Publish(ctx context.Context, m *mqtt.Message) error { return s.c.Publish(ctx, m) }

// PublishAsync starts publishing m through the primary; see
// mqtt.Client.PublishAsync.
func (s *Secondary) PublishAsync(m *mqtt.Message) *mqtt.Completion { return s.c.PublishAsync(m) }

// Subscribe subscribes through the primary; see mqtt.Client.Subscribe.
// The results are the broker's, for subscriptions the primary shares
// between secondaries as well.
func (s *Secondary) Subscribe(ctx context.Context, h mqtt.Handler, subs ...mqtt.Subscription) ([]mqtt.SubResult, error) {
	return s.c.Subscribe(ctx, h, subs...)
}

// SubscribeWith is Subscribe with the fields of the SUBSCRIBE; the primary
// takes no Subscription Identifiers.
func (s *Secondary) SubscribeWith(ctx context.Context, h mqtt.Handler, p packet.Subscribe) ([]mqtt.SubResult, error) {
	return s.c.SubscribeWith(ctx, h, p)
}

// Unsubscribe unsubscribes through the primary; see
// mqtt.Client.Unsubscribe.
func (s *Secondary) Unsubscribe(ctx context.Context, filters ...string) ([]mqtt.SubResult, error) {
	return s.c.Unsubscribe(ctx, filters...)
}

// Disconnect ends the connection to the primary gracefully, releasing
// its subscriptions there. The primary's connection to the broker stays.
func (s *Secondary) Disconnect(ctx context.Context) error { return s.c.Disconnect(ctx) }

// Close closes the connection to the primary at once.
func (s *Secondary) Close() error { return s.c.Close() }
