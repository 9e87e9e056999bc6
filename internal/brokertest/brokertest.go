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

// Mochi starts an in-process Mochi broker that lets every client in, and
// stops it when the test ends.
func Mochi(t testing.TB) *Broker {
	t.Helper()
	b, stop, err := StartMochi()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return b
}

// StartMochi starts an in-process Mochi broker that lets every client in,
// on a free port of 127.0.0.1, and returns it with the function that stops
// it.
func StartMochi() (*Broker, func(), error) {
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
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
// extra configuration lines given. Without mosquitto on PATH the test
// fails when the CI variable is set (CI installs it) and skips otherwise.
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
	var out bytes.Buffer
	cmd := exec.Command(path, "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("mosquitto said:\n%s", out.String())
		}
	})
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
			t.Fatalf("mosquitto exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &Broker{Name: "mosquitto", URL: "mqtt://" + addr, V31: true}
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
