package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The command line's skeleton: help, unknown commands, bad flags.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout []string // substrings of stdout
		stderr []string // substrings of stderr
	}{
		{nil, 2, nil, []string{"Usage:", "demo ", "Examples:"}},
		{[]string{"--help"}, 0, []string{"Usage:", "tern COMMAND", "demo ", "Examples:", "go run ./cmd/tern demo"}, nil},
		{[]string{"-h"}, 0, []string{"Commands:"}, nil},
		{[]string{"help"}, 0, []string{"Commands:"}, nil},
		{[]string{"help", "demo"}, 0, []string{"Usage: tern demo"}, nil},
		{[]string{"demo", "--help"}, 0, []string{
			"Usage: tern demo [flags]", "Examples:", "tern demo --press-every 200ms --count 4",
			"-q, --qos QoS", "(default 1)", "--press-every interval", "--retries N", "(default 5)",
			"--retry-interval time", "(default 2s)", `(default "TURN ON")`, "mqtt://host", "TLS", "130",
		}, nil},
		{[]string{"demo", "-h"}, 0, []string{"Usage: tern demo"}, nil},
		{[]string{"bogus"}, 2, nil, []string{`unknown command "bogus"`, "demo", "tern --help"}},
		{[]string{"bench"}, 2, nil, []string{"Usage: tern bench {pub | sub | conn}"}},
		{[]string{"-v"}, 2, nil, []string{"flags go after the command"}},
		{[]string{"demo", "--nope"}, 2, nil, []string{"flag provided but not defined: -nope", "tern demo --help"}},
		{[]string{"demo", "extra"}, 2, nil, []string{`unexpected argument "extra"`}},
		{[]string{"demo", "-q", "3"}, 2, nil, []string{"-q 3: the QoS is 0, 1 or 2"}},
		{[]string{"demo", "-t", "a/+"}, 2, nil, []string{"--topic", "wildcards"}},
		{[]string{"demo", "--on", "X", "--off", "X"}, 2, nil, []string{"could not tell them apart"}},
		{[]string{"demo", "--broker", "localhost:1883"}, 2, nil, []string{"try mqtt://localhost:1883"}},
		{[]string{"demo", "--broker", "mqtt://h:1883", "--cafile", "ca.pem"}, 2, nil, []string{"not TLS: use mqtts://"}},
		{[]string{"demo", "--cafile", "ca.pem"}, 2, nil, []string{"give --broker for TLS"}},
		{[]string{"demo", "--broker", "mqtts://h", "--cafile", "/nonexistent/ca.pem"}, 2, nil, []string{"CA file", "no such file"}},
		{[]string{"demo", "--broker", "mqtts://h", "--tls-version", "1.1"}, 2, nil, []string{"tlsv1.2 or tlsv1.3"}},
		{[]string{"demo", "--broker", "mqtts://h", "--ciphers", "RC4-MD5X"}, 2, nil, []string{"unknown TLS cipher suite"}},
		{[]string{"demo", "--broker", "gopher://h"}, 2, nil, []string{"unknown scheme"}},
		{[]string{"demo", "--broker", "mqtt://h/x"}, 2, nil, []string{"no path"}},
		{[]string{"demo", "--broker", "mqtt://h", "--listen", ":1883"}, 2, nil, []string{"give one or the other"}},
		{[]string{"demo", "--press-every", "1ms"}, 2, nil, []string{"10ms or more"}},
		{[]string{"demo", "--count", "-1"}, 2, nil, []string{"--count -1"}},
		{[]string{"demo", "-V", "4"}, 2, nil, []string{"5 or 311"}},
		{[]string{"demo", "--listen", "256.0.0.1:0"}, 1, nil, []string{"in-process broker", "--listen"}},
	} {
		var out, errOut syncBuffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
		if code != tc.code {
			t.Errorf("tern %q: exit code %d, want %d; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out.String(), errOut.String())
		}
		for _, want := range tc.stdout {
			if !strings.Contains(out.String(), want) {
				t.Errorf("tern %q: stdout lacks %q:\n%s", tc.args, want, out.String())
			}
		}
		for _, want := range tc.stderr {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("tern %q: stderr lacks %q:\n%s", tc.args, want, errOut.String())
			}
		}
	}
}

// The binary, interrupted by SIGINT (Ctrl-C when standard input is not a
// terminal), disconnects, stops its broker and exits 130.
func TestSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildTern(t)
	var out syncBuffer
	cmd := exec.Command(bin, "demo", "--press-every", "20ms")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the demo", out.String, `(?m)^LED \[ ON \]$`, 1)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("after SIGINT: %v, want exit status 130; the output:\n%s", err, out.String())
	}
	for _, want := range []string{"interrupted", "disconnected", "stopped", "in-process broker stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}
