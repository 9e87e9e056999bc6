package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/packet"
)

// tlsBroker is Mosquitto with a TLS listener, and the CA that issued its
// certificate.
type tlsBroker struct {
	ca  *certtest.CA
	url string // mqtts://127.0.0.1:port
}

// mosquittoTLS starts Mosquitto with a TLS listener whose certificate is
// srv (nil: one for the loopback addresses from a new CA), with the
// listener lines more.
func mosquittoTLS(t *testing.T, srv *certtest.Leaf, ca *certtest.CA, more ...string) *tlsBroker {
	t.Helper()
	dir := t.TempDir()
	if ca == nil {
		ca = certtest.NewCA(t, "Tern test CA")
	}
	if srv == nil {
		srv = ca.Server(t)
	}
	lines, port := brokertest.TLSListener(t, certtest.Write(t, dir, "ca.pem", ca.CertPEM),
		certtest.Write(t, dir, "srv.pem", srv.CertPEM), certtest.Write(t, dir, "srv.key", srv.KeyPEM), more...)
	brokertest.Mosquitto(t, lines...)
	return &tlsBroker{ca: ca, url: fmt.Sprintf("mqtts://127.0.0.1:%d", port)}
}

// roundTrip subscribes and publishes one QoS 1 message through c.
func roundTrip(t *testing.T, c *Client) {
	t.Helper()
	in := newInbox()
	if _, err := c.Subscribe(ctxT(t), in.handler, Subscription{Filter: "tls/rt", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), &Message{Topic: "tls/rt", QoS: 1, Payload: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); string(m.Payload) != "sealed" {
		t.Fatalf("got %q", m.Payload)
	}
}

// dialErr dials cfg, expecting a failure, and returns the error.
func dialErr(t *testing.T, cfg Config) error {
	t.Helper()
	cfg.ConnectTimeout = 5 * time.Second
	c, err := Dial(ctxT(t), cfg)
	if err == nil {
		c.Close()
		t.Fatalf("Dial %s succeeded; want a failure", cfg.Broker)
	}
	return err
}

// TestTLSServerAuth: mqtts and its aliases ssl and tls, verified against
// the CA, in 3.1.1 and 5.0; the schemes' default port is 8883.
func TestTLSServerAuth(t *testing.T) {
	noLeaks(t)
	b := mosquittoTLS(t, nil, nil)
	for _, scheme := range []string{"mqtts", "ssl", "tls"} {
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			t.Run(scheme+"/"+v.String(), func(t *testing.T) {
				u := strings.Replace(b.url, "mqtts", scheme, 1)
				c := dial(t, Config{Broker: u, Version: v, TLSConfig: &tls.Config{RootCAs: b.ca.Pool()}})
				roundTrip(t, c)
			})
		}
	}
}

// TestTLSRefused: the client refuses a broker it cannot verify — another
// CA, an expired certificate, a certificate for another host — and says
// why; the system roots (the default) do not know the test CA either.
func TestTLSRefused(t *testing.T) {
	noLeaks(t)
	ca := certtest.NewCA(t, "Tern test CA")
	other := certtest.NewCA(t, "Another CA")
	expired := ca.Issue(t, certtest.Spec{CommonName: "localhost", IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	elsewhere := ca.Issue(t, certtest.Spec{CommonName: "broker.example", DNSNames: []string{"broker.example"}})

	good := mosquittoTLS(t, nil, ca)
	for _, tc := range []struct {
		name string
		url  string
		cfg  *tls.Config
		want any // an error type for errors.As
	}{
		{"system roots", good.url, nil, new(x509.UnknownAuthorityError)},
		{"wrong CA", good.url, &tls.Config{RootCAs: other.Pool()}, new(x509.UnknownAuthorityError)},
		{"expired", mosquittoTLS(t, expired, ca).url, &tls.Config{RootCAs: ca.Pool()}, new(x509.CertificateInvalidError)},
		{"host name", mosquittoTLS(t, elsewhere, ca).url, &tls.Config{RootCAs: ca.Pool()}, new(x509.HostnameError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialErr(t, Config{Broker: tc.url, TLSConfig: tc.cfg})
			if !errors.As(err, tc.want) {
				t.Fatalf("Dial: %v; want a %T", err, tc.want)
			}
			t.Logf("refused as it should be: %v", err)
		})
	}
	// The name in the certificate is given: ServerName overrides the URL's host.
	t.Run("ServerName", func(t *testing.T) {
		b := mosquittoTLS(t, elsewhere, ca)
		roundTrip(t, dial(t, Config{Broker: b.url, TLSConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "broker.example"}}))
	})
}

// TestTLSInsecure: skipping verification is possible only by asking, and
// is logged as a warning at each connection.
func TestTLSInsecure(t *testing.T) {
	noLeaks(t)
	b := mosquittoTLS(t, nil, nil)
	var log brokertest.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	roundTrip(t, dial(t, Config{Broker: b.url, TLSConfig: &tls.Config{InsecureSkipVerify: true}, Logger: logger}))
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "InsecureSkipVerify") {
		t.Fatalf("no warning logged:\n%s", log.String())
	}
}

// TestTLSMutual: Mosquitto asks for a client certificate from the CA: a
// client with one gets in (ECDSA and RSA keys, TLS 1.2 and 1.3), one
// without or with one from another CA does not.
func TestTLSMutual(t *testing.T) {
	noLeaks(t)
	ca := certtest.NewCA(t, "Tern test CA")
	b := mosquittoTLS(t, nil, ca, "require_certificate true")
	for _, kind := range []string{"ec", "rsa"} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(kind+"/"+tls.VersionName(ver), func(t *testing.T) {
				leaf := ca.Issue(t, certtest.Spec{CommonName: "device-1", Client: true, Key: certtest.NewKey(t, kind)})
				cfg := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{leaf.TLSCertificate()},
					MinVersion: ver, MaxVersion: ver}
				roundTrip(t, dial(t, Config{Broker: b.url, TLSConfig: cfg}))
			})
		}
	}
	t.Run("no certificate", func(t *testing.T) {
		dialErr(t, Config{Broker: b.url, TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
	})
	t.Run("another CA", func(t *testing.T) {
		leaf := certtest.NewCA(t, "Another CA").Client(t, "intruder")
		dialErr(t, Config{Broker: b.url, TLSConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{leaf.TLSCertificate()}}})
	})
}

// TestTLSVersionsAndCiphers: the client's TLS 1.2 floor by default, 1.3
// when asked, and TLS 1.2 cipher suites, each against what the server
// allows. Mosquitto's tls_version is a floor, so a server that stops at an
// older version is a Go TLS server in front of Mochi.
func TestTLSVersionsAndCiphers(t *testing.T) {
	noLeaks(t)
	ca := certtest.NewCA(t, "Tern test CA")
	pool := ca.Pool()
	only13 := mosquittoTLS(t, nil, ca, "tls_version tlsv1.3")
	roundTrip(t, dial(t, Config{Broker: only13.url, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}))
	dialErr(t, Config{Broker: only13.url, TLSConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12}})

	ciphers := mosquittoTLS(t, nil, ca, "ciphers ECDHE-ECDSA-AES256-GCM-SHA384")
	roundTrip(t, dial(t, Config{Broker: ciphers.url, TLSConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}}))
	dialErr(t, Config{Broker: ciphers.url, TLSConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}})

	b := brokertest.Mochi(t)
	cert := []tls.Certificate{ca.Server(t).TLSCertificate()}
	front := func(minV, maxV uint16) string {
		f := brokertest.TLSFront(t, &tls.Config{Certificates: cert, MinVersion: minV, MaxVersion: maxV}, b.URL)
		return "mqtts://" + f.Addr
	}
	upTo12 := front(tls.VersionTLS12, tls.VersionTLS12)
	roundTrip(t, dial(t, Config{Broker: upTo12, TLSConfig: &tls.Config{RootCAs: pool}}))
	dialErr(t, Config{Broker: upTo12, TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}})
	// Below 1.2 is refused by the client unless MinVersion is lowered.
	upTo11 := front(tls.VersionTLS10, tls.VersionTLS11)
	dialErr(t, Config{Broker: upTo11, TLSConfig: &tls.Config{RootCAs: pool}})
}

// lastHello returns the last ClientHello f saw.
func lastHello(t *testing.T, f *brokertest.Front) *tls.ClientHelloInfo {
	t.Helper()
	h := f.Hellos()
	if len(h) == 0 {
		t.Fatal("no ClientHello seen")
	}
	return h[len(h)-1]
}

// TestTLSSNIAndALPN: the server sees the URL's host as SNI, or
// Config.TLSConfig.ServerName when set (an IP address is not sent, RFC
// 6066 section 3), and the ALPN protocols offered, and the connection
// works with the protocol it chose.
func TestTLSSNIAndALPN(t *testing.T) {
	noLeaks(t)
	ca := certtest.NewCA(t, "Tern test CA")
	srv := ca.Issue(t, certtest.Spec{CommonName: "localhost", DNSNames: []string{"localhost", "broker.example"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	b := brokertest.Mochi(t)
	f := brokertest.TLSFront(t, &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}, NextProtos: []string{"x-amzn-mqtt-ca", "mqtt"}}, b.URL)
	_, port, _ := net.SplitHostPort(f.Addr)

	roundTrip(t, dial(t, Config{Broker: "mqtts://localhost:" + port, TLSConfig: &tls.Config{RootCAs: ca.Pool()}}))
	if h := lastHello(t, f); h.ServerName != "localhost" || len(h.SupportedProtos) != 0 {
		t.Fatalf("SNI %q ALPN %q; want localhost and none", h.ServerName, h.SupportedProtos)
	}
	roundTrip(t, dial(t, Config{Broker: "mqtts://127.0.0.1:" + port, TLSConfig: &tls.Config{RootCAs: ca.Pool(),
		ServerName: "broker.example", NextProtos: []string{"x-amzn-mqtt-ca"}}}))
	if h := lastHello(t, f); h.ServerName != "broker.example" || strings.Join(h.SupportedProtos, ",") != "x-amzn-mqtt-ca" {
		t.Fatalf("SNI %q ALPN %q; want broker.example and x-amzn-mqtt-ca", h.ServerName, h.SupportedProtos)
	}
	roundTrip(t, dial(t, Config{Broker: "mqtts://127.0.0.1:" + port, TLSConfig: &tls.Config{RootCAs: ca.Pool()}}))
	if h := lastHello(t, f); h.ServerName != "" {
		t.Fatalf("SNI %q sent for an IP address", h.ServerName)
	}
}

// TestAttemptTLSConfig (issue 4): BeforeConnect changes the TLS
// configuration of each attempt. The first attempt offers a certificate
// the broker refuses; the hook then loads the right one, as a device would
// after renewing its certificate, and the retry gets in. After a
// reconnection, the hook's certificate of that attempt is the one used.
func TestAttemptTLSConfig(t *testing.T) {
	noLeaks(t)
	ca := certtest.NewCA(t, "Tern test CA")
	b := mosquittoTLS(t, nil, ca, "require_certificate true", "use_identity_as_username true")
	bad := certtest.NewCA(t, "Expired device CA").Client(t, "old")
	var mu sync.Mutex
	var used []string
	hook := func(ctx context.Context, a *Attempt) error {
		if a.TLSConfig == nil || a.TLSConfig.RootCAs == nil {
			return errors.New("the attempt's TLSConfig is not a clone of Config.TLSConfig")
		}
		leaf := bad
		if a.Number > 1 {
			leaf = ca.Client(t, fmt.Sprintf("device-%d", a.Number))
		}
		a.TLSConfig.Certificates = []tls.Certificate{leaf.TLSCertificate()}
		mu.Lock()
		used = append(used, leaf.Cert.Subject.CommonName)
		mu.Unlock()
		return nil
	}
	base := &tls.Config{RootCAs: ca.Pool()}
	ev := newEvents()
	c := dial(t, Config{Broker: b.url, TLSConfig: base, ConnectRetry: true, Reconnect: true, Backoff: fastBackoff,
		BeforeConnect: hook, OnEvent: ev.on, ConnectTimeout: 5 * time.Second})
	roundTrip(t, c)
	if len(base.Certificates) != 0 {
		t.Fatal("the hook's change leaked into Config.TLSConfig")
	}
	mu.Lock()
	got := append([]string(nil), used...)
	mu.Unlock()
	if len(got) != 2 || got[0] != "old" || got[1] != "device-2" {
		t.Fatalf("certificates offered: %q; want old, then device-2", got)
	}
	ev.waitFor(t, EventConnectFailed)
}
