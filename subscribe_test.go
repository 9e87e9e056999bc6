package mqtt

import (
	"slices"
	"strings"
	"testing"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// A Subscription Identifier of the caller's choosing goes out in the
// SUBSCRIBE and comes back on the messages it matched (MQTT-3.3.4-3).
func TestChosenSubscriptionID(t *testing.T) {
	noLeaks(t)
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		in := newInbox()
		c := dial(t, Config{Broker: b.URL})
		sub := packet.Subscribe{Subscriptions: []Subscription{{Filter: "sid/#", QoS: QoS1}}}
		sub.Properties.SubscriptionIDs = []uint32{4242}
		if _, err := c.SubscribeWith(ctxT(t), in.handler, sub); err != nil {
			t.Fatal(err)
		}
		// The client's own identifiers avoid the one in use.
		other := newInbox()
		if _, err := c.Subscribe(ctxT(t), other.handler, Subscription{Filter: "sid/a/+", QoS: QoS1}); err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(ctxT(t), &Message{Topic: "sid/a/b", QoS: QoS1}); err != nil {
			t.Fatal(err)
		}
		m := in.next(t)
		if !slices.Contains(m.Properties.SubscriptionIDs, 4242) {
			t.Fatalf("message to the chosen identifier carries %v", m.Properties.SubscriptionIDs)
		}
		m = other.next(t)
		if len(m.Properties.SubscriptionIDs) == 0 || slices.Contains(m.Properties.SubscriptionIDs, 4242) && len(m.Properties.SubscriptionIDs) == 1 {
			t.Fatalf("message to the automatic identifier carries %v", m.Properties.SubscriptionIDs)
		}
	})
}

// SUBSCRIBE and UNSUBSCRIBE carry the caller's User Properties in 5.0.
func TestSubscribeUserProperties(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	user := []packet.UserProperty{{Key: "app", Value: "meter"}}
	done := make(chan error, 1)
	go func() {
		sub := packet.Subscribe{Subscriptions: []Subscription{{Filter: "u/#"}}}
		sub.Properties.User = user
		sub.Properties.SubscriptionIDs = []uint32{7}
		_, err := c.SubscribeWith(ctxT(t), nil, sub)
		done <- err
	}()
	sp := fc.Expect(packet.TypeSubscribe).(*packet.Subscribe)
	if !slices.Equal(sp.Properties.User, user) || !slices.Equal(sp.Properties.SubscriptionIDs, []uint32{7}) {
		t.Fatalf("SUBSCRIBE properties %+v", sp.Properties)
	}
	fc.Send(&packet.Suback{PacketID: sp.PacketID, ReasonCodes: []packet.ReasonCode{0}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() {
		un := packet.Unsubscribe{Filters: []string{"u/#"}}
		un.Properties.User = user
		_, err := c.UnsubscribeWith(ctxT(t), un)
		done <- err
	}()
	up := fc.Expect(packet.TypeUnsubscribe).(*packet.Unsubscribe)
	if !slices.Equal(up.Properties.User, user) {
		t.Fatalf("UNSUBSCRIBE properties %+v", up.Properties)
	}
	fc.Send(&packet.Unsuback{PacketID: up.PacketID, ReasonCodes: []packet.ReasonCode{0}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Identifiers the broker or the protocol cannot take are refused before
// anything is sent.
func TestSubscriptionIDRefused(t *testing.T) {
	noLeaks(t)
	no := false
	for _, tc := range []struct {
		name  string
		v     packet.Version
		props packet.Properties
		ids   []uint32
		want  string
	}{
		{"zero", packet.V5, packet.Properties{}, []uint32{0}, "not within"},
		{"too large", packet.V5, packet.Properties{}, []uint32{packet.MaxRemainingLength + 1}, "not within"},
		{"two", packet.V5, packet.Properties{}, []uint32{1, 2}, "one Subscription Identifier"},
		{"unavailable", packet.V5, packet.Properties{SubIDAvailable: &no}, []uint32{1}, "does not support"},
		{"3.1.1", packet.V311, packet.Properties{}, []uint32{1}, "does not support"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fc := connected(t, Config{Version: tc.v}, tc.props)
			sub := packet.Subscribe{Subscriptions: []Subscription{{Filter: "a"}}}
			sub.Properties.SubscriptionIDs = tc.ids
			_, err := c.SubscribeWith(ctxT(t), nil, sub)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SubscribeWith = %v, want an error with %q", err, tc.want)
			}
			c.Close()
			if ps := fc.ExpectClosed(); len(ps) != 0 {
				t.Fatalf("the client sent %v", ps) // no SUBSCRIBE went out
			}
		})
	}
}

// Routing by Subscription Identifier: each Subscribe's handler once; among
// Subscribes sharing an identifier, those whose filters match.
func TestRouterMatch(t *testing.T) {
	var got []string
	h := func(name string) Handler { return func(*Message) { got = append(got, name) } }
	var r router
	r.add(&packet.Subscribe{Subscriptions: []Subscription{{Filter: "a/#"}, {Filter: "a/+"}}}, h("A"), 1) // one Subscribe, overlapping filters
	r.add(&packet.Subscribe{Subscriptions: []Subscription{{Filter: "a/b"}}}, h("B"), 2)
	r.add(&packet.Subscribe{Subscriptions: []Subscription{{Filter: "c/#"}}}, h("C"), 3)
	r.add(&packet.Subscribe{Subscriptions: []Subscription{{Filter: "d/#"}}}, h("D"), 3) // shares identifier 3
	r.add(&packet.Subscribe{Subscriptions: []Subscription{{Filter: "e/#"}}}, nil, 0)    // the default handler
	for _, tc := range []struct {
		topic string
		ids   []uint32
		want  []string
	}{
		{"a/b", []uint32{1}, []string{"A"}},
		{"a/b", []uint32{2}, []string{"B"}},
		{"a/b", []uint32{1, 2}, []string{"A", "B"}},
		{"a/b", nil, []string{"A", "A", "B"}}, // no identifiers: by filter
		{"c/x", []uint32{3}, []string{"C"}},
		{"d/x", []uint32{3}, []string{"D"}},
		{"z", []uint32{3}, []string{"C"}}, // no filter matches: the first
		{"e/1", nil, []string{"default"}},
		{"zz", []uint32{99}, nil},
	} {
		got = nil
		for _, f := range r.match(tc.topic, tc.ids, h("default"), nil) {
			f(nil)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: handlers %v, want %v", tc.topic, tc.ids, got, tc.want)
		}
	}
	if id := r.freeID(); id != 4 {
		t.Errorf("freeID = %d, want 4: 1 to 3 are in use", id)
	}
}
