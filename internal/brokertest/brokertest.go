// Package brokertest starts real MQTT brokers for tests: Mosquitto from
// PATH, and Mochi (github.com/mochi-mqtt/server/v2) in process. Both listen
// on a free port of 127.0.0.1 and stop when the test ends.
package brokertest

import (
	"bytes"
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
)

// Broker is a running broker.
type Broker struct {
	Name string // "mosquitto" or "mochi"
	URL  string // mqtt://127.0.0.1:port
	// V31 reports whether the broker speaks MQTT 3.1 (Mochi does not).
	V31 bool
}

// Mochi starts an in-process Mochi broker that lets every client in, with
// the extra hooks given (to script a broker's fault), and stops it when the
// test ends.
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
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, h := range append([]mochi.Hook{new(auth.AllowHook)}, hooks...) {
		if err := s.AddHook(h, nil); err != nil {
			return nil, nil, err
		}
	}
	if err := s.Serve(); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, nil, err
	}
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
				_ = s.EstablishConnection("t", c)
			}()
		}
	}()
	stop := func() {
		ln.Close()
		s.Close()
		wg.Wait()
	}
	return &Broker{Name: "mochi", URL: "mqtt://" + ln.Addr().String()}, stop, nil
}

// Mosquitto starts Mosquitto with a temporary configuration: a listener on
// a free loopback port, anonymous clients allowed, no persistence, plus the
// extra configuration lines given ("$DIR" stands for a temporary folder).
// Without mosquitto on PATH the test fails when the CI variable is set (CI
// installs it) and skips otherwise.
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
	// The free port is found by listening and closing, so another listener
	// may take it before Mosquitto binds it: then Mosquitto exits, and we
	// try again with another port.
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		b, out, err := startMosquitto(t, path, dir, extra)
		if err == nil {
			return b
		}
		lastErr = err.Error() + "\n" + out
	}
	t.Fatalf("mosquitto did not start: %s", lastErr)
	return nil
}

// startMosquitto starts Mosquitto once, on a port free a moment ago.
func startMosquitto(t testing.TB, path, dir string, extra []string) (*Broker, string, error) {
	port := freePort(t)
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		"user root",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"max_inflight_messages 1000",
	}
	conf = append(conf, extra...)
	for i, l := range conf {
		conf[i] = strings.ReplaceAll(l, "$DIR", dir)
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := exec.Command(path, "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			return nil, out.String(), fmt.Errorf("mosquitto exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, out.String(), fmt.Errorf("mosquitto did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() && out.Len() > 0 {
			t.Logf("mosquitto said:\n%s", out.String())
		}
	})
	return &Broker{Name: "mosquitto", URL: "mqtt://" + addr, V31: true}, "", nil
}

// syncBuffer is a bytes.Buffer safe for the writes of a child process's
// output copier and the reads of the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

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
