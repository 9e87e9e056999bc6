package mqtt

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
//
// In MQTT 5.0, when the broker supports them, the SUBSCRIBE carries a
// Subscription Identifier the client chooses (see SubscribeWith), so that
// a message matching several subscriptions reaches each Subscribe's
// handler exactly once.
func (c *Client) Subscribe(ctx context.Context, h Handler, subs ...Subscription) ([]SubResult, error) {
	return c.SubscribeWith(ctx, h, packet.Subscribe{Subscriptions: subs})
}

// SubscribeWith is Subscribe with the MQTT 5.0 properties of the
// SUBSCRIBE: p.Subscriptions are the filters, p.Properties.User the User
// Properties, and p.Properties.SubscriptionIDs, if set, the Subscription
// Identifier of one's own choosing (one, 1 to 268,435,455; refused when
// the broker lacks them). p.PacketID is ignored.
//
// Messages are routed by the identifiers they carry: to the handler of
// each Subscribe whose identifier they name (and, among Subscribes sharing
// an identifier, whose filters match the topic), once each; messages
// without identifiers go to every handler whose filter matches. Give each
// Subscribe its own identifier, or let the client choose, for exact
// routing when subscriptions overlap.
func (c *Client) SubscribeWith(ctx context.Context, h Handler, p packet.Subscribe) ([]SubResult, error) {
	subs := p.Subscriptions
	if len(subs) == 0 {
		return nil, errors.New("mqtt: Subscribe without filters")
	}
	neg, err := c.limits()
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if err := topic.CheckFilter(s.Filter); err != nil {
			return nil, err
		}
		if l := c.s.Limits; l != nil {
			if err := l.checkTopic("filter", s.Filter); err != nil {
				return nil, err
			}
			if err := l.checkQoS("subscription", s.QoS); err != nil {
				return nil, err
			}
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
	var subID uint32
	switch ids := p.Properties.SubscriptionIDs; {
	case len(ids) > 1:
		return nil, errors.New("mqtt: a SUBSCRIBE carries one Subscription Identifier (MQTT 5.0 section 3.8.2.1.2)")
	case len(ids) == 1 && (ids[0] == 0 || ids[0] > packet.MaxRemainingLength):
		return nil, fmt.Errorf("mqtt: Subscription Identifier %d is not within 1 to 268,435,455", ids[0])
	case len(ids) == 1 && (neg.Version != packet.V5 || !neg.SubIDAvailable):
		return nil, errors.New("mqtt: the broker does not support Subscription Identifiers (its CONNACK's Subscription Identifiers Available)")
	case len(ids) == 1:
		subID = ids[0]
	}
	sp := packet.Subscribe{Subscriptions: subs}
	if neg.Version == packet.V5 {
		sp.Properties.User = p.Properties.User
		if subID == 0 && neg.SubIDAvailable {
			// A Subscription Identifier per Subscribe lets the broker say
			// which subscriptions a message matched (MQTT 5.0 section
			// 3.8.2.1.2), so that a broker sending one copy per overlapping
			// subscription has each copy go to its own handler, once.
			subID = c.routes.freeID()
		}
		if subID != 0 {
			sp.Properties.SubscriptionIDs = []uint32{subID}
		}
	}
	o := newOp()
	o.e.Kind = session.Subscribe
	o.sub = &sp
	group := c.routes.add(&sp, h, subID)
	if err := c.submit(o); err != nil {
		c.routes.removeGroup(group)
		return nil, err
	}
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
	return c.UnsubscribeWith(ctx, packet.Unsubscribe{Filters: filters})
}

// UnsubscribeWith is Unsubscribe with the MQTT 5.0 properties of the
// UNSUBSCRIBE: p.Filters are the filters, p.Properties.User the User
// Properties (not sent in 3.x). p.PacketID is ignored.
func (c *Client) UnsubscribeWith(ctx context.Context, p packet.Unsubscribe) ([]SubResult, error) {
	filters := p.Filters
	if len(filters) == 0 {
		return nil, errors.New("mqtt: Unsubscribe without filters")
	}
	for _, f := range filters {
		if err := topic.CheckFilter(f); err != nil {
			return nil, err
		}
		if l := c.s.Limits; l != nil {
			if err := l.checkTopic("filter", f); err != nil {
				return nil, err
			}
		}
	}
	up := packet.Unsubscribe{Filters: filters}
	neg, err := c.limits()
	if err != nil {
		return nil, err
	}
	if neg.Version == packet.V5 {
		up.Properties.User = p.Properties.User
	}
	o := newOp()
	o.e.Kind = session.Unsubscribe
	o.unsub = &up
	if err := c.submit(o); err != nil {
		return nil, err
	}
	if err := o.wait(ctx); err != nil {
		return o.results, err
	}
	return o.results, nil
}

// subscribed records a SUBACK's or UNSUBACK's codes in o and updates the
// routes. c.mu is held.
func (c *Client) subscribed(o *op, kind session.Kind, codes []packet.ReasonCode, props *packet.Properties) error {
	ackType := packet.TypeSuback
	var filters []string
	if kind == session.Subscribe {
		filters = make([]string, len(o.sub.Subscriptions))
		for i, s := range o.sub.Subscriptions {
			filters[i] = s.Filter
		}
	} else {
		filters = o.unsub.Filters
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
	mu     sync.RWMutex // guards the fields below
	routes []route
	group  uint64 // the last group given out
	nextID uint32 // the last Subscription Identifier freeID gave out
}

// route is one subscribed filter. The filters of one Subscribe form a
// group: a message naming their identifier reaches their handler once.
type route struct {
	sub   Subscription
	h     Handler
	id    uint32 // the Subscription Identifier it was subscribed with; 0 if none
	group uint64
	user  []packet.UserProperty // the SUBSCRIBE's User Properties, for restoring it
}

// add routes the filters of one Subscribe to h, replacing any route of the
// same filter: a new subscription to a filter replaces the old
// (MQTT-3.8.4-3). It returns the routes' group.
func (r *router) add(sp *packet.Subscribe, h Handler, id uint32) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.group++
next:
	for _, s := range sp.Subscriptions {
		rt := route{s, h, id, r.group, sp.Properties.User}
		for i := range r.routes {
			if r.routes[i].sub.Filter == s.Filter {
				r.routes[i] = rt
				continue next
			}
		}
		r.routes = append(r.routes, rt)
	}
	return r.group
}

// removeGroup removes the routes of group g.
func (r *router) removeGroup(g uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = slices.DeleteFunc(r.routes, func(rt route) bool { return rt.group == g })
}

// resubscribe returns the operations that restore every route's
// subscription, a SUBSCRIBE per group, in the order the groups were made;
// withIDs keeps their Subscription Identifiers.
func (r *router) resubscribe(withIDs bool) []*op {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var ops []*op
	byGroup := map[uint64]*packet.Subscribe{}
	for _, rt := range r.routes {
		sp := byGroup[rt.group]
		if sp == nil {
			sp = &packet.Subscribe{}
			sp.Properties.User = rt.user
			if withIDs && rt.id != 0 {
				sp.Properties.SubscriptionIDs = []uint32{rt.id}
			}
			byGroup[rt.group] = sp
			o := newOp()
			o.e.Kind = session.Subscribe
			o.sub = sp
			ops = append(ops, o)
		}
		sp.Subscriptions = append(sp.Subscriptions, rt.sub)
	}
	return ops
}

func (r *router) remove(filter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.routes {
		if r.routes[i].sub.Filter == filter {
			r.routes = append(r.routes[:i], r.routes[i+1:]...)
			return
		}
	}
}

// freeID returns a Subscription Identifier no route uses.
func (r *router) freeID() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		r.nextID++
		if r.nextID > packet.MaxRemainingLength {
			r.nextID = 1
		}
		used := false
		for i := range r.routes {
			if r.routes[i].id == r.nextID {
				used = true
				break
			}
		}
		if !used {
			return r.nextID
		}
	}
}

// match appends to hs the handlers a message goes to. A message carrying
// Subscription Identifiers goes to the handler of each group they name,
// once: among the groups with that identifier, those with a filter that
// matches the topic, or else the first. Otherwise it goes to the handler
// of every filter its topic matches. A filter subscribed with a nil
// handler stands for the default handler.
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
		first, found := -1, false
		for i, rt := range r.routes {
			if rt.id != id {
				continue
			}
			if first < 0 {
				first = i
			}
			if topic.Match(rt.sub.Filter, name) && !r.seenGroup(i, id, name) {
				add(rt.h)
				found = true
			}
		}
		if !found && first >= 0 {
			add(r.routes[first].h)
		}
	}
	if len(hs) > n {
		return hs
	}
	for _, rt := range r.routes {
		if topic.Match(rt.sub.Filter, name) {
			add(rt.h)
		}
	}
	return hs
}

// seenGroup reports whether a route before i, of the same group and
// identifier, matches name: the group's handler was added already.
func (r *router) seenGroup(i int, id uint32, name string) bool {
	g := r.routes[i].group
	for _, rt := range r.routes[:i] {
		if rt.group == g && rt.id == id && topic.Match(rt.sub.Filter, name) {
			return true
		}
	}
	return false
}
