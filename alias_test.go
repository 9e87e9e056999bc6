package mqtt

import (
	"testing"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// TestAutoTopicAlias checks the aliases on the wire: the first PUBLISH to a
// topic carries topic and alias, later ones the alias alone, and the least
// recently used alias is reassigned when all are taken.
func TestAutoTopicAlias(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{AutoTopicAlias: true}, packet.Properties{TopicAliasMaximum: 2})
	type wire struct {
		topic string
		alias uint16
	}
	for i, step := range []struct {
		publish string
		want    wire
	}{
		{"a/long/topic", wire{"a/long/topic", 1}},
		{"a/long/topic", wire{"", 1}},
		{"b", wire{"b", 2}},
		{"c", wire{"c", 1}}, // a/long/topic was used least recently
		{"a/long/topic", wire{"a/long/topic", 2}},
		{"c", wire{"", 1}},
	} {
		if err := c.Publish(ctxT(t), &Message{Topic: step.publish}); err != nil {
			t.Fatal(err)
		}
		p := fc.Expect(packet.TypePublish).(*packet.Publish)
		if got := (wire{p.Topic, p.Properties.TopicAlias}); got != step.want {
			t.Fatalf("step %d: publishing %q sent %+v, want %+v", i, step.publish, got, step.want)
		}
	}
	if err := c.Publish(ctxT(t), &Message{Topic: "x", Properties: packet.Properties{TopicAlias: 1}}); err == nil {
		t.Fatal("a hand-set alias was accepted with AutoTopicAlias on")
	}
}

// TestTopicAliasMosquitto publishes through Mosquitto with aliases, by
// hand and automatically: the subscriber sees full topics.
func TestTopicAliasMosquitto(t *testing.T) {
	noLeaks(t)
	b := brokertest.Mosquitto(t)
	in := newInbox()
	sub := dial(t, Config{Broker: b.URL})
	if _, err := sub.Subscribe(ctxT(t), in.handler, Subscription{Filter: "alias/#", QoS: QoS1}); err != nil {
		t.Fatal(err)
	}
	auto := dial(t, Config{Broker: b.URL, AutoTopicAlias: true})
	if auto.Negotiated().TopicAliasMaximum == 0 {
		t.Fatal("mosquitto offered no topic aliases")
	}
	for i := 0; i < 3; i++ {
		if err := auto.Publish(ctxT(t), &Message{Topic: "alias/auto", QoS: QoS1, Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	manual := dial(t, Config{Broker: b.URL})
	if err := manual.Publish(ctxT(t), &Message{Topic: "alias/manual", QoS: QoS1, Properties: packet.Properties{TopicAlias: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := manual.Publish(ctxT(t), &Message{QoS: QoS1, Properties: packet.Properties{TopicAlias: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alias/auto", "alias/auto", "alias/auto", "alias/manual", "alias/manual"} {
		if m := in.next(t); m.Topic != want {
			t.Fatalf("got %q, want %q", m.Topic, want)
		}
	}
}
