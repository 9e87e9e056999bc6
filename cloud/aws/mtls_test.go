package aws

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

// TestMTLS connects with a client certificate on 8883 and on 443 (ALPN
// x-amzn-mqtt-ca) to a TLS server that requires the certificate, and
// makes a publish/subscribe round trip through it.
func TestMTLS(t *testing.T) {
	for _, c := range []struct {
		port int
		alpn string // the protocol the server must negotiate
	}{
		{0, ""}, // 8883
		{443, ALPNClientCert},
	} {
		t.Run(fmt.Sprint(c.port), func(t *testing.T) {
			cs := newConns(t)
			ca := certtest.NewCA(t, "Tern test CA")
			broker := brokertest.Mochi(t)
			front := startTLSFront(t, cs, &tls.Config{
				Certificates: []tls.Certificate{serverCert(t, ca)},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    ca.Pool(),
				// As AWS IoT Core on 443: only x-amzn-mqtt-ca takes a
				// client certificate.
				NextProtos: []string{ALPNClientCert},
			}, hostPort(t, broker.URL))
			px := startProxy(t, cs, front.addr)

			cfg, err := MTLS{
				Endpoint:    testEndpoint,
				Certificate: ca.Client(t, "thing-1").TLSCertificate(),
				Port:        c.port,
			}.Config(mqtt.Config{
				ClientID: "thing-1",
				Dialer: &transport.Dialer{
					Proxy:     transport.ProxyURL(px.URL),
					TLSConfig: &tls.Config{RootCAs: ca.Pool()},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			client, err := mqtt.Dial(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			roundTrip(t, client, "things/thing-1/echo")

			port := c.port
			if port == 0 {
				port = 8883
			}
			if got, want := px.Targets(), []string{net.JoinHostPort(testEndpoint, fmt.Sprint(port))}; strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("the proxy was asked for %q, want %q", got, want)
			}
			states, errs := front.handshakes()
			if len(errs) > 0 || len(states) != 1 {
				t.Fatalf("TLS handshakes: %d, errors %v", len(states), errs)
			}
			st := states[0]
			if st.ServerName != testEndpoint {
				t.Errorf("SNI %q, want %q", st.ServerName, testEndpoint)
			}
			if st.NegotiatedProtocol != c.alpn {
				t.Errorf("ALPN %q, want %q", st.NegotiatedProtocol, c.alpn)
			}
			if len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "thing-1" {
				t.Errorf("the server did not get the client certificate")
			}
		})
	}
}

// TestMTLSConfig checks what MTLS.Config sets and refuses.
func TestMTLSConfig(t *testing.T) {
	ca := certtest.NewCA(t, "Tern test CA")
	cert := ca.Client(t, "thing-1").TLSCertificate()
	roots := ca.Pool()
	base := mqtt.Config{ClientID: "thing-1", KeepAlive: 300e9, TLSConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}}}

	cfg, err := MTLS{Endpoint: testEndpoint, Certificate: cert, Port: 443}.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker != "mqtts://"+testEndpoint+":443" || cfg.ClientID != "thing-1" || cfg.KeepAlive != base.KeepAlive {
		t.Errorf("Config: Broker %q, ClientID %q, KeepAlive %v", cfg.Broker, cfg.ClientID, cfg.KeepAlive)
	}
	tc := cfg.TLSConfig
	if tc == base.TLSConfig || tc.RootCAs != roots || len(tc.Certificates) != 1 || strings.Join(tc.NextProtos, ",") != ALPNClientCert {
		t.Errorf("TLSConfig: a clone of the base's %v, roots kept %v, %d certificates, ALPN %q",
			tc != base.TLSConfig, tc.RootCAs == roots, len(tc.Certificates), tc.NextProtos)
	}
	if len(base.TLSConfig.Certificates) != 0 || len(base.TLSConfig.NextProtos) != 1 {
		t.Errorf("the base's TLSConfig changed")
	}

	// A certificate in the base's TLSConfig will do.
	withCert := base
	withCert.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	if cfg, err := (MTLS{Endpoint: testEndpoint}).Config(withCert); err != nil || cfg.Broker != "mqtts://"+testEndpoint+":8883" {
		t.Errorf("certificate in the base: %q, %v", cfg.Broker, err)
	}

	for _, c := range []struct {
		name string
		o    MTLS
	}{
		{"no endpoint", MTLS{Certificate: cert}},
		{"URL for endpoint", MTLS{Endpoint: "mqtts://" + testEndpoint, Certificate: cert}},
		{"port in endpoint", MTLS{Endpoint: testEndpoint + ":8883", Certificate: cert}},
		{"no certificate", MTLS{Endpoint: testEndpoint}},
		{"other port", MTLS{Endpoint: testEndpoint, Certificate: cert, Port: 8443}},
	} {
		if _, err := c.o.Config(mqtt.Config{}); err == nil || !strings.HasPrefix(err.Error(), "aws: ") {
			t.Errorf("%s: error %v, want one starting with \"aws: \"", c.name, err)
		}
	}
}
