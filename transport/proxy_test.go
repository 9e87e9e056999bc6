package transport_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

// mosquittoTLS starts Mosquitto with a TLS listener whose certificate ca
// issued (asking clients for a certificate of ca when mutual), and returns
// its mqtts:// URL.
func mosquittoTLS(t *testing.T, ca *certtest.CA, mutual bool) string {
	t.Helper()
	needTool(t, "mosquitto", "mosquitto")
	dir := t.TempDir()
	srv := ca.Server(t)
	certFile := certtest.Write(t, dir, "server.pem", srv.CertPEM)
	keyFile := certtest.Write(t, dir, "server.key", srv.KeyPEM)
	var lines []string
	var port int
	if mutual {
		caFile := certtest.Write(t, dir, "ca.pem", ca.CertPEM)
		lines, port = brokertest.TLSListener(t, caFile, certFile, keyFile, "require_certificate true")
	} else {
		lines, port = brokertest.TLSListener(t, "", certFile, keyFile)
	}
	brokertest.Mosquitto(t, lines...)
	return fmt.Sprintf("mqtts://127.0.0.1:%d", port)
}

// tlsTerminator accepts TLS on a free port of 127.0.0.1 with a certificate
// of ca and forwards the bytes to backend, as a TLS front of an HTTP proxy
// does. It returns its address and stops when the test ends.
func tlsTerminator(t *testing.T, ca *certtest.CA, backend string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(b, c); b.Close() }()
			go func() { defer wg.Done(); io.Copy(c, b); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestHTTPConnect: round trips through tinyproxy to Mochi over mqtt and ws;
// a port tinyproxy does not allow is a *ProxyError with 403.
func TestHTTPConnect(t *testing.T) {
	b := brokertest.Mochi(t)
	ws := brokertest.MochiWebSocket(t, nil)
	tp := startTinyproxy(t, tinyproxyOptions{ConnectPorts: []string{portOf(t, b.URL), portOf(t, ws.URL)}})
	d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "http://"+tp.Addr))}
	roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
	roundTrip(t, mqtt.Config{Broker: ws.URL, Dialer: d})
	for _, target := range []string{mustURL(t, b.URL).Host, mustURL(t, ws.URL).Host} {
		if n := tp.connects(t, target); n != 1 {
			t.Errorf("tinyproxy logged %d CONNECT %s, want 1", n, target)
		}
	}
	t.Run("port not allowed", func(t *testing.T) {
		closed := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
		_, err := d.Dial(ctxT(t), mustURL(t, "mqtt://"+closed))
		var pe *transport.ProxyError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Status, "403") || pe.Target != closed {
			t.Fatalf("Dial: %v, want a *ProxyError with 403 for %s", err, closed)
		}
	})
}

// TestHTTPConnectAuth: tinyproxy asks for basic authentication; the right
// credentials pass, wrong or missing ones are a *ProxyError carrying the
// proxy's status that does not quote the password, through the Dialer and
// through the client. tinyproxy (1.11.1) answers 407 when credentials are
// missing but 401 when they are wrong.
func TestHTTPConnectAuth(t *testing.T) {
	const pass = "Pr0xyPassw0rd"
	b := brokertest.Mochi(t)
	tp := startTinyproxy(t, tinyproxyOptions{ConnectPorts: []string{portOf(t, b.URL)}, User: "tern", Pass: pass})
	good := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "http://tern:"+pass+"@"+tp.Addr))}
	roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: good})
	for _, tc := range []struct{ proxy, status string }{
		{"http://tern:wrong-" + pass + "@" + tp.Addr, "401 407"},
		{"http://other:" + pass + "@" + tp.Addr, "401 407"},
		{"http://tern:@" + tp.Addr, "401 407"},
		{"http://" + tp.Addr, "407"},
	} {
		d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, tc.proxy))}
		_, err := d.Dial(ctxT(t), mustURL(t, b.URL))
		noSecret(t, err, pass)
		var pe *transport.ProxyError
		if !errors.As(err, &pe) || len(pe.Status) < 3 || !strings.Contains(tc.status, pe.Status[:3]) {
			t.Errorf("Dial: %v, want a *ProxyError with %s", err, tc.status)
		}
		_, err = mqtt.Dial(ctxT(t), mqtt.Config{Broker: b.URL, Dialer: d})
		noSecret(t, err, pass)
		if !errors.As(err, &pe) || len(pe.Status) < 3 || !strings.Contains(tc.status, pe.Status[:3]) {
			t.Errorf("mqtt.Dial: %v, want a *ProxyError with %s", err, tc.status)
		}
	}
}

// TestHTTPSProxy: TLS to the proxy (a TLS terminator in front of
// tinyproxy, with an https:// proxy URL and ProxyTLSConfig), then mqtt,
// and mqtts to Mosquitto inside the tunnel (TLS in TLS). A proxy whose
// certificate the roots do not know is refused.
func TestHTTPSProxy(t *testing.T) {
	proxyCA := certtest.NewCA(t, "Tern proxy CA")
	brokerCA := certtest.NewCA(t, "Tern broker CA")
	b := brokertest.Mochi(t)
	mqtts := mosquittoTLS(t, brokerCA, false)
	tp := startTinyproxy(t, tinyproxyOptions{ConnectPorts: []string{portOf(t, b.URL), portOf(t, mqtts)}, User: "tern", Pass: "s3cret"})
	front := tlsTerminator(t, proxyCA, tp.Addr)
	_, port, _ := net.SplitHostPort(front)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			d := &transport.Dialer{
				Proxy:          transport.ProxyURL(mustURL(t, "https://tern:s3cret@"+net.JoinHostPort(host, port))),
				ProxyTLSConfig: &tls.Config{RootCAs: proxyCA.Pool()},
				TLSConfig:      &tls.Config{RootCAs: brokerCA.Pool()},
			}
			roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
			roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d})
		})
	}
	t.Run("unknown proxy CA", func(t *testing.T) {
		d := &transport.Dialer{
			Proxy:          transport.ProxyURL(mustURL(t, "https://tern:s3cret@"+front)),
			ProxyTLSConfig: &tls.Config{RootCAs: brokerCA.Pool()},
		}
		_, err := d.Dial(ctxT(t), mustURL(t, b.URL))
		noSecret(t, err, "s3cret")
		if !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Dial: %v, want a certificate error", err)
		}
	})
}

// TestHTTPConnectMQTTS: mqtts through tinyproxy to Mosquitto's TLS
// listener, plain HTTP to the proxy.
func TestHTTPConnectMQTTS(t *testing.T) {
	ca := certtest.NewCA(t, "Tern broker CA")
	mqtts := mosquittoTLS(t, ca, false)
	tp := startTinyproxy(t, tinyproxyOptions{ConnectPorts: []string{portOf(t, mqtts)}})
	d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "http://"+tp.Addr))}
	roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d, TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
	if n := tp.connects(t, mustURL(t, mqtts).Host); n != 1 {
		t.Errorf("tinyproxy logged %d CONNECT, want 1", n)
	}
}

// TestSOCKS5: round trips through microsocks, without and with
// authentication, to Mochi (mqtt, ws) and Mosquitto (mqtts); socks5h lets
// the proxy resolve a name; a wrong password fails without being quoted.
func TestSOCKS5(t *testing.T) {
	b := brokertest.Mochi(t)
	ws := brokertest.MochiWebSocket(t, nil)
	t.Run("no auth", func(t *testing.T) {
		addr := startMicrosocks(t, "", "")
		for _, scheme := range []string{"socks5", "socks5h"} {
			d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, scheme+"://"+addr))}
			roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
			roundTrip(t, mqtt.Config{Broker: ws.URL, Dialer: d})
		}
	})
	t.Run("names", func(t *testing.T) {
		// localhost: socks5 resolves it here, socks5h at the proxy.
		addr := startMicrosocks(t, "", "")
		u := "mqtt://localhost:" + portOf(t, b.URL)
		for _, scheme := range []string{"socks5", "socks5h"} {
			d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, scheme+"://"+addr))}
			roundTrip(t, mqtt.Config{Broker: u, Dialer: d})
		}
	})
	t.Run("auth", func(t *testing.T) {
		const pass = "S0cksPassw0rd"
		addr := startMicrosocks(t, "tern", pass)
		d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "socks5://tern:"+pass+"@"+addr))}
		roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
		ca := certtest.NewCA(t, "Tern broker CA")
		mqtts := mosquittoTLS(t, ca, false)
		roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d, TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
		for _, proxy := range []string{
			"socks5://tern:wrong-" + pass + "@" + addr,
			"socks5h://other:" + pass + "@" + addr,
			"socks5://" + addr,
		} {
			d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, proxy))}
			_, err := d.Dial(ctxT(t), mustURL(t, b.URL))
			noSecret(t, err, pass)
			if !strings.Contains(err.Error(), "proxy") {
				t.Errorf("Dial: %v does not say the proxy failed", err)
			}
			_, err = mqtt.Dial(ctxT(t), mqtt.Config{Broker: b.URL, Dialer: d})
			noSecret(t, err, pass)
		}
	})
}

// TestProxyScheme: an unknown proxy scheme is an error.
func TestProxyScheme(t *testing.T) {
	d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "ftp://user:secretpw@127.0.0.1:21"))}
	_, err := d.Dial(ctxT(t), mustURL(t, "mqtt://127.0.0.1:1883"))
	noSecret(t, err, "secretpw")
	if !strings.Contains(err.Error(), `"ftp"`) {
		t.Fatalf("Dial: %v, want the scheme named", err)
	}
}
