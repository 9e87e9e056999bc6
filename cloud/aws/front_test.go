package aws

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/certtest"
)

// The tests play AWS IoT Core with real parts on 127.0.0.1: a Go TLS (or
// HTTPS WebSocket) server holding a certificate for a made-up endpoint name,
// which hands the decrypted stream to an in-process Mochi broker. The
// endpoint's name resolves nowhere, so the client reaches the server
// through an HTTP CONNECT proxy that sends every tunnel there: the client
// dials by the endpoint's name as it would in the field (SNI, certificate
// verification and the Host header all see the endpoint), and the proxy
// records which host and port it was asked for.

const (
	testEndpoint = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"
	testRegion   = "eu-west-1"
)

// waitTimeout bounds every wait of the tests.
const waitTimeout = 10 * time.Second

// conns tracks connections and goroutines, to end them with the test.
type conns struct {
	mu     sync.Mutex
	open   map[net.Conn]bool
	wg     sync.WaitGroup
	closed bool
}

func newConns(t *testing.T) *conns {
	cs := &conns{open: map[net.Conn]bool{}}
	t.Cleanup(func() {
		cs.closeAll(true)
		cs.wg.Wait()
	})
	return cs
}

// add tracks c; it reports false, and closes c, once the test is over.
func (cs *conns) add(c net.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		c.Close()
		return false
	}
	cs.open[c] = true
	return true
}

// closeAll closes every tracked connection (and, if final, those to come).
func (cs *conns) closeAll(final bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = cs.closed || final
	for c := range cs.open {
		c.Close()
		delete(cs.open, c)
	}
}

// pipe copies between a and b both ways until either ends, then closes both.
func (cs *conns) pipe(a, b net.Conn) {
	if !cs.add(a) || !cs.add(b) {
		a.Close()
		b.Close()
		return
	}
	cs.wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer cs.wg.Done()
		io.Copy(dst, src)
		a.Close()
		b.Close()
	}
	go cp(a, b)
	go cp(b, a)
}

// serve accepts on ln until the test ends and runs handle on each
// connection.
func (cs *conns) serve(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cs.wg.Add(1)
			go func() {
				defer cs.wg.Done()
				handle(c)
			}()
		}
	}()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// proxy is an HTTP CONNECT proxy that tunnels every request to one address.
type proxy struct {
	URL     *url.URL
	mu      sync.Mutex
	targets []string // the host:port of each CONNECT
}

func startProxy(t *testing.T, cs *conns, to string) *proxy {
	ln := listen(t)
	p := &proxy{URL: &url.URL{Scheme: "http", Host: ln.Addr().String()}}
	cs.serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(waitTimeout))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			c.Close()
			return
		}
		p.mu.Lock()
		p.targets = append(p.targets, req.Host)
		p.mu.Unlock()
		up, err := net.Dial("tcp", to)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			c.Close()
			return
		}
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		c.SetDeadline(time.Time{})
		// The client speaks first only after the 200, so br holds nothing.
		cs.pipe(c, up)
	})
	return p
}

func (p *proxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// tlsFront is a TLS server that hands each connection's decrypted stream to
// a broker, and records each handshake.
type tlsFront struct {
	addr   string
	mu     sync.Mutex
	states []tls.ConnectionState
	errs   []error
}

func startTLSFront(t *testing.T, cs *conns, cfg *tls.Config, broker string) *tlsFront {
	ln := listen(t)
	f := &tlsFront{addr: ln.Addr().String()}
	cs.serve(t, ln, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		f.mu.Lock()
		if err != nil {
			f.errs = append(f.errs, err)
		} else {
			f.states = append(f.states, tc.ConnectionState())
		}
		f.mu.Unlock()
		if err != nil {
			c.Close()
			return
		}
		up, err := net.Dial("tcp", broker)
		if err != nil {
			tc.Close()
			return
		}
		cs.pipe(tc, up)
	})
	return f
}

func (f *tlsFront) handshakes() ([]tls.ConnectionState, []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tls.ConnectionState(nil), f.states...), append([]error(nil), f.errs...)
}

// serverCert issues the endpoint's certificate.
func serverCert(t *testing.T, ca *certtest.CA) tls.Certificate {
	return ca.Issue(t, certtest.Spec{CommonName: testEndpoint, DNSNames: []string{testEndpoint}}).TLSCertificate()
}

// hostPort returns the host:port of a broker URL.
func hostPort(t *testing.T, broker string) string {
	t.Helper()
	u, err := url.Parse(broker)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// roundTrip subscribes to a topic and publishes to it, at QoS 1, and waits
// for the message.
func roundTrip(t *testing.T, c *mqtt.Client, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	got := make(chan string, 1)
	if _, err := c.Subscribe(ctx, func(m *mqtt.Message) {
		select {
		case got <- string(m.Payload):
		default:
		}
	}, mqtt.Subscription{Filter: topic, QoS: mqtt.QoS1}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	want := "hello from " + topic
	if err := c.Publish(ctx, &mqtt.Message{Topic: topic, Payload: []byte(want), QoS: mqtt.QoS1}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("received %q, want %q", p, want)
		}
	case <-ctx.Done():
		t.Fatal("the message did not come back")
	}
	if _, err := c.Unsubscribe(ctx, topic); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
}
