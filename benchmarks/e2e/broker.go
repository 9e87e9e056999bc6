package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// broker is a Mosquitto process started for this run, listening on
// loopback only.
type broker struct {
	addr    string // host:port
	version string // "2.0.11"
	conf    string // the configuration file's text
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// brokerConf is the configuration the run uses; %d is the port.
//
// max_queued_messages 0 means no limit in Mosquitto 2.0 (with
// max_queued_bytes and max_inflight_bytes at their default 0): QoS 0
// messages are then always forwarded, never dropped, and QoS 1/2 messages
// beyond the in-flight window queue without bound.
const brokerConf = `listener %d 127.0.0.1
allow_anonymous true
persistence false
user root
max_inflight_messages 1000
max_queued_messages 0
max_connections -1
log_dest stderr
log_type error
log_type warning
connection_messages false
`

// startBroker writes a temporary configuration and starts mosquitto on a
// free loopback port; it returns once the port accepts connections.
func startBroker() (*broker, error) {
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		return nil, fmt.Errorf("mosquitto not found on PATH: %w", err)
	}
	b := &broker{exited: make(chan struct{})}
	b.version = mosquittoVersion(path)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b.dir, err = os.MkdirTemp("", "tern-e2e-")
	if err != nil {
		return nil, err
	}
	b.conf = fmt.Sprintf(brokerConf, port)
	confPath := filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(b.conf), 0o600); err != nil {
		b.cleanup()
		return nil, err
	}
	b.logPath = filepath.Join(b.dir, "mosquitto.log")
	logf, err := os.Create(b.logPath)
	if err != nil {
		b.cleanup()
		return nil, err
	}
	b.cmd = exec.Command(path, "-c", confPath)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	// Its own process group, so that a Ctrl-C in the terminal reaches this
	// program (which stops the broker) and not the broker first.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		logf.Close()
		b.cleanup()
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	go func() {
		b.cmd.Wait()
		logf.Close()
		close(b.exited)
	}()
	b.addr = fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.exited:
			log, _ := os.ReadFile(b.logPath)
			b.cleanup()
			return nil, fmt.Errorf("mosquitto exited at start: %s", strings.TrimSpace(string(log)))
		default:
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, errors.New("mosquitto did not open its port within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether the broker process is still running.
func (b *broker) alive() bool {
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// stop ends the broker (SIGTERM, then SIGKILL after 5 s) and removes its
// files. It returns the broker's log of errors and warnings.
func (b *broker) stop() string {
	if b == nil || b.cmd == nil || b.cmd.Process == nil {
		return ""
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
	log, _ := os.ReadFile(b.logPath)
	b.cleanup()
	return string(log)
}

func (b *broker) cleanup() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// mosquittoVersion asks the binary for its version ("mosquitto version
// 2.0.11" is the first line of its -h output).
func mosquittoVersion(path string) string {
	out, _ := exec.Command(path, "-h").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "mosquitto version "); ok {
			return v
		}
	}
	return "unknown"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
