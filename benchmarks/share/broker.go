package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// startBroker starts the broker of the run on a free loopback port and
// returns its address, a description, and the function that stops it.
func startBroker(kind string) (addr, desc string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	addr = ln.Addr().String()
	switch kind {
	case "mochi":
		s := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
			return "", "", nil, err
		}
		ln.Close()
		if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
			return "", "", nil, err
		}
		if err := s.Serve(); err != nil {
			return "", "", nil, err
		}
		return addr, "Mochi v2 (in this process)", func() { s.Close() }, nil
	case "mosquitto":
		ln.Close()
		path, err := exec.LookPath("mosquitto")
		if err != nil {
			return "", "", nil, fmt.Errorf("mosquitto not on PATH (or use -broker mochi): %w", err)
		}
		dir, err := os.MkdirTemp("", "tern-share-bench-")
		if err != nil {
			return "", "", nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		conf := filepath.Join(dir, "m.conf")
		text := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nmax_inflight_messages 1000\nmax_queued_messages 0\nlog_dest stderr\nlog_type error\n", port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return "", "", nil, err
		}
		cmd := exec.Command(path, "-c", conf)
		if err := cmd.Start(); err != nil {
			os.RemoveAll(dir)
			return "", "", nil, err
		}
		stop := func() {
			cmd.Process.Kill()
			cmd.Wait()
			os.RemoveAll(dir)
		}
		for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
			if time.Now().After(end) {
				stop()
				return "", "", nil, fmt.Errorf("mosquitto did not listen on %s", addr)
			}
		}
		v, _ := exec.Command(path, "-h").CombinedOutput()
		first, _, _ := strings.Cut(string(v), "\n")
		return addr, strings.TrimSpace(first) + " (another process)", stop, nil
	}
	return "", "", nil, fmt.Errorf("-broker %q: mosquitto or mochi", kind)
}
