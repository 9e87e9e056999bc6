package mqtt

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// Subscribe subscribes to one or more topic filters in one SUBSCRIBE and
// waits for the SUBACK. Messages matching the filters go to h (if h is nil,
// to Config.DefaultHandler). It returns the broker's result for every
// filter, in order; if the broker refused any, the error is a
// *SubscribeError and the accepted filters stay subscribed.
//
// The filters are checked before sending: their syntax (a $share/ filter
// included), and the wildcard and shared subscriptions the broker lacks.
// Handlers are in place before the SUBSCRIBE is sent, so that retained
// messages sent right after SUBACK find them.
func (c *Client) Subscribe(ctx context.Context, h Handler, subs ...Subscription) ([]SubResult, error) {
	if len(subs) == 0 {
		return nil, errors.New("mqtt: Subscribe without filters")
	}
	cur, err := c.current()
	if err != nil {
		return nil, err
	}
	neg := &cur.neg
	for _, s := range subs {
		if err := topic.CheckFilter(s.Filter); err != nil {
			return nil, err
		}
		_, inner, shared := topic.SplitShared(s.Filter)
		if !shared {
			inner = s.Filter
		}
		switch {
		case shared && !neg.SharedSubAvailable:
			return nil, fmt.Errorf("mqtt: the broker does not support shared subscriptions: %s", s.Filter)
		case !neg.WildcardSubAvailable && hasWildcard(inner):
			return nil, fmt.Errorf("mqtt: the broker does not support wildcard subscriptions: %s", s.Filter)
		}
	}
	o := newOp()
	o.subs = subs
	o.handler = h
	cn, err := c.open(ctx, session.Subscribe, o)
	if err != nil {
		return nil, err
	}
	sp := packet.Subscribe{PacketID: o.e.ID, Subscriptions: subs}
	var subID uint32
	if cn.neg.Version == packet.V5 && cn.neg.SubIDAvailable {
		// A Subscription Identifier per Subscribe lets the broker say which
		// subscriptions a message matched (MQTT 5.0 section 3.8.2.1.2), so
		// that a broker sending one copy per overlapping subscription has
		// each copy go to its own handler, once.
		subID = c.newSubID()
		sp.Properties.SubscriptionIDs = []uint32{subID}
	}
	buf, err := c.encode(&sp, cn)
	if err != nil {
		c.mu.Lock()
		c.release(&o.e)
		c.mu.Unlock()
		return nil, err
	}
	for _, s := range subs {
		c.routes.add(s.Filter, h, subID)
	}
	cn.send(outItem{b: buf.b, buf: buf})
	if err := o.wait(ctx); err != nil {
		return o.results, err
	}
	return o.results, nil
}

// Unsubscribe unsubscribes from the topic filters in one UNSUBSCRIBE and
// waits for the UNSUBACK. In MQTT 5.0 it returns the broker's result for
// every filter; if it refused any, the error is a *SubscribeError. The
// filters' handlers are removed when the broker answers.
func (c *Client) Unsubscribe(ctx context.Context, filters ...string) ([]SubResult, error) {
	if len(filters) == 0 {
		return nil, errors.New("mqtt: Unsubscribe without filters")
	}
	for _, f := range filters {
		if err := topic.CheckFilter(f); err != nil {
			return nil, err
		}
	}
	o := newOp()
	o.filters = filters
	cn, err := c.open(ctx, session.Unsubscribe, o)
	if err != nil {
		return nil, err
	}
	buf, err := c.encode(&packet.Unsubscribe{PacketID: o.e.ID, Filters: filters}, cn)
	if err != nil {
		c.mu.Lock()
		c.release(&o.e)
		c.mu.Unlock()
		return nil, err
	}
	cn.send(outItem{b: buf.b, buf: buf})
	if err := o.wait(ctx); err != nil {
		return o.results, err
	}
	return o.results, nil
}

// subscribed records a SUBACK's or UNSUBACK's codes in o and updates the
// routes. c.mu is held.
func (c *Client) subscribed(o *op, kind session.Kind, codes []packet.ReasonCode, props *packet.Properties) error {
	ackType := packet.TypeSuback
	filters := o.filters
	if kind == session.Subscribe {
		filters = make([]string, len(o.subs))
		for i, s := range o.subs {
			filters[i] = s.Filter
		}
	} else {
		ackType = packet.TypeUnsuback
		if codes == nil { // MQTT 3.x UNSUBACK has no codes
			codes = make([]packet.ReasonCode, len(filters))
		}
	}
	if len(codes) != len(filters) {
		return ended(ErrBadPacket, fmt.Errorf("mqtt: %v has %d reason codes for %d filters", ackType, len(codes), len(filters)))
	}
	o.results = make([]SubResult, len(filters))
	refused := false
	for i, f := range filters {
		o.results[i] = SubResult{Filter: f, Code: codes[i]}
		switch {
		case codes[i].IsError():
			refused = true
			if kind == session.Subscribe {
				c.routes.remove(f)
			}
		case kind == session.Unsubscribe:
			c.routes.remove(f)
		}
	}
	if refused {
		return &SubscribeError{Packet: ackType, Results: o.results, ReasonString: props.ReasonString}
	}
	return nil
}

// newSubID returns the next Subscription Identifier.
func (c *Client) newSubID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subID++
	if c.subID > packet.MaxRemainingLength {
		c.subID = 1
	}
	return c.subID
}

func hasWildcard(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] == '+' || f[i] == '#' {
			return true
		}
	}
	return false
}

// router maps topic filters to handlers.
type router struct {
	mu     sync.RWMutex
	routes []route
}

type route struct {
	filter string
	h      Handler
	id     uint32 // the Subscription Identifier it was subscribed with; 0 if none
}

// add sets the handler and identifier of filter, replacing any: a new
// subscription to the same filter replaces the old (MQTT-3.8.4-3).
func (r *router) add(filter string, h Handler, id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.routes {
		if r.routes[i].filter == filter {
			r.routes[i].h, r.routes[i].id = h, id
			return
		}
	}
	r.routes = append(r.routes, route{filter, h, id})
}

func (r *router) remove(filter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.routes {
		if r.routes[i].filter == filter {
			r.routes = append(r.routes[:i], r.routes[i+1:]...)
			return
		}
	}
}

// match appends to hs the handlers a message goes to. A message carrying
// Subscription Identifiers goes to the handler of each Subscribe they
// name, once. Otherwise it goes to the handler of every filter its topic
// matches. A filter subscribed with a nil handler stands for the default
// handler.
func (r *router) match(name string, ids []uint32, def Handler, hs []Handler) []Handler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	add := func(h Handler) {
		if h == nil {
			h = def
		}
		if h != nil {
			hs = append(hs, h)
		}
	}
	n := len(hs)
	for _, id := range ids {
		for _, rt := range r.routes {
			if rt.id == id {
				add(rt.h)
				break
			}
		}
	}
	if len(hs) > n {
		return hs
	}
	for _, rt := range r.routes {
		if topic.Match(rt.filter, name) {
			add(rt.h)
		}
	}
	return hs
}
