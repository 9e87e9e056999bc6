package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// The demo end to end, through run, against the in-process broker: the
// button (a pipe for the keyboard, or --press-every) publishes, the LED
// follows, and the demo's output tells it all.

// syncBuffer is an io.Writer for a command's output that the test reads
// while the command writes.
type syncBuffer = brokertest.SyncBuffer

// waitDeadline bounds every wait for output: generous, as the machine may
// be busy; a passing test waits only as long as the output takes.
const waitDeadline = 30 * time.Second

// waitFor waits until read's text matches re at least n times, and fails
// the test at the deadline.
func waitFor(t *testing.T, what string, read func() string, re string, n int) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(waitDeadline)
	for {
		s := read()
		if len(rx.FindAllStringIndex(s, -1)) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %d× %q within %v; the output:\n%s", what, n, re, waitDeadline, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ledLines returns the LED's states in the order the output drew them.
func ledLines(out string) []string {
	var leds []string
	for _, m := range regexp.MustCompile(`(?m)^LED \[ (ON|off) \]$`).FindAllStringSubmatch(out, -1) {
		leds = append(leds, m[1])
	}
	return leds
}

// runningDemo is tern demo running in a goroutine of the test.
type runningDemo struct {
	out, errOut *syncBuffer
	keys        *io.PipeWriter // the keyboard
	cancel      context.CancelFunc
	code        chan int
}

// startDemo runs "tern demo args..." with a pipe for its keyboard. The
// test's end interrupts it if it still runs.
func startDemo(t *testing.T, args ...string) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &runningDemo{out: new(syncBuffer), errOut: new(syncBuffer), keys: pw, cancel: cancel, code: make(chan int, 1)}
	go func() {
		d.code <- run(ctx, append([]string{"demo"}, args...), pr, d.out, d.errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.code:
		case <-time.After(waitDeadline):
			t.Errorf("the demo did not end after its context did; its output:\n%s", d.out.String())
		}
		pw.Close()
	})
	return d
}

func (d *runningDemo) press(t *testing.T, keys string) {
	t.Helper()
	if _, err := io.WriteString(d.keys, keys); err != nil {
		t.Fatal(err)
	}
}

func (d *runningDemo) waitFor(t *testing.T, re string, n int) {
	t.Helper()
	waitFor(t, "demo output", d.out.String, re, n)
}

// wait waits for the demo to end and returns its exit code.
func (d *runningDemo) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-d.code:
		d.code <- code // for the cleanup
		return code
	case <-time.After(waitDeadline):
		t.Fatalf("the demo did not end; its output:\n%s", d.out.String())
		return -1
	}
}

// --press-every and --count: four presses toggle the LED four times, at
// each QoS, and the demo exits 0 after showing the last.
func TestDemoPressEvery(t *testing.T) {
	for _, q := range []string{"0", "1", "2"} {
		t.Run("qos"+q, func(t *testing.T) {
			var out, errOut syncBuffer
			code := run(context.Background(), []string{"demo", "--press-every", "20ms", "--count", "4", "-q", q},
				strings.NewReader(""), &out, &errOut)
			s := out.String()
			if code != 0 {
				t.Fatalf("exit code %d, want 0; stderr: %s\nstdout:\n%s", code, errOut.String(), s)
			}
			if got, want := strings.Join(ledLines(s), " "), "off ON off ON off"; got != want {
				t.Errorf("the LED went %q, want %q; the output:\n%s", got, want, s)
			}
			for _, want := range []string{
				"started an in-process MQTT broker on mqtt://127.0.0.1:",
				"connected as tern-demo-",
				`press 1: publishing "TURN ON" on tern/demo/ledstatus (QoS ` + q + `)`,
				`press 2: publishing "TURN OFF"`,
				`received tern/demo/ledstatus  QoS ` + q + `  "TURN ON"`,
				`received tern/demo/ledstatus  QoS ` + q + `  "TURN OFF"`,
				`received tern/demo/ledstatus/status  QoS ` + q + `  "online"`,
				"done: 4 presses",
				"disconnected",
				"stopped",
				"in-process broker stopped",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("the output lacks %q:\n%s", want, s)
				}
			}
			if !strings.Contains(s, "disconnected\nstopped\nin-process broker stopped\n") {
				t.Errorf("the end is not disconnected, stopped, broker stopped:\n%s", s)
			}
			if strings.Contains(s, "did not come in time") {
				t.Errorf("the end waited for events in vain:\n%s", s)
			}
			if errOut.String() != "" {
				t.Errorf("stderr: %s", errOut.String())
			}
		})
	}
}

// Key presses from standard input: Enter and space press, "\r\n" counts
// once, q quits with 0.
func TestDemoKeys(t *testing.T) {
	d := startDemo(t, "--on", "LIGHT", "--off", "DARK")
	d.waitFor(t, `each line read from standard input presses the button`, 1)
	d.press(t, "\n")
	d.waitFor(t, `(?m)^LED \[ ON \]$`, 1)
	d.press(t, " ")
	d.waitFor(t, `(?m)^LED \[ off \]$`, 2) // the first is the LED drawn at the start
	d.press(t, "\r\n")
	d.waitFor(t, `(?m)^LED \[ ON \]$`, 2)
	d.press(t, "q")
	if code := d.wait(t); code != 0 {
		t.Errorf("exit code %d after q, want 0", code)
	}
	s := d.out.String()
	if got, want := strings.Join(ledLines(s), " "), "off ON off ON"; got != want {
		t.Errorf("the LED went %q, want %q; the output:\n%s", got, want, s)
	}
	for _, want := range []string{`publishing "LIGHT"`, `publishing "DARK"`, `"LIGHT"`, "press 3:", "quit", "stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "press 4:") {
		t.Errorf("\\r\\n pressed twice:\n%s", s)
	}
}

// Two demos on one broker share the topic: each press toggles both LEDs,
// and each demo's press is the opposite of the LED it sees. Each hears the
// other's online message. Ctrl-C (the context) ends each with 130.
func TestDemoTwoDemosToggleTogether(t *testing.T) {
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	a := startDemo(t, "--broker", b.URL)
	a.waitFor(t, `subscribed to`, 1)
	c := startDemo(t, "--broker", b.URL)
	c.waitFor(t, `subscribed to`, 1)
	a.waitFor(t, `"online"`, 2) // its own, then c's

	a.press(t, "\n")
	a.waitFor(t, `(?m)^LED \[ ON \]$`, 1)
	c.waitFor(t, `(?m)^LED \[ ON \]$`, 1)
	c.press(t, "\n")
	c.waitFor(t, `press 1: publishing "TURN OFF"`, 1)
	a.waitFor(t, `(?m)^LED \[ off \]$`, 2)
	c.waitFor(t, `(?m)^LED \[ off \]$`, 2)

	a.cancel()
	if code := a.wait(t); code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130", code)
	}
	for _, want := range []string{"interrupted", "disconnected", "stopped"} {
		if !strings.Contains(a.out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, a.out.String())
		}
	}
	// a said DISCONNECT: the broker discards its Will, so c hears no
	// "offline".
	c.press(t, "\n")
	c.waitFor(t, `(?m)^LED \[ ON \]$`, 2)
	if strings.Contains(c.out.String(), `"offline"`) {
		t.Errorf("the Will was published after a clean DISCONNECT:\n%s", c.out.String())
	}
}

// The broker stops: the demo reports the lost connection and each failed
// attempt; a press meanwhile waits in the client's queue (QoS 1). When a
// broker listens on the same port again the demo reconnects, the waiting
// press goes out and toggles the LED, and the button works again.
func TestDemoReconnects(t *testing.T) {
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := startDemo(t, "--broker", b.URL, "--retry-interval", "50ms", "--retries", "0")
	d.waitFor(t, `subscribed to`, 1)
	d.press(t, "\n")
	d.waitFor(t, `(?m)^LED \[ ON \]$`, 1)

	b.Stop()
	d.waitFor(t, `connection lost: `, 1)
	d.waitFor(t, `attempt \d+ failed: .*connection refused; is a broker listening there\?`, 3)
	d.waitFor(t, `next attempt in 50ms`, 3)
	d.press(t, "\n")
	d.waitFor(t, `press 2: publishing "TURN OFF"`, 1)

	b2, err := restartBroker(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Stop()
	d.waitFor(t, `connected as `, 2)
	d.waitFor(t, `(?m)^LED \[ off \]$`, 2)
	d.press(t, "\n")
	d.waitFor(t, `press 3: publishing "TURN ON"`, 1)
	d.waitFor(t, `(?m)^LED \[ ON \]$`, 2)
	if s := d.out.String(); strings.Contains(s, "not published") {
		t.Errorf("a press was lost:\n%s", s)
	}
}

// Ctrl-C while the broker is away, with a press waiting in the queue,
// ends the demo at once with 130.
func TestDemoInterruptedOffline(t *testing.T) {
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := startDemo(t, "--broker", b.URL, "--retry-interval", "50ms", "--retries", "0")
	d.waitFor(t, `subscribed to`, 1)
	b.Stop()
	d.waitFor(t, `attempt \d+ failed`, 1)
	d.press(t, "\n")
	d.waitFor(t, `press 1: publishing`, 1)
	d.cancel()
	if code := d.wait(t); code != 130 {
		t.Errorf("exit code %d, want 130; the output:\n%s", code, d.out.String())
	}
}

// restartBroker starts a broker on addr, the port of one just stopped,
// trying for a while should the port not be free at once.
func restartBroker(addr string) (*localBroker, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := startBroker(addr)
		if err == nil || time.Now().After(deadline) {
			return b, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With no broker to be had, the demo gives up after --retries attempts in
// a row, exits 1 and says what to try.
func TestDemoGivesUp(t *testing.T) {
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.Stop() // a port where nothing listens
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"demo", "--broker", b.URL, "--retries", "3", "--retry-interval", "10ms"},
		strings.NewReader(""), &out, &errOut)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if n := strings.Count(out.String(), "failed: "); n != 3 {
		t.Errorf("%d failed attempts reported, want 3:\n%s", n, out.String())
	}
	for _, want := range []string{"no connection to " + b.URL + " after 3 attempts in a row", "Is the broker running?", "--retries 0"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

// A password, in the URL or with -P, is never printed: not when the demo
// runs, not in its errors.
func TestDemoPasswordNotPrinted(t *testing.T) {
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	host := strings.TrimPrefix(b.URL, "mqtt://")
	closed, err := startBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Stop()
	closedHost := strings.TrimPrefix(closed.URL, "mqtt://")
	for _, args := range [][]string{
		{"--broker", "mqtt://alice:s3cret-pw@" + host, "-v", "--press-every", "10ms", "--count", "1"},
		{"--broker", b.URL, "-u", "alice", "-P", "s3cret-pw", "-v", "--press-every", "10ms", "--count", "1"},
		{"--broker", "mqtt://alice:s3cret-pw@" + closedHost, "-v", "--retries", "1"},
		{"--broker", "mqtts://alice:s3cret-pw@" + host, "--retries", "1"},
		{"--broker", "mqtts://" + host, "--pkcs12", "/nonexistent.p12", "--pkcs12-password", "s3cret-pw"},
		{"--broker", "mqtts://" + host, "--proxy", "http://bob:s3cret-pw@" + closedHost, "--retries", "1"},
	} {
		var out, errOut syncBuffer
		code := run(context.Background(), append([]string{"demo"}, args...), strings.NewReader(""), &out, &errOut)
		all := out.String() + errOut.String()
		if strings.Contains(all, "s3cret") {
			t.Errorf("%q printed the password (exit %d):\n%s", args, code, all)
		}
		if code == 0 && !strings.Contains(all, "connected as") {
			t.Errorf("%q: exit 0 without connecting:\n%s", args, all)
		}
	}
}

// The demo over mutual TLS to Mosquitto, with the flags mosquitto_pub
// users know: --cafile, --cert, --key.
func TestDemoTLS(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "Tern test CA")
	srv, cl := ca.Server(t), ca.Client(t, "demo")
	cafile := certtest.Write(t, dir, "ca.pem", ca.CertPEM)
	lines, port := brokertest.TLSListener(t, cafile, certtest.Write(t, dir, "srv.pem", srv.CertPEM),
		certtest.Write(t, dir, "srv.key", srv.KeyPEM), "require_certificate true")
	brokertest.Mosquitto(t, lines...)
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"demo", "--broker", fmt.Sprintf("mqtts://localhost:%d", port),
		"--cafile", cafile, "--cert", certtest.Write(t, dir, "cl.pem", cl.CertPEM), "--key", certtest.Write(t, dir, "cl.key", cl.KeyPEM),
		"--press-every", "20ms", "--count", "2", "--retries", "1"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d; stderr: %s\nstdout:\n%s", code, errOut.String(), out.String())
	}
	if got, want := strings.Join(ledLines(out.String()), " "), "off ON off"; got != want {
		t.Errorf("the LED went %q, want %q:\n%s", got, want, out.String())
	}
}

// --duration ends the demo, with 0, without presses.
func TestDemoDuration(t *testing.T) {
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"demo", "--duration", "100ms"}, strings.NewReader(""), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "done: 100ms elapsed, 0 presses") {
		t.Errorf("exit code %d; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

func TestReadKeys(t *testing.T) {
	for _, tc := range []struct {
		in      string
		raw     bool
		presses int
		cause   error
	}{
		{"\n\n \n", false, 4, nil},
		{"\r\n\r\n", false, 2, nil},
		{"\r\r", true, 2, nil},
		{"abc\x1b[A", false, 0, nil},
		{" q ", false, 1, errQuit},
		{"\x03", false, 0, nil},
		{" \x03 ", true, 1, errInterrupt},
		{"\x04", true, 0, errQuit},
	} {
		presses := make(chan struct{}, 64)
		var cause error
		readKeys(strings.NewReader(tc.in), tc.raw, presses, func(err error) { cause = err })
		if len(presses) != tc.presses || !errors.Is(cause, tc.cause) {
			t.Errorf("readKeys(%q, raw %v): %d presses, stop(%v); want %d, stop(%v)", tc.in, tc.raw, len(presses), cause, tc.presses, tc.cause)
		}
	}
}
