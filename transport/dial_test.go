package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

func TestDefaultPortAndIsTLS(t *testing.T) {
	for _, tc := range []struct {
		scheme, port string
		tls          bool
	}{
		{"mqtt", "1883", false}, {"tcp", "1883", false},
		{"mqtts", "8883", true}, {"ssl", "8883", true}, {"tls", "8883", true},
		{"ws", "80", false}, {"wss", "443", true},
		{"unix", "", false}, {"http", "", false}, {"", "", false},
	} {
		if got := transport.DefaultPort(tc.scheme); got != tc.port {
			t.Errorf("DefaultPort(%q) = %q, want %q", tc.scheme, got, tc.port)
		}
		if got := transport.IsTLS(tc.scheme); got != tc.tls {
			t.Errorf("IsTLS(%q) = %v, want %v", tc.scheme, got, tc.tls)
		}
	}
}

// errAddrSeen stops a dial once its address is known.
var errAddrSeen = errors.New("address seen")

// TestDialDefaultPorts: a URL without a port dials the scheme's default,
// for names, IPv4 and IPv6 literals. The dial is stopped before it
// connects, so nothing needs to listen on the well-known ports.
func TestDialDefaultPorts(t *testing.T) {
	for _, tc := range []struct{ url, addr string }{
		{"mqtt://127.0.0.1", "127.0.0.1:1883"},
		{"tcp://127.0.0.1", "127.0.0.1:1883"},
		{"mqtts://127.0.0.1", "127.0.0.1:8883"},
		{"ssl://127.0.0.1", "127.0.0.1:8883"},
		{"tls://127.0.0.1", "127.0.0.1:8883"},
		{"ws://127.0.0.1", "127.0.0.1:80"},
		{"ws://127.0.0.1/other?x=1", "127.0.0.1:80"},
		{"wss://127.0.0.1", "127.0.0.1:443"},
		{"mqtt://[::1]", "[::1]:1883"},
		{"wss://[::1]/mqtt", "[::1]:443"},
		{"mqtt://127.0.0.1:1234", "127.0.0.1:1234"},
		{"ws://[::1]:8080", "[::1]:8080"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			d := &transport.Dialer{NetDialer: &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, address)
				return errAddrSeen
			}}}
			_, err := d.Dial(ctxT(t), mustURL(t, tc.url))
			if !errors.Is(err, errAddrSeen) {
				t.Fatalf("Dial: %v, want the dial stopped", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != tc.addr {
				t.Fatalf("dialed %q, want %q", got, tc.addr)
			}
		})
	}
}

func TestDialBadURLs(t *testing.T) {
	d := &transport.Dialer{}
	for _, tc := range []struct {
		url    string
		scheme bool // ErrScheme expected
	}{
		{"http://127.0.0.1:1883", true},
		{"mqtt+ssl://127.0.0.1", true},
		{"mqtt://", false},
		{"mqtt://:1883", false},
		{"wss:///mqtt", false},
		{"unix://", false},
		{"unix:", false},
	} {
		_, err := d.Dial(ctxT(t), mustURL(t, tc.url))
		if err == nil {
			t.Errorf("Dial %s: no error", tc.url)
			continue
		}
		if errors.Is(err, transport.ErrScheme) != tc.scheme {
			t.Errorf("Dial %s: %v; ErrScheme expected: %v", tc.url, err, tc.scheme)
		}
		if !strings.HasPrefix(err.Error(), "transport: ") {
			t.Errorf("Dial %s: %q does not start with transport:", tc.url, err)
		}
	}
}

// TestUnix: a round trip over a unix socket, to Mochi (unix://path and
// unix:path) and to Mosquitto's unix listener.
func TestUnix(t *testing.T) {
	t.Run("mochi", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mochi.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		b := brokertest.MochiOn(t, ln)
		if b.URL != "unix://"+path {
			t.Fatalf("URL %q", b.URL)
		}
		roundTrip(t, mqtt.Config{Broker: b.URL})
		roundTrip(t, mqtt.Config{Broker: "unix:" + path})
	})
	t.Run("mosquitto", func(t *testing.T) {
		needTool(t, "mosquitto", "mosquitto")
		path := filepath.Join(t.TempDir(), "mosquitto.sock")
		brokertest.Mosquitto(t, "listener 0 "+path)
		roundTrip(t, mqtt.Config{Broker: "unix://" + path})
	})
	t.Run("no socket", func(t *testing.T) {
		_, err := (&transport.Dialer{}).Dial(ctxT(t), mustURL(t, "unix://"+filepath.Join(t.TempDir(), "none.sock")))
		if !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("Dial to a missing socket: %v, want ENOENT", err)
		}
	})
}

// listenIPv6 listens on [::1], or skips the test on a machine without
// IPv6 loopback.
func listenIPv6(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("this machine has no IPv6 loopback address ::1 (%v): skipping", err)
	}
	return ln
}

// TestIPv6: round trips to a broker on [::1], over mqtt, mqtts (the
// certificate names ::1; ServerName is taken from the bracketed literal)
// and ws.
func TestIPv6(t *testing.T) {
	t.Run("mqtt", func(t *testing.T) {
		b := brokertest.MochiOn(t, listenIPv6(t))
		if !strings.HasPrefix(b.URL, "mqtt://[::1]:") {
			t.Fatalf("URL %q", b.URL)
		}
		roundTrip(t, mqtt.Config{Broker: b.URL})
	})
	t.Run("mqtts", func(t *testing.T) {
		ca := certtest.NewCA(t, "Tern IPv6 CA")
		srv := ca.Server(t)
		ln := tls.NewListener(listenIPv6(t), &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}})
		b := brokertest.MochiOn(t, ln)
		roundTrip(t, mqtt.Config{Broker: "mqtts" + strings.TrimPrefix(b.URL, "mqtt"), TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
	})
	t.Run("ws", func(t *testing.T) {
		b := brokertest.Mochi(t)
		front := &wsFront{broker: mustURL(t, b.URL).Host, protos: []string{"mqtt"}, minBatch: 1}
		hs := httptest.NewUnstartedServer(front)
		hs.Listener.Close()
		hs.Listener = listenIPv6(t)
		hs.Start()
		t.Cleanup(hs.Close)
		roundTrip(t, mqtt.Config{Broker: "ws" + strings.TrimPrefix(hs.URL, "http") + "/mqtt"})
	})
}

// mochiTLS starts Mochi behind a TLS listener on 127.0.0.1 with a
// certificate of ca, and returns its mqtts:// URL.
func mochiTLS(t *testing.T, ca *certtest.CA) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ca.Server(t)
	b := brokertest.MochiOn(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}}))
	return "mqtts" + strings.TrimPrefix(b.URL, "mqtt")
}

// TestInsecureSkipVerifyWarns: InsecureSkipVerify is logged as a warning at
// each connection, through the Dialer's Logger and through the client's;
// verified connections log no warning.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	ca := certtest.NewCA(t, "Tern throwaway CA")
	broker := mochiTLS(t, ca)
	wss := brokertest.MochiWebSocket(t, &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()}})

	t.Run("Dialer", func(t *testing.T) {
		for _, u := range []string{broker, wss.URL} {
			rec := &logRecorder{}
			d := &transport.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}, Logger: slog.New(rec)}
			for range 2 {
				nc, err := d.Dial(ctxT(t), mustURL(t, u))
				if err != nil {
					t.Fatal(err)
				}
				nc.Close()
			}
			if n := rec.count(slog.LevelWarn, "InsecureSkipVerify"); n != 2 {
				t.Errorf("%s: %d warnings for two connections, want 2; logged:\n%s", u, n, rec.text())
			}
		}
	})
	t.Run("client", func(t *testing.T) {
		rec := &logRecorder{}
		roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: &tls.Config{InsecureSkipVerify: true}, Logger: slog.New(rec)})
		if n := rec.count(slog.LevelWarn, "InsecureSkipVerify"); n != 1 {
			t.Errorf("%d warnings, want 1; logged:\n%s", n, rec.text())
		}
	})
	t.Run("TLSOptions", func(t *testing.T) {
		cfg, err := (&transport.TLSOptions{InsecureSkipVerify: true}).Config()
		if err != nil {
			t.Fatal(err)
		}
		rec := &logRecorder{}
		roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg, Logger: slog.New(rec)})
		if n := rec.count(slog.LevelWarn, "InsecureSkipVerify"); n != 1 {
			t.Errorf("%d warnings, want 1; logged:\n%s", n, rec.text())
		}
	})
	t.Run("verified", func(t *testing.T) {
		rec := &logRecorder{}
		roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: &tls.Config{RootCAs: ca.Pool()}, Logger: slog.New(rec)})
		if n := rec.count(slog.LevelWarn, ""); n != 0 {
			t.Errorf("%d warnings, want none; logged:\n%s", n, rec.text())
		}
	})
}

// TestErrorsHideSecrets: whatever fails, the error of a dial to a
// presigned-looking wss:// URL holds neither its query (the signature, the
// session token) nor a password of the URL, and neither do the client's
// logs.
func TestErrorsHideSecrets(t *testing.T) {
	const query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=SECRETSIG&X-Amz-Security-Token=SECRETTOKEN"
	secrets := []string{"SECRETSIG", "SECRETTOKEN", "SECRETPW"}
	ca := certtest.NewCA(t, "Tern wss CA")
	refusing := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "signature does not match", http.StatusForbidden)
	}))
	refusing.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake errors are expected
	refusing.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()}}
	refusing.StartTLS()
	t.Cleanup(refusing.Close)
	closed := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	rootsTLS := &tls.Config{RootCAs: ca.Pool()}
	for _, tc := range []struct {
		name  string
		url   string
		d     transport.Dialer
		check func(t *testing.T, err error)
	}{
		{name: "refused connection", url: "wss://" + closed + "/mqtt?" + query, d: transport.Dialer{TLSConfig: rootsTLS}},
		{name: "403", url: "wss://" + strings.TrimPrefix(refusing.URL, "https://") + "/mqtt?" + query, d: transport.Dialer{TLSConfig: rootsTLS},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "403") {
					t.Errorf("%v does not say 403", err)
				}
			}},
		{name: "unknown CA", url: "wss://" + strings.TrimPrefix(refusing.URL, "https://") + "/mqtt?" + query},
		{name: "password in the URL", url: "wss://user:SECRETPW@" + strings.TrimPrefix(refusing.URL, "https://") + "/mqtt?" + query, d: transport.Dialer{TLSConfig: rootsTLS}},
		{name: "no host", url: "wss:///mqtt?" + query},
		{name: "ws no host", url: "ws://user:SECRETPW@/mqtt?" + query},
		{name: "proxy function fails", url: "wss://" + closed + "/mqtt?" + query, d: transport.Dialer{
			Proxy: func(*url.URL) (*url.URL, error) { return nil, errors.New("no proxy today") }}},
		{name: "proxy refuses", url: "wss://" + closed + "/mqtt?" + query, d: transport.Dialer{
			Proxy: transport.ProxyURL(mustURL(t, "http://user:SECRETPW@"+closed))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := mustURL(t, tc.url)
			_, err := tc.d.Dial(ctxT(t), u)
			noSecret(t, err, secrets...)
			if tc.check != nil {
				tc.check(t, err)
			}
			// The same through the client, with its logs.
			rec := &logRecorder{}
			d := tc.d
			_, err = mqtt.Dial(ctxT(t), mqtt.Config{Broker: tc.url, Dialer: &d, Logger: slog.New(rec)})
			noSecret(t, err, secrets...)
			noSecret(t, errors.New(rec.text()+"."), secrets...)
		})
	}
}

// TestDialContext: a dial ends when its context does.
func TestDialContext(t *testing.T) {
	// A listener that never answers the WebSocket handshake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newConns(t).acceptAll(ln, nil)
	for _, scheme := range []string{"ws", "mqtts", "wss"} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		u := mustURL(t, scheme+"://"+ln.Addr().String())
		_, err := (&transport.Dialer{}).Dial(ctx, u)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Dial with a cancelled context: %v, want context.Canceled", scheme, err)
		}
	}
}

// TestWebSocketRedirectRefused: a WebSocket server that answers the
// handshake with a redirect gets an error naming the status; the client
// does not follow it (the connection would still go to the first host).
func TestWebSocketRedirectRefused(t *testing.T) {
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		http.Redirect(w, r, "ws://198.51.100.1/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	d := &transport.Dialer{}
	nc, err := d.Dial(ctxT(t), mustURL(t, "ws://"+srv.Listener.Addr().String()+"/mqtt"))
	if err == nil {
		nc.Close()
		t.Fatal("Dial followed or accepted a redirect")
	}
	if !strings.Contains(err.Error(), "302") {
		t.Fatalf("the error does not name the redirect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("%d requests; want 1", hits)
	}
}
