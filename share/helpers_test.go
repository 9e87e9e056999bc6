package share

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/faultproxy"
)

// childEnv sends this test binary, run again, to childMain: a secondary in
// a process of its own. Its value is the socket path.
const childEnv = "TERN_SHARE_CHILD"

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		switch os.Getenv("TERN_SHARE_ROLE") {
		case "publisher":
			os.Exit(childPublisher(p, os.Getenv("TERN_SHARE_PREFIX")))
		case "primary":
			os.Exit(childPrimary(p, os.Getenv("TERN_SHARE_BROKER")))
		case "agent":
			os.Exit(childAgent(p, os.Getenv("TERN_SHARE_EVENTS") != ""))
		}
		os.Exit(childMain(p, os.Getenv("TERN_SHARE_FILTER")))
	}
	os.Exit(m.Run())
}

// childMain subscribes to filter through the primary at path, prints
// "ready", then the payload of every message it receives, one a line.
func childMain(path, filter string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, path, "", mqtt.Config{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var mu sync.Mutex
	if _, err := s.Subscribe(ctx, func(m *mqtt.Message) {
		mu.Lock()
		fmt.Println(string(m.Payload))
		mu.Unlock()
	}, mqtt.Subscription{Filter: filter, QoS: 1}); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return 0
}

// startChild starts a secondary process subscribed to filter and waits
// until it is; its output lines come on the channel.
func startChild(t *testing.T, path, filter string) (*exec.Cmd, <-chan string) {
	t.Helper()
	return startProc(t, path, "TERN_SHARE_FILTER="+filter)
}

// startProc starts this test binary again as a child process with
// childEnv=path and env, and waits until it prints "ready"; its later
// output lines come on the channel.
func startProc(t *testing.T, path string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd, _, lines := spawn(t, path, env...)
	return cmd, lines
}

// spawn is startProc, and also returns the child's standard input: a
// child that reads it ends when it is closed.
func spawn(t *testing.T, path string, env ...string) (*exec.Cmd, io.WriteCloser, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+path), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	brokertest.OrphanProof(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 10000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("child: %s", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child not ready")
	}
	return cmd, in, lines
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sockPath returns a socket path short enough for sun_path.
func sockPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "tsh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

var fastBackoff = mqtt.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}

// dialBroker connects a client to the broker at url directly.
func dialBroker(t *testing.T, url string, cfg mqtt.Config) *mqtt.Client {
	t.Helper()
	cfg.Broker = url
	c, err := mqtt.Dial(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// primary starts a Server for one upstream client connected to url,
// listening on a fresh socket.
func primary(t *testing.T, url string, opts Options) (*Server, string, *mqtt.Client) {
	t.Helper()
	up := dialBroker(t, url, mqtt.Config{Reconnect: true, Backoff: fastBackoff})
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	srv, err := NewServer(opts, map[string]*mqtt.Client{"main": up})
	if err != nil {
		t.Fatal(err)
	}
	path := sockPath(t)
	if err := srv.Listen(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, path, up
}

func secondary(t *testing.T, path string, cfg mqtt.Config) *Secondary {
	t.Helper()
	if cfg.Backoff == (mqtt.Backoff{}) {
		cfg.Backoff = fastBackoff
	}
	s, err := Dial(ctxT(t), path, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// inbox collects messages.
type inbox chan *mqtt.Message

func newInbox() inbox                    { return make(inbox, 10000) }
func (in inbox) handler(m *mqtt.Message) { in <- m }

// next returns the next message or fails after d.
func (in inbox) next(t *testing.T, d time.Duration) *mqtt.Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(d):
		t.Fatal("no message")
		return nil
	}
}

// none checks that nothing arrives within d.
func (in inbox) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-in:
		t.Fatalf("unexpected message %s %q", m.Topic, m.Payload)
	case <-time.After(d):
	}
}

// eventually polls cond until it holds or 5 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o644) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func faultproxyNew(t *testing.T, url string) *faultproxy.Proxy {
	return faultproxy.New(t, strings.TrimPrefix(url, "mqtt://"))
}
