package mqtt

import (
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// TestTLSSmoke: a publish round trip over mqtts to Mosquitto's TLS
// listener, verified against a CA made in the test.
func TestTLSSmoke(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "Tern test CA")
	srv := ca.Server(t)
	lines, port := brokertest.TLSListener(t, "", certtest.Write(t, dir, "srv.pem", srv.CertPEM), certtest.Write(t, dir, "srv.key", srv.KeyPEM))
	brokertest.Mosquitto(t, lines...)
	c := dial(t, Config{Broker: fmt.Sprintf("mqtts://127.0.0.1:%d", port), TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
	in := newInbox()
	if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "a/b", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), &Message{Topic: "a/b", QoS: 1, Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); string(m.Payload) != "hi" {
		t.Fatalf("got %q", m.Payload)
	}
}
