package mqtt_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// exampleBroker starts an in-process broker for the examples and returns
// its URL; a real program names its broker, as in mqtt://broker.local:1883.
func exampleBroker() (url string, stop func()) {
	b, stop, err := brokertest.StartMochi()
	if err != nil {
		log.Fatal(err)
	}
	return b.URL, stop
}

// Connect, subscribe with a handler, publish, disconnect.
func Example() {
	broker, stop := exampleBroker()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := mqtt.Dial(ctx, mqtt.Config{Broker: broker, ClientID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	got := make(chan *mqtt.Message, 1)
	_, err = client.Subscribe(ctx, func(m *mqtt.Message) { got <- m },
		mqtt.Subscription{Filter: "sensors/+/temperature", QoS: mqtt.QoS1})
	if err != nil {
		log.Fatal(err)
	}
	err = client.Publish(ctx, &mqtt.Message{Topic: "sensors/kitchen/temperature", QoS: mqtt.QoS1, Payload: []byte("21.5")})
	if err != nil {
		log.Fatal(err)
	}
	m := <-got
	fmt.Printf("%s: %s\n", m.Topic, m.Payload)

	if err := client.Disconnect(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: sensors/kitchen/temperature: 21.5
}

// Publish at each QoS: QoS 0 returns once written, QoS 1 on PUBACK, QoS 2
// on PUBCOMP. PublishAsync returns at once with a Completion.
func ExampleClient_Publish() {
	broker, stop := exampleBroker()
	defer stop()
	ctx := context.Background()
	client, err := mqtt.Dial(ctx, mqtt.Config{Broker: broker})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	for _, q := range []mqtt.QoS{mqtt.QoS0, mqtt.QoS1, mqtt.QoS2} {
		err := client.Publish(ctx, &mqtt.Message{Topic: "lights/hall", QoS: q, Payload: []byte("TURN ON")})
		fmt.Println(q, err)
	}

	done := client.PublishAsync(&mqtt.Message{Topic: "lights/hall", QoS: mqtt.QoS1, Payload: []byte("TURN OFF")})
	select {
	case <-done.Done():
		fmt.Println("async:", done.Err())
	case <-time.After(10 * time.Second):
		fmt.Println("no PUBACK")
	}
	// Output:
	// QoS 0 <nil>
	// QoS 1 <nil>
	// QoS 2 <nil>
	// async: <nil>
}

// Subscribe reports the broker's answer for every filter.
func ExampleClient_Subscribe() {
	broker, stop := exampleBroker()
	defer stop()
	ctx := context.Background()
	client, err := mqtt.Dial(ctx, mqtt.Config{Broker: broker})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	results, err := client.Subscribe(ctx, func(m *mqtt.Message) {},
		mqtt.Subscription{Filter: "alerts/#", QoS: mqtt.QoS2},
		mqtt.Subscription{Filter: "status/+", QoS: mqtt.QoS0})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Println(r.Filter, r.Code.Name(packet.TypeSuback))
	}
	// Output:
	// alerts/# Granted QoS 2
	// status/+ Granted QoS 0
}

// Request and response with MQTT 5.0 properties: the request names the
// topic to answer on and carries correlation data the answer returns.
func Example_requestResponse() {
	broker, stop := exampleBroker()
	defer stop()
	ctx := context.Background()

	// The responder answers every request on its Response Topic.
	responder, err := mqtt.Dial(ctx, mqtt.Config{Broker: broker})
	if err != nil {
		log.Fatal(err)
	}
	defer responder.Close()
	_, err = responder.Subscribe(ctx, func(req *mqtt.Message) {
		responder.Publish(ctx, &mqtt.Message{
			Topic:      req.Properties.ResponseTopic,
			QoS:        mqtt.QoS1,
			Payload:    append([]byte("echo: "), req.Payload...),
			Properties: packet.Properties{CorrelationData: req.Properties.CorrelationData},
		})
	}, mqtt.Subscription{Filter: "service/echo", QoS: mqtt.QoS1})
	if err != nil {
		log.Fatal(err)
	}

	// The requester listens on its own reply topic, then asks.
	requester, err := mqtt.Dial(ctx, mqtt.Config{Broker: broker})
	if err != nil {
		log.Fatal(err)
	}
	defer requester.Close()
	replies := make(chan *mqtt.Message, 1)
	replyTo := "replies/" + requester.Negotiated().ClientID
	if _, err := requester.Subscribe(ctx, func(m *mqtt.Message) { replies <- m },
		mqtt.Subscription{Filter: replyTo, QoS: mqtt.QoS1}); err != nil {
		log.Fatal(err)
	}
	err = requester.Publish(ctx, &mqtt.Message{
		Topic:      "service/echo",
		QoS:        mqtt.QoS1,
		Payload:    []byte("hello"),
		Properties: packet.Properties{ResponseTopic: replyTo, CorrelationData: []byte("req-1")},
	})
	if err != nil {
		log.Fatal(err)
	}
	reply := <-replies
	fmt.Printf("%s (%s)\n", reply.Payload, reply.Properties.CorrelationData)
	// Output: echo: hello (req-1)
}
