package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
)

// TestShareServe runs tern share serve against Mosquitto, then tern sub
// and tern pub through its socket; the sub gets the pub's messages, the
// serve logs both secondaries, and Ctrl-C ends it with 130.
func TestShareServe(t *testing.T) {
	b := brokertest.Mosquitto(t)
	dir, err := os.MkdirTemp("", "tsh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	serve := startTern(t, strings.NewReader(""), append([]string{"share", "serve", "--socket", sock, "--name", "dev"}, hostPort(t, b.URL)...)...)
	for end := time.Now().Add(waitDeadline); !strings.Contains(serve.errOut.String(), "serving it as"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("tern share serve did not start; stderr:\n%s", serve.errOut.String())
		}
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v, want mode 0600", fi, err)
	}
	sub := startSub(t, "--unix", sock, "-u", "dev", "-t", "sh/#", "-q", "2", "-v", "-C", "3")
	for q := 0; q <= 2; q++ {
		pub(t, "", "--unix", sock, "-u", "dev", "-t", "sh/x", "-m", string(rune('0'+q)), "-q", string(rune('0'+q)))
	}
	if got := sub.subOutput(t, 0); got != "sh/x 0\nsh/x 1\nsh/x 2\n" {
		t.Errorf("tern sub through the share got %q", got)
	}
	// An unknown connection name is refused as a bad user name (3.1.1: 4,
	// 5.0: 134), which tern pub exits with.
	if r := tern(t, "", "pub", "--unix", sock, "-u", "nosuch", "-t", "sh/x", "-m", "x"); r.code != 134 {
		t.Errorf("tern pub -u nosuch: exit %d, want 134; stderr:\n%s", r.code, r.stderr)
	}
	serve.cancel()
	if code := serve.wait(t); code != exitInterrupted {
		t.Errorf("tern share serve after Ctrl-C: exit %d, want %d", code, exitInterrupted)
	}
	log := serve.errOut.String()
	for _, want := range []string{"secondary connected", "secondary disconnected", "stopping"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket is still there after the end")
	}
}

// TestShareUsage: the mistakes of tern share get a message and exit 2.
func TestShareUsage(t *testing.T) {
	for _, args := range [][]string{
		{"share"},
		{"share", "nosuch"},
		{"share", "serve"},
		{"share", "serve", "--socket", "/tmp/x", "--allow-uid", "root"},
	} {
		if r := tern(t, "", args...); r.code != exitUsage || r.stderr == "" {
			t.Errorf("tern %q: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := tern(t, "", "share", "serve", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--allow-gid") {
		t.Errorf("tern share serve --help: exit %d\n%s", r.code, r.stdout)
	}
}
