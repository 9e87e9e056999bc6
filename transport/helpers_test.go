package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
)

// ctxT returns a context that ends with the test, or after 30 seconds.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// needTool returns the path of a program the test needs. Without it the
// test fails when the CI variable is set (CI must install it) and skips
// otherwise.
func needTool(t *testing.T, name, debPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; CI must install the Debian package %s", name, debPackage)
		}
		t.Skipf("%s is not installed (apt-get install %s): skipping", name, debPackage)
	}
	return path
}

// roundTrip connects a client with cfg, subscribes, publishes a QoS 1
// message and a QoS 0 one to itself, receives both, and disconnects.
func roundTrip(t *testing.T, cfg mqtt.Config) {
	t.Helper()
	ctx := ctxT(t)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	c, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", cfg.Broker, err)
	}
	defer c.Close()
	in := make(chan *mqtt.Message, 10)
	topic := "tern/transport/" + t.Name()
	if _, err := c.Subscribe(ctx, func(m *mqtt.Message) { in <- m }, mqtt.Subscription{Filter: topic, QoS: 1}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	for _, q := range []mqtt.QoS{1, 0} {
		payload := fmt.Sprintf("hello over %s, QoS %d", cfg.Broker, q)
		if err := c.Publish(ctx, &mqtt.Message{Topic: topic, QoS: q, Payload: []byte(payload)}); err != nil {
			t.Fatalf("Publish QoS %d: %v", q, err)
		}
		select {
		case m := <-in:
			if string(m.Payload) != payload || m.Topic != topic {
				t.Fatalf("received %q on %q, want %q on %q", m.Payload, m.Topic, payload, topic)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the QoS %d message did not come back", q)
		}
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
}

// mustURL parses s.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// portOf returns the port of a broker's URL.
func portOf(t *testing.T, broker string) string {
	t.Helper()
	return mustURL(t, broker).Port()
}

// process is a program a test started; it is stopped, by its PID, when
// the test ends.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    brokertest.SyncBuffer
	exited chan error
}

// start starts the program with args and waits until addr accepts TCP
// connections. It reports an error, having stopped the program, when the
// program exits first (its port was taken: the caller may try another).
// secrets are blanked out of the output the test logs on failure.
func start(t *testing.T, addr string, secrets []string, path string, args ...string) (*process, error) {
	t.Helper()
	p := &process{name: filepath.Base(path), cmd: exec.Command(path, args...), exited: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	brokertest.OrphanProof(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			out := p.out.String()
			for _, s := range secrets {
				out = strings.ReplaceAll(out, s, "[secret]")
			}
			if out != "" {
				t.Logf("%s said:\n%s", p.name, out)
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return nil, fmt.Errorf("%s exited: %v", p.name, err)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s: %v", p.name, addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM to the process, then SIGKILL after 5 seconds, and
// waits for it to exit. It may be called more than once.
func (p *process) stop() {
	select {
	case err := <-p.exited:
		p.exited <- err
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		p.exited <- <-p.exited
	}
}

// tinyproxyOptions configure a tinyproxy.
type tinyproxyOptions struct {
	ConnectPorts []string // the ports CONNECT may reach
	User, Pass   string   // BasicAuth, if User is not empty
}

// tinyproxy is a running tinyproxy.
type tinyproxy struct {
	Addr    string // 127.0.0.1:port
	logPath string
}

// connects returns how many CONNECT requests to target tinyproxy logged.
func (p *tinyproxy) connects(t *testing.T, target string) int {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "CONNECT "+target+" ")
}

// startTinyproxy starts tinyproxy on a free port of 127.0.0.1.
func startTinyproxy(t *testing.T, o tinyproxyOptions) *tinyproxy {
	t.Helper()
	path := needTool(t, "tinyproxy", "tinyproxy-bin")
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := brokertest.FreePort(t)
		conf := []string{
			fmt.Sprintf("Port %d", port),
			"Listen 127.0.0.1",
			"Allow 127.0.0.1",
			"Timeout 60",
			"MaxClients 50",
			"LogLevel Info",
			fmt.Sprintf("LogFile %q", filepath.Join(dir, "tinyproxy.log")),
			fmt.Sprintf("PidFile %q", filepath.Join(dir, "tinyproxy.pid")),
		}
		for _, p := range o.ConnectPorts {
			conf = append(conf, "ConnectPort "+p)
		}
		if o.User != "" {
			conf = append(conf, fmt.Sprintf("BasicAuth %s %s", o.User, o.Pass))
		}
		confPath := filepath.Join(dir, "tinyproxy.conf")
		if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var secrets []string
		if o.Pass != "" {
			secrets = append(secrets, o.Pass)
		}
		if _, lastErr = start(t, addr, secrets, path, "-d", "-c", confPath); lastErr == nil {
			return &tinyproxy{Addr: addr, logPath: filepath.Join(dir, "tinyproxy.log")}
		}
	}
	t.Fatalf("tinyproxy did not start: %v", lastErr)
	return nil
}

// startMicrosocks starts microsocks on a free port of 127.0.0.1, with
// username and password authentication if user is not empty, and returns
// its address.
func startMicrosocks(t *testing.T, user, pass string) string {
	t.Helper()
	path := needTool(t, "microsocks", "microsocks")
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := brokertest.FreePort(t)
		args := []string{"-i", "127.0.0.1", "-p", fmt.Sprint(port)}
		var secrets []string
		if user != "" {
			args = append(args, "-u", user, "-P", pass)
			secrets = append(secrets, pass)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if _, lastErr = start(t, addr, secrets, path, args...); lastErr == nil {
			return addr
		}
	}
	t.Fatalf("microsocks did not start: %v", lastErr)
	return ""
}

// logRecorder is a slog.Handler keeping the records it is given.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// text returns every record as text, one a line.
func (h *logRecorder) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b bytes.Buffer
	for _, r := range h.records {
		fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		b.WriteByte('\n')
	}
	return b.String()
}

// count returns the number of records at level whose message holds s.
func (h *logRecorder) count(level slog.Level, s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level && strings.Contains(r.Message, s) {
			n++
		}
	}
	return n
}

// noSecret fails the test if err's text holds any of secrets.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	text := err.Error()
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "[secret]")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error holds the secret %q: %s", s, text)
		}
	}
}

// conns keeps the connections and goroutines of a test's own servers, and
// closes and waits for them when the test ends.
type conns struct {
	mu sync.Mutex
	cs []io.Closer
	wg sync.WaitGroup
}

func newConns(t *testing.T) *conns {
	s := &conns{}
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.cs {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// add keeps cs to close at the end.
func (s *conns) add(cs ...io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cs = append(s.cs, cs...)
}

// goFunc runs f in a goroutine that the end of the test waits for.
func (s *conns) goFunc(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// acceptAll accepts connections on ln, keeps them, and hands each to
// serve (if not nil) in a goroutine of its own.
func (s *conns) acceptAll(ln net.Listener, serve func(net.Conn)) {
	s.add(ln)
	s.goFunc(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.add(c)
			if serve != nil {
				s.goFunc(func() { serve(c) })
			}
		}
	})
}
