package share

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// EventsTopic is the reserved topic on which the primary publishes the
// events of a secondary's upstream connection, as JSON (see EventJSON).
// Subscriptions to filters under "$tern/" are served by the primary
// itself and never sent upstream.
const EventsTopic = "$tern/events"

// upstream is one named broker connection of a Server and its table of
// shared subscriptions.
type upstream struct {
	name string
	c    *mqtt.Client
	srv  *Server
	stop func() // deregisters the Notify callback

	mu     sync.Mutex // guards subs, events and last
	subs   map[string]*entry
	events map[*session]string // secondaries holding a $tern/ filter -> the filter
	last   []byte              // the EventsTopic payload of the latest event; nil before the first
}

// entry is one upstream subscription, shared by the secondaries that hold
// its filter: the first makes it, the last removes it.
type entry struct {
	filter string
	sem    chan struct{} // one upstream SUBSCRIBE or UNSUBSCRIBE at a time for this filter

	// guarded by upstream.mu:
	refs    map[*session]packet.QoS // holders and the QoS each asked for
	waiters int                     // goroutines about to take sem
	active  bool                    // subscribed upstream
	upQoS   packet.QoS              // the QoS asked of the broker
	granted packet.ReasonCode       // what the broker granted
}

// opTimeout bounds an upstream SUBSCRIBE or UNSUBSCRIBE made for a
// secondary (they wait while the upstream client reconnects).
const opTimeout = 30 * time.Second

// subscribe adds s as a holder of sub.Filter, subscribing upstream when s
// is the first or asks for a higher QoS than the broker was asked for, and
// returns the code for s's SUBACK: the granted QoS (at most what s asked
// for) or the broker's refusal.
func (u *upstream) subscribe(s *session, sub packet.Subscription) packet.ReasonCode {
	if err := topic.CheckFilter(sub.Filter); err != nil {
		return packet.ReasonTopicFilterInvalid
	}
	if strings.HasPrefix(sub.Filter, "$tern/") {
		u.mu.Lock()
		u.events[s] = sub.Filter
		u.mu.Unlock()
		return packet.ReasonCode(min(sub.QoS, 1))
	}
	u.mu.Lock()
	e := u.subs[sub.Filter]
	if e == nil {
		e = &entry{filter: sub.Filter, sem: make(chan struct{}, 1), refs: map[*session]packet.QoS{}}
		u.subs[sub.Filter] = e
	}
	e.waiters++
	u.mu.Unlock()

	e.sem <- struct{}{}
	defer func() { <-e.sem }()

	u.mu.Lock()
	e.waiters--
	old, had := e.refs[s]
	// The holder is in place before the SUBSCRIBE, so that the retained
	// messages the broker sends right after it reach s.
	e.refs[s] = sub.QoS
	want := packet.QoS(0)
	for _, q := range e.refs {
		want = max(want, q)
	}
	if e.active && want <= e.upQoS {
		code := e.granted
		u.mu.Unlock()
		return packet.ReasonCode(min(sub.QoS, packet.QoS(code)))
	}
	u.mu.Unlock()

	ctx, cancel := context.WithTimeout(u.srv.ctx, opTimeout)
	res, err := u.c.SubscribeWith(ctx, func(m *mqtt.Message) { u.deliver(e, m) },
		packet.Subscribe{Subscriptions: []packet.Subscription{{Filter: sub.Filter, QoS: want}}})
	cancel()
	code := packet.ReasonUnspecifiedError
	if len(res) == 1 {
		code = res[0].Code
	} else if err != nil {
		code = errorCode(err)
		u.srv.log.Warn("share: upstream subscribe failed", "connection", u.name, "filter", sub.Filter, "err", err)
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	if code.IsError() {
		if had {
			e.refs[s] = old
		} else {
			delete(e.refs, s)
		}
		u.maybeDelete(e)
		return code
	}
	e.active, e.upQoS, e.granted = true, want, code
	return packet.ReasonCode(min(sub.QoS, packet.QoS(code)))
}

// release removes s as a holder of filter, and the upstream subscription
// with the last holder. It reports whether s held filter.
func (u *upstream) release(s *session, filter string) bool {
	u.mu.Lock()
	if _, ok := u.events[s]; ok && u.events[s] == filter {
		delete(u.events, s)
		u.mu.Unlock()
		return true
	}
	e := u.subs[filter]
	if e == nil {
		u.mu.Unlock()
		return false
	}
	if _, ok := e.refs[s]; !ok {
		u.mu.Unlock()
		return false
	}
	e.waiters++
	u.mu.Unlock()

	e.sem <- struct{}{}
	defer func() { <-e.sem }()

	u.mu.Lock()
	e.waiters--
	delete(e.refs, s)
	last := len(e.refs) == 0 && e.active
	u.mu.Unlock()
	if last {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(u.srv.ctx), opTimeout)
		_, err := u.c.Unsubscribe(ctx, filter)
		cancel()
		if err != nil {
			u.srv.log.Warn("share: upstream unsubscribe failed", "connection", u.name, "filter", filter, "err", err)
		}
		u.mu.Lock()
		if len(e.refs) == 0 {
			// Even after a failure: a later holder subscribes anew,
			// which replaces whatever the broker still has.
			e.active = false
		}
		u.mu.Unlock()
	}
	u.mu.Lock()
	u.maybeDelete(e)
	u.mu.Unlock()
	return true
}

// maybeDelete forgets e when nothing holds or waits for it; u.mu is held.
func (u *upstream) maybeDelete(e *entry) {
	if len(e.refs) == 0 && e.waiters == 0 && !e.active && u.subs[e.filter] == e {
		delete(u.subs, e.filter)
	}
}

// deliver is the upstream handler of e: it offers m to every holder at
// the lower of m's QoS and the holder's, without ever blocking.
func (u *upstream) deliver(e *entry, m *mqtt.Message) {
	type target struct {
		s *session
		q packet.QoS
	}
	u.mu.Lock()
	ts := make([]target, 0, len(e.refs))
	for s, q := range e.refs {
		ts = append(ts, target{s, q})
	}
	u.mu.Unlock()
	for _, t := range ts {
		t.s.deliver(m, min(m.QoS, t.q))
	}
}

// holders returns how many secondaries hold filter (for tests and stats).
func (u *upstream) holders(filter string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if e := u.subs[filter]; e != nil {
		return len(e.refs)
	}
	return 0
}

// errorCode is the reason code that stands for err in an ack to a
// secondary.
func errorCode(err error) packet.ReasonCode {
	var rc *mqtt.ReasonCodeError
	switch {
	case errors.As(err, &rc):
		return rc.Code
	case errors.Is(err, mqtt.ErrQueueFull):
		return packet.ReasonQuotaExceeded
	case errors.Is(err, mqtt.ErrLimit):
		return packet.ReasonImplementationSpecificError
	}
	return packet.ReasonUnspecifiedError
}
