// Package brokertest starts real MQTT brokers for tests: Mosquitto from
// PATH, and Mochi (github.com/mochi-mqtt/server/v2) in process. Both listen
// on a free port of 127.0.0.1 and stop when the test ends.
package brokertest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running broker.
type Broker struct {
	Name string // "mosquitto" or "mochi"
	URL  string // mqtt://127.0.0.1:port
	// V31 reports whether the broker speaks MQTT 3.1 (Mochi does not).
	V31 bool

	m *mosquitto // the Mosquitto process; nil for Mochi
}

// Mochi starts an in-process Mochi broker that lets every client in, with
// the extra hooks given (to script a broker's fault), and stops it when the
// test ends. A hook that provides OnConnectAuthenticate replaces the
// allow-all one, so that it decides who gets in; it must then answer
// OnACLCheck too.
func Mochi(t testing.TB, hooks ...mochi.Hook) *Broker {
	t.Helper()
	b, stop, err := StartMochi(hooks...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return b
}

// StartMochi starts an in-process Mochi broker that lets every client in,
// with the extra hooks given, on a free port of 127.0.0.1, and returns it
// with the function that stops it.
func StartMochi(hooks ...mochi.Hook) (*Broker, func(), error) {
	s, err := newMochi(hooks...)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Serve(); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return &Broker{Name: "mochi", URL: "mqtt://" + ln.Addr().String()}, serveMochi(s, ln), nil
}

// MochiOn starts an in-process Mochi broker, as Mochi does, that serves
// the connections ln accepts (a unix socket, an IPv6 address), and stops
// it and closes ln when the test ends. Its URL is unix://path for a unix
// socket, mqtt://host:port otherwise.
func MochiOn(t testing.TB, ln net.Listener) *Broker {
	t.Helper()
	s, err := newMochi()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(serveMochi(s, ln))
	u := "mqtt://" + ln.Addr().String()
	if ln.Addr().Network() == "unix" {
		u = "unix://" + ln.Addr().String()
	}
	return &Broker{Name: "mochi", URL: u}
}

// MochiWebSocket starts an in-process Mochi broker that lets every client
// in on a WebSocket listener of a free port of 127.0.0.1, with TLS when
// tlsConfig is not nil (it must hold the server's certificate), and stops
// it when the test ends. Its URL is ws://127.0.0.1:port/mqtt or wss://...;
// Mochi answers on every path.
func MochiWebSocket(t testing.TB, tlsConfig *tls.Config) *Broker {
	t.Helper()
	s, err := newMochi()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ws := listeners.NewWebsocket(listeners.Config{ID: "ws", Address: addr, TLSConfig: tlsConfig})
	if err := s.AddListener(ws); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Mochi waits for its WebSocket connections to end, and it cannot
		// end one that has not sent CONNECT: fail rather than hang.
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("mochi did not stop in 10 seconds: a WebSocket connection that sent no CONNECT is still open")
		}
	})
	// The listener binds in the background: wait until it accepts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mochi's WebSocket listener did not listen on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	scheme := "ws"
	if tlsConfig != nil {
		scheme = "wss"
	}
	return &Broker{Name: "mochi", URL: scheme + "://" + addr + "/mqtt"}
}

// newMochi makes a Mochi server with the hooks given, and one that lets
// every client in unless one of them authenticates.
func newMochi(hooks ...mochi.Hook) (*mochi.Server, error) {
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	authenticates := false
	for _, h := range hooks {
		authenticates = authenticates || h.Provides(mochi.OnConnectAuthenticate)
	}
	if !authenticates {
		hooks = append([]mochi.Hook{new(auth.AllowHook)}, hooks...)
	}
	for _, h := range hooks {
		if err := s.AddHook(h, nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// serveMochi serves the connections ln accepts with s, and returns the
// function that stops both.
func serveMochi(s *mochi.Server, ln net.Listener) func() {
	wait := acceptLoop(ln, func(c net.Conn) { _ = s.EstablishConnection("t", c) })
	return func() {
		ln.Close()
		s.Close()
		wait()
	}
}

// acceptLoop runs handle, on a goroutine of its own, for each connection
// ln accepts, until ln is closed; the returned function waits for the loop
// and the handlers to end.
func acceptLoop(ln net.Listener, handle func(net.Conn)) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	return wg.Wait
}

// Mosquitto starts Mosquitto with a temporary configuration: a listener on
// a free loopback port, anonymous clients allowed, no persistence, plus the
// extra configuration lines given ("$DIR" stands for a temporary folder).
// Without mosquitto on PATH the test fails when the CI variable is set (CI
// installs it) and skips otherwise. The process is stopped when the test
// ends, whatever happened to it meanwhile (see Kill and Restart).
func Mosquitto(t testing.TB, extra ...string) *Broker {
	t.Helper()
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed; .ci/run installs it")
		}
		t.Skip("mosquitto is not installed (apt-get install mosquitto): skipping")
	}
	dir := t.TempDir()
	m := &mosquitto{path: path, confPath: filepath.Join(dir, "mosquitto.conf")}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() && m.out.Len() > 0 {
			t.Logf("mosquitto said:\n%s", m.out.String())
		}
	})
	// The free port is found by listening and closing, so another listener
	// may take it before Mosquitto binds it: then Mosquitto exits, and we
	// try again with another port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		if err := m.writeConf(dir, extra); err != nil {
			t.Fatal(err)
		}
		if lastErr = m.start(); lastErr == nil {
			return &Broker{Name: "mosquitto", URL: "mqtt://" + m.addr, V31: true, m: m}
		}
	}
	t.Fatalf("mosquitto did not start: %v\n%s", lastErr, m.out.String())
	return nil
}

// MosquittoPersistent starts Mosquitto as Mosquitto does, with persistence
// on: its database is in a temporary folder, which outlives Kill and
// Restart.
//
// Mosquitto keeps its state in memory and writes it to the database on
// autosave only (and on a clean exit), so a broker killed with SIGKILL
// restarts from its last save. autosave_on_changes true makes
// autosave_interval count changes instead of seconds, and 1 makes Mosquitto
// save at the end of every pass of its main loop in which one change
// happened: the closest to "save after every change" it offers. But it
// counts only some changes (Mosquitto 2.0 src/database.c, loop.c):
// subscriptions, connections of persistent clients, retained messages,
// messages put in a queue, and completed outgoing deliveries. A QoS 1 or 2
// message taken straight in flight, and the steps of a QoS 2 exchange
// (PUBREC, PUBREL), are not changes: what a SIGKILL can take is every such
// state since the last counted change, including QoS 2 messages Mosquitto
// acknowledged with PUBREC. No setting closes that window.
func MosquittoPersistent(t testing.TB, extra ...string) *Broker {
	t.Helper()
	conf := []string{
		"persistence true",
		"persistence_location $DIR/",
		"autosave_on_changes true",
		"autosave_interval 1",
	}
	return Mosquitto(t, append(conf, extra...)...)
}

// Kill kills Mosquitto with SIGKILL, as a crash or a power loss would, and
// waits for it to exit. Its port and its database stay for Restart.
func (b *Broker) Kill() error {
	if b.m == nil {
		return fmt.Errorf("brokertest: %s cannot be killed", b.Name)
	}
	b.m.kill()
	return nil
}

// Terminate stops Mosquitto with SIGTERM, as a service manager would: it
// saves its database as it exits. Its port and database stay for Restart.
func (b *Broker) Terminate() error {
	if b.m == nil {
		return fmt.Errorf("brokertest: %s cannot be terminated", b.Name)
	}
	b.m.stop()
	return nil
}

// Restart starts Mosquitto again, after Kill or Terminate, on the same port with the
// same configuration and database, and waits until it listens.
func (b *Broker) Restart() error {
	if b.m == nil {
		return fmt.Errorf("brokertest: %s cannot be restarted", b.Name)
	}
	// The port was Mosquitto's a moment ago, so it is usually still free;
	// if another listener took it meanwhile, there is no other port to
	// try: retry for a while.
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = b.m.start(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("mosquitto did not restart on %s: %w\n%s", b.m.addr, err, b.m.out.String())
}

// mosquitto is a Mosquitto process that can be killed and started again on
// the same address, with the same configuration.
type mosquitto struct {
	path, confPath, addr string
	out                  SyncBuffer // what every run printed

	mu     sync.Mutex // guards the fields below
	cmd    *exec.Cmd  // the running process; nil if none
	exited chan error // receives the process's exit, once
}

// writeConf writes the configuration for m.addr.
func (m *mosquitto) writeConf(dir string, extra []string) error {
	_, port, _ := net.SplitHostPort(m.addr)
	conf := []string{
		"listener " + port + " 127.0.0.1",
		"allow_anonymous true",
		"persistence false",
		"user root",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"max_inflight_messages 1000",
	}
	conf = append(conf, extra...) // a later line overrides an earlier one
	for i, l := range conf {
		conf[i] = strings.ReplaceAll(l, "$DIR", dir)
	}
	return os.WriteFile(m.confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600)
}

// start starts the process and waits until it listens on m.addr. When it
// does not, the process is stopped and the error says why.
func (m *mosquitto) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return errors.New("brokertest: mosquitto is running")
	}
	cmd := exec.Command(m.path, "-c", m.confPath)
	cmd.Stdout, cmd.Stderr = &m.out, &m.out
	orphanProof(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			c.Close()
			m.cmd, m.exited = cmd, exited
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("mosquitto exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			signal(cmd, exited, syscall.SIGKILL)
			return fmt.Errorf("mosquitto did not listen on %s: %v", m.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill stops the process, if it runs, with SIGKILL.
func (m *mosquitto) kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		signal(m.cmd, m.exited, syscall.SIGKILL)
		m.cmd = nil
	}
}

// stop stops the process, if it runs: SIGTERM, then SIGKILL after 5
// seconds.
func (m *mosquitto) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		signal(m.cmd, m.exited, syscall.SIGTERM)
		m.cmd = nil
	}
}

// signal sends sig to the process of cmd, by its PID, and waits for it to
// exit, sending SIGKILL after 5 seconds.
func signal(cmd *exec.Cmd, exited chan error, sig syscall.Signal) {
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// SyncBuffer is a bytes.Buffer safe for writes and reads from several
// goroutines: a process's output copier, or a command, and the test that
// reads what it wrote.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *SyncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// TLSListener returns the Mosquitto configuration lines for a TLS listener
// on a free port of 127.0.0.1 with the given files (cafile may be empty when
// no client certificate is asked for), followed by more lines for that
// listener ("require_certificate true", "tls_version tlsv1.3"), and the
// port. Give the lines to Mosquitto.
func TLSListener(t testing.TB, cafile, certfile, keyfile string, more ...string) (lines []string, port int) {
	t.Helper()
	port = freePort(t)
	lines = []string{fmt.Sprintf("listener %d 127.0.0.1", port), "certfile " + certfile, "keyfile " + keyfile}
	if cafile != "" {
		lines = append(lines, "cafile "+cafile)
	}
	return append(lines, more...), port
}

// OrphanProof makes the kernel kill cmd's process when the test binary
// dies without running its cleanups (a panic, a -timeout), for the tools
// (proxies) a test starts itself. It does nothing where the kernel cannot.
func OrphanProof(cmd *exec.Cmd) { orphanProof(cmd) }

// FreePort returns a port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int { return freePort(t) }

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// All returns a function that runs f as a subtest against each broker.
func All(t *testing.T, f func(t *testing.T, b *Broker)) {
	t.Run("mochi", func(t *testing.T) { f(t, Mochi(t)) })
	t.Run("mosquitto", func(t *testing.T) { f(t, Mosquitto(t)) })
}
