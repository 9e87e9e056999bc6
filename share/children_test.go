package share

import (
	"context"
	"fmt"
	"time"

	"github.com/ternmq/mqtt"
)

// childCount is how many messages a publisher child sends at each QoS.
const childCount = 30

// childPublisher, a secondary in a process of its own, connects to the
// primary at path, prints "ready", publishes childCount messages at each
// QoS on prefix/QOS with payload prefix/QOS/I, and prints "done".
func childPublisher(path, prefix string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Dial(ctx, path, "", mqtt.Config{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer s.Disconnect(ctx)
	fmt.Println("ready")
	for i := 0; i < childCount; i++ {
		for qos := mqtt.QoS(0); qos <= 2; qos++ {
			t := fmt.Sprintf("%s/%d", prefix, qos)
			if err := s.Publish(ctx, &mqtt.Message{Topic: t, Payload: []byte(fmt.Sprintf("%s/%d", t, i)), QoS: qos}); err != nil {
				fmt.Println("error:", err)
				return 1
			}
		}
	}
	fmt.Println("done")
	return 0
}

// childPrimary, a primary in a process of its own, connects to the broker
// at url, serves the connection on path, prints "ready", and runs until
// it is killed.
func childPrimary(path, url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up, err := mqtt.Dial(ctx, mqtt.Config{Broker: url, Reconnect: true, Backoff: fastBackoff})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	srv, err := NewServer(Options{}, map[string]*mqtt.Client{"main": up})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if err := srv.Listen(path); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	time.Sleep(2 * time.Minute)
	return 0
}
