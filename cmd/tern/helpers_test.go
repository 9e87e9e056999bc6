package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain keeps the tests away from the user's own tern settings: no
// options file, no TERN_* variables.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tern-test-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	for _, e := range os.Environ() {
		if name, _, _ := strings.Cut(e, "="); strings.HasPrefix(name, "TERN_") {
			os.Unsetenv(name)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a tern command did.
type result struct {
	code           int
	stdout, stderr string
}

// tern runs "tern args..." in process, with stdin as its standard input,
// and returns what it did. It fails the test if the command does not end
// within waitDeadline.
func tern(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	c := startTern(t, strings.NewReader(stdin), args...)
	code := c.wait(t)
	return result{code, c.out.String(), c.errOut.String()}
}

// runningTern is a tern command running in a goroutine of the test.
type runningTern struct {
	args        []string
	out, errOut *syncBuffer
	cancel      context.CancelFunc // Ctrl-C
	code        chan int
}

// startTern starts "tern args..."; the end of the test interrupts it if
// it still runs.
func startTern(t *testing.T, stdin io.Reader, args ...string) *runningTern {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &runningTern{args: args, out: new(syncBuffer), errOut: new(syncBuffer), cancel: cancel, code: make(chan int, 1)}
	go func() { c.code <- run(ctx, args, stdin, c.out, c.errOut) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.code:
		case <-time.After(waitDeadline):
			t.Errorf("tern %q did not end after Ctrl-C; stderr:\n%s", args, c.errOut.String())
		}
	})
	return c
}

// wait waits for the command to end and returns its exit code.
func (c *runningTern) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.code:
		c.code <- code // for the cleanup
		return code
	case <-time.After(waitDeadline):
		t.Fatalf("tern %q did not end; stdout:\n%s\nstderr:\n%s", c.args, c.out.String(), c.errOut.String())
		return -1
	}
}

// startSub starts "tern sub -d args..." and waits until the broker has
// acknowledged its subscriptions.
func startSub(t *testing.T, args ...string) *runningTern {
	t.Helper()
	c := startTern(t, strings.NewReader(""), append([]string{"sub", "-d"}, args...)...)
	deadline := time.Now().Add(waitDeadline)
	for !strings.Contains(c.errOut.String(), "received SUBACK") {
		select {
		case code := <-c.code:
			c.code <- code
			if strings.Contains(c.errOut.String(), "received SUBACK") {
				return c
			}
			t.Fatalf("tern sub %q exited with %d before subscribing; stderr:\n%s", args, code, c.errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tern sub %q: no SUBACK within %v; stderr:\n%s", args, waitDeadline, c.errOut.String())
		}
	}
	return c
}

// hostPort returns the -h and -p flags of a broker's mqtt:// URL.
func hostPort(t *testing.T, brokerURL string) []string {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"-h", u.Hostname(), "-p", u.Port()}
}

// pub runs "tern pub args..." and fails the test unless it exits 0.
func pub(t *testing.T, stdin string, args ...string) {
	t.Helper()
	r := tern(t, stdin, append([]string{"pub"}, args...)...)
	if r.code != 0 {
		t.Fatalf("tern pub %q: exit code %d; stderr:\n%s", args, r.code, r.stderr)
	}
}

// subOutput waits for the sub to end, checks that it exited with want,
// and returns its standard output.
func (c *runningTern) subOutput(t *testing.T, want int) string {
	t.Helper()
	if code := c.wait(t); code != want {
		t.Fatalf("tern %q: exit code %d, want %d; stdout:\n%s\nstderr:\n%s", c.args, code, want, c.out.String(), c.errOut.String())
	}
	return c.out.String()
}
