//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// recorder passes signatures to the token's signer and remembers the
// options TLS asked for, so a test can tell PSS from PKCS #1 v1.5.
type recorder struct {
	crypto.Signer
	mu   sync.Mutex
	opts []crypto.SignerOpts
}

func (r *recorder) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.mu.Lock()
	r.opts = append(r.opts, opts)
	r.mu.Unlock()
	return r.Signer.Sign(rand, digest, opts)
}

// TestMutualTLS: Mosquitto, requiring a client certificate from the test
// CA, lets in a client whose key is in the token, EC P-256 (generated in
// the token) and RSA-2048 (imported), over TLS 1.2 (with PKCS #1 v1.5, PSS,
// and ECDSA with a hash longer than the curve) and TLS 1.3 (PSS for RSA, as
// it requires); a message goes round. Without the certificate the broker
// refuses the client.
func TestMutualTLS(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "device")
	h.generateKey(t, "device", "ec-client", []byte{0xec}, "ec")
	h.importKey(t, "device", "rsa-client", []byte{0x25}, certtest.NewKey(t, "rsa"))
	ca := certtest.NewCA(t, "Tern test CA")
	tok := h.open(t, "device")
	for _, k := range []struct {
		label string
		id    []byte
	}{{"ec-client", []byte{0xec}}, {"rsa-client", []byte{0x25}}} {
		s, err := tok.Signer(KeyRef{Label: k.label})
		if err != nil {
			t.Fatal(err)
		}
		leaf := ca.Issue(t, certtest.Spec{CommonName: k.label, Client: true, Key: s})
		h.importCert(t, "device", k.label, k.id, leaf.Cert)
	}

	dir := t.TempDir()
	srv := ca.Server(t)
	cafile := certtest.Write(t, dir, "ca.pem", ca.CertPEM)
	certfile := certtest.Write(t, dir, "srv.pem", srv.CertPEM)
	keyfile := certtest.Write(t, dir, "srv.key", srv.KeyPEM)
	broker := func(t *testing.T, version uint16) int {
		v := "tlsv1.2" // Mosquitto's minimum; the client's MaxVersion caps it
		if version == tls.VersionTLS13 {
			v = "tlsv1.3"
		}
		lines, port := brokertest.TLSListener(t, cafile, certfile, keyfile, "require_certificate true", "tls_version "+v)
		brokertest.Mosquitto(t, lines...)
		return port
	}

	cases := []struct {
		name    string
		key     string
		version uint16
		schemes []tls.SignatureScheme // the client's, if not all
		wantPSS bool                  // for RSA
	}{
		{"ec/tls1.2", "ec-client", tls.VersionTLS12, nil, false},
		{"ec/tls1.2/sha384", "ec-client", tls.VersionTLS12, []tls.SignatureScheme{tls.ECDSAWithP384AndSHA384}, false},
		{"ec/tls1.3", "ec-client", tls.VersionTLS13, nil, false},
		{"rsa/tls1.2/pkcs1", "rsa-client", tls.VersionTLS12, []tls.SignatureScheme{tls.PKCS1WithSHA256}, false},
		{"rsa/tls1.2/pss", "rsa-client", tls.VersionTLS12, []tls.SignatureScheme{tls.PSSWithSHA384}, true},
		{"rsa/tls1.3", "rsa-client", tls.VersionTLS13, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cert, err := tok.Certificate(KeyRef{Label: c.key})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{Signer: cert.PrivateKey.(crypto.Signer)}
			cert.PrivateKey = rec
			cert.SupportedSignatureAlgorithms = c.schemes
			port := broker(t, c.version)
			var mu sync.Mutex
			var version uint16
			cfg := &tls.Config{
				RootCAs:      ca.Pool(),
				Certificates: []tls.Certificate{cert},
				MinVersion:   c.version,
				MaxVersion:   c.version,
				VerifyConnection: func(cs tls.ConnectionState) error {
					mu.Lock()
					version = cs.Version
					mu.Unlock()
					return nil
				},
			}
			roundTrip(t, port, cfg)
			mu.Lock()
			if version != c.version {
				t.Errorf("TLS version %x, want %x", version, c.version)
			}
			mu.Unlock()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.opts) == 0 {
				t.Fatal("the client key signed nothing: no client authentication happened")
			}
			for _, o := range rec.opts {
				_, pss := o.(*rsa.PSSOptions)
				if c.key == "rsa-client" && pss != c.wantPSS {
					t.Errorf("TLS asked for PSS: %v, want %v", pss, c.wantPSS)
				}
				if c.schemes != nil && c.schemes[0] == tls.ECDSAWithP384AndSHA384 && o.HashFunc() != crypto.SHA384 {
					t.Errorf("TLS signed with %v, want SHA-384", o.HashFunc())
				}
			}
		})
	}

	t.Run("no client certificate", func(t *testing.T) {
		port := broker(t, tls.VersionTLS13)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := mqtt.Dial(ctx, mqtt.Config{
			Broker:    fmt.Sprintf("mqtts://127.0.0.1:%d", port),
			TLSConfig: &tls.Config{RootCAs: ca.Pool()},
		})
		if err == nil {
			c.Close()
			t.Fatal("Mosquitto let in a client without a certificate: the test proves nothing")
		}
	})
}

// roundTrip connects to Mosquitto's TLS listener on port and sends itself
// a message.
func roundTrip(t *testing.T, port int, cfg *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := mqtt.Dial(ctx, mqtt.Config{Broker: fmt.Sprintf("mqtts://127.0.0.1:%d", port), TLSConfig: cfg})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	got := make(chan *mqtt.Message, 1)
	handler := func(m *mqtt.Message) {
		select {
		case got <- m:
		default:
		}
	}
	if _, err := c.Subscribe(ctx, handler, mqtt.Subscription{Filter: "hsm/test", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, &mqtt.Message{Topic: "hsm/test", QoS: 1, Payload: []byte("signed in hardware")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m.Payload) != "signed in hardware" {
			t.Fatalf("got %q", m.Payload)
		}
	case <-ctx.Done():
		t.Fatal("no message came back")
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}
