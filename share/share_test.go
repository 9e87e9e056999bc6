package share

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// TestPublish publishes at each QoS from a 5.0 and a 3.1.1 secondary and
// checks that an observer on the broker gets each message, and that a QoS
// 1 or 2 Publish returns only once the primary's exchange with the broker
// is complete.
func TestPublish(t *testing.T) {
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		_, path, up := primary(t, b.URL, Options{})
		obs := dialBroker(t, b.URL, mqtt.Config{})
		in := newInbox()
		if _, err := obs.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "pub/#", QoS: 2}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []packet.Version{packet.V5, packet.V311} {
			s := secondary(t, path, mqtt.Config{Version: v})
			for qos := mqtt.QoS(0); qos <= 2; qos++ {
				topic := fmt.Sprintf("pub/%d/%d", v, qos)
				if err := s.Publish(ctxT(t), &mqtt.Message{Topic: topic, Payload: []byte("x"), QoS: qos}); err != nil {
					t.Fatalf("v%d qos %d: %v", v, qos, err)
				}
				if qos > 0 {
					if n := up.Stats().InFlight; n != 0 {
						t.Errorf("v%d qos %d: Publish returned with %d in flight upstream", v, qos, n)
					}
				}
				m := in.next(t, 5*time.Second)
				if m.Topic != topic || m.QoS != qos {
					t.Errorf("observer got %s QoS %d, want %s QoS %d", m.Topic, m.QoS, topic, qos)
				}
			}
		}
	})
}

// TestRefused: Mosquitto's ACL refuses a topic; a 5.0 secondary's QoS 1
// Publish gets the broker's PUBACK code as a *ReasonCodeError.
func TestRefused(t *testing.T) {
	dir := t.TempDir()
	acl := dir + "/acl"
	if err := writeFile(acl, "topic deny deny/#\ntopic readwrite #\n"); err != nil {
		t.Fatal(err)
	}
	b := brokertest.Mosquitto(t, "acl_file "+acl)
	srv, path, _ := primary(t, b.URL, Options{})
	s := secondary(t, path, mqtt.Config{})
	err := s.Publish(ctxT(t), &mqtt.Message{Topic: "deny/x", Payload: []byte("x"), QoS: 1})
	var rc *mqtt.ReasonCodeError
	if !errors.As(err, &rc) || rc.Code != packet.ReasonNotAuthorized {
		t.Fatalf("err %v, want a ReasonCodeError 0x87", err)
	}
	// 3.1.1 cannot carry the code: acknowledged, and counted.
	s3 := secondary(t, path, mqtt.Config{Version: packet.V311})
	if err := s3.Publish(ctxT(t), &mqtt.Message{Topic: "deny/x", Payload: []byte("x"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	var refused uint64
	for _, st := range srv.Secondaries() {
		refused += st.Refused
	}
	if refused != 2 {
		t.Errorf("Refused %d, want 2", refused)
	}
}
