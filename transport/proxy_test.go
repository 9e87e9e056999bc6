package transport_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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
	cs := newConns(t)
	cs.acceptAll(ln, func(c net.Conn) {
		b, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			return
		}
		cs.add(b)
		cs.goFunc(func() { io.Copy(b, c); b.Close() })
		io.Copy(c, b)
		c.Close()
	})
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

// TestHTTPConnectEarlyBytes: when the proxy's answer to CONNECT and the
// target's first bytes arrive together, none of them is lost. The target
// here speaks first (as an SSH server would); the proxy, a few lines of
// Go, sends its 200 with them in one write.
func TestHTTPConnectEarlyBytes(t *testing.T) {
	cs := newConns(t)
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs.acceptAll(target, func(c net.Conn) {
		c.Write([]byte("hello from the target\n"))
		io.Copy(c, c) // then echo
	})
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs.acceptAll(proxy, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect || req.Host != target.Addr().String() {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			return
		}
		b, err := net.Dial("tcp", req.Host)
		if err != nil {
			return
		}
		cs.add(b)
		first := make([]byte, 64)
		n, _ := b.Read(first)
		c.Write(append([]byte("HTTP/1.1 200 Connection established\r\n\r\n"), first[:n]...))
		cs.goFunc(func() { io.Copy(b, br) })
		io.Copy(c, b)
	})
	d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, "http://"+proxy.Addr().String()))}
	nc, err := d.Dial(ctxT(t), mustURL(t, "tcp://"+target.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(nc)
	line, err := r.ReadString('\n')
	if err != nil || line != "hello from the target\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if _, err := nc.Write([]byte("echo\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "echo\n" {
		t.Fatalf("read %q, %v", line, err)
	}
}

// TestProxySilent: a proxy that accepts and never answers holds a dial no
// longer than its context, for HTTP CONNECT, TLS to the proxy and SOCKS5.
func TestProxySilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newConns(t).acceptAll(ln, nil)
	for _, scheme := range []string{"http", "https", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			d := &transport.Dialer{Proxy: transport.ProxyURL(mustURL(t, scheme+"://u:pw@"+ln.Addr().String()))}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := d.Dial(ctx, mustURL(t, "mqtt://127.0.0.1:1883"))
			if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				t.Errorf("Dial: %v, want the context's deadline", err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Dial returned after %v", el)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
