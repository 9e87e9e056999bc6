package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The demo in a real terminal: the tern binary runs in a tmux pane (a
// pseudo-terminal), keys are typed with send-keys and the screen is read
// with capture-pane.

// tmuxServer is a tmux server on a private socket, killed when the test
// ends.
type tmuxServer struct {
	t      *testing.T
	socket string
	env    []string
}

func newTmux(t *testing.T) *tmuxServer {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed; .ci/run installs it")
		}
		t.Skip("tmux is not installed (apt-get install tmux): skipping the terminal test")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	s := &tmuxServer{t: t, socket: fmt.Sprintf("tern-test-%d-%d", os.Getpid(), time.Now().UnixNano()), env: append(env, "TERM=xterm-256color")}
	t.Cleanup(func() { s.run("kill-server") })
	return s
}

// run runs a tmux command on the private server and returns its output.
func (s *tmuxServer) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *tmuxServer) must(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return out
}

// screen returns the pane's text, its history included, without colors;
// with escapes, with them.
func (s *tmuxServer) screen(escapes bool) string {
	args := []string{"capture-pane", "-p", "-J", "-S", "-500", "-t", "demo"}
	if escapes {
		args = append(args, "-e")
	}
	out, _ := s.run(args...)
	return out
}

func (s *tmuxServer) waitFor(re string, n int) {
	s.t.Helper()
	waitFor(s.t, "the terminal", func() string { return s.screen(false) }, re, n)
}

// statusLine returns the last line of the screen that is not empty: the
// demo's status line while it runs.
func (s *tmuxServer) statusLine() string {
	lines := strings.Split(strings.TrimRight(s.screen(false), "\n "), "\n")
	return lines[len(lines)-1]
}

func (s *tmuxServer) waitStatus(re string) {
	s.t.Helper()
	waitFor(s.t, "the status line", s.statusLine, re, 1)
}

// buildTern builds the tern command into a temporary folder.
func buildTern(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tern")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// In a terminal, a key press toggles the LED (Enter and space, read in raw
// mode: no Enter needed after a space), the status line shows the LED in
// color, another demo on the same broker toggles it too, that demo's Last
// Will arrives when it is killed, and Ctrl-C ends the demo with 130 and
// gives the terminal back in its usual mode.
func TestDemoInTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	tm := newTmux(t)
	bin := buildTern(t)
	// The shell prints the exit code and the terminal's modes after the
	// demo, and the pane stays for capture-pane.
	script := fmt.Sprintf("'%s' demo; echo \"exit=$?\"; stty -a", bin)
	tm.must("new-session", "-d", "-s", "demo", "-x", "100", "-y", "30", "sh", "-c", script,
		";", "set-option", "-t", "demo", "remain-on-exit", "on")
	defer tm.run("kill-session", "-t", "demo")

	tm.waitFor(`press Enter or space to toggle the LED, q to quit`, 1)
	tm.waitStatus(`^LED \[ off \]  connected  · Enter/space: press, q: quit$`)

	tm.must("send-keys", "-t", "demo", "Space")
	tm.waitFor(`(?m)^LED \[ ON \]$`, 1)
	tm.waitStatus(`^LED \[ ON \]  connected`)
	if colored := tm.screen(true); !regexp.MustCompile(`LED \[\x1b\[[0-9;]*m+.*ON`).MatchString(colored) {
		t.Errorf("the lit LED has no color on the terminal:\n%q", colored)
	}
	tm.must("send-keys", "-t", "demo", "Enter")
	tm.waitFor(`(?m)^LED \[ off \]$`, 2)
	tm.waitStatus(`^LED \[ off \]  connected`)

	// Another demo joins the first one's broker and presses its button.
	m := regexp.MustCompile(`in-process MQTT broker on (mqtt://127\.0\.0\.1:\d+)`).FindStringSubmatch(tm.screen(false))
	if m == nil {
		t.Fatalf("no broker URL on the screen:\n%s", tm.screen(false))
	}
	other := exec.Command(bin, "demo", "--broker", m[1], "--retries", "1")
	keys, err := other.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var otherOut syncBuffer
	other.Stdout, other.Stderr = &otherOut, &otherOut
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	waitFor(t, "the other demo", otherOut.String, `subscribed to`, 1)
	tm.waitFor(`received tern/demo/ledstatus/status  QoS 1  "online"`, 2)
	io.WriteString(keys, "\n")
	waitFor(t, "the other demo", otherOut.String, `press 1: publishing "TURN ON"`, 1)
	tm.waitFor(`(?m)^LED \[ ON \]$`, 2)
	tm.waitStatus(`^LED \[ ON \]`)

	// Killed, it sends no DISCONNECT: the broker publishes its Will.
	other.Process.Signal(syscall.SIGKILL)
	other.Wait()
	tm.waitFor(`received tern/demo/ledstatus/status  QoS 1  "offline"`, 1)

	tm.must("send-keys", "-t", "demo", "C-c")
	tm.waitFor(`(?m)^exit=\d+$`, 1)
	s := tm.screen(false)
	if !regexp.MustCompile(`(?m)^exit=130$`).MatchString(s) {
		t.Fatalf("the demo's exit code after Ctrl-C is not 130:\n%s", s)
	}
	for _, want := range []string{"interrupted", "disconnected", "stopped", "in-process broker stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("the screen lacks %q:\n%s", want, s)
		}
	}
	// stty -a lists "icanon" and "echo" (not "-icanon", "-echo") once the
	// demo has restored the terminal.
	tm.waitFor(`\bspeed\b`, 1)
	s = tm.screen(false)
	stty := s[strings.Index(s, "exit=130"):]
	for _, mode := range []string{"icanon", "echo", "isig", "opost"} {
		if !regexp.MustCompile(`(^|\s)` + mode + `(\s|$)`).MatchString(stty) {
			t.Errorf("the terminal was not restored: no %q in stty -a:\n%s", mode, stty)
		}
	}
}

// In a terminal, with the broker killed under it, the demo shows each
// reconnection attempt and the status line says so; when the broker is
// back it reconnects and the button works again.
func TestDemoInTerminalReconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tm := newTmux(t)
	bin := buildTern(t)
	script := fmt.Sprintf("'%s' demo --broker %s --retry-interval 100ms --retries 0; echo \"exit=$?\"", bin, b.URL)
	tm.must("new-session", "-d", "-s", "demo", "-x", "100", "-y", "30", "sh", "-c", script,
		";", "set-option", "-t", "demo", "remain-on-exit", "on")
	defer tm.run("kill-session", "-t", "demo")
	tm.waitStatus(`^LED \[ off \]  connected`)

	b.Stop()
	tm.waitFor(`connection lost: `, 1)
	tm.waitFor(`connecting to mqtt://127\.0\.0\.1:\d+ \(attempt \d+\)`, 2)
	tm.waitFor(`attempt \d+ failed: .*connection refused`, 2)
	tm.waitStatus(`^LED \[ off \]  (re)?connecting`)

	b2, err := restartBroker(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Stop()
	tm.waitStatus(`^LED \[ off \]  connected`)
	tm.must("send-keys", "-t", "demo", "Space")
	tm.waitFor(`(?m)^LED \[ ON \]$`, 1)
	tm.must("send-keys", "-t", "demo", "q")
	tm.waitFor(`(?m)^exit=0$`, 1)
}
