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

// TestShareServeTwoConnections: --conn NAME=FILE adds a connection whose
// flags come from FILE; secondaries pick each by name, and each one's
// messages go to its own broker.
func TestShareServeTwoConnections(t *testing.T) {
	mosq, mochi := brokertest.Mosquitto(t), brokertest.Mochi(t)
	dir, err := os.MkdirTemp("", "tsh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	conf := filepath.Join(dir, "cloud.conf")
	hp := hostPort(t, mochi.URL)
	if err := os.WriteFile(conf, []byte("# the other broker\n-h "+hp[1]+"\n-p "+hp[3]+"\n-V 311\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"share", "serve", "--socket", sock, "--name", "local", "--conn", "cloud=" + conf}, hostPort(t, mosq.URL)...)
	serve := startTern(t, strings.NewReader(""), args...)
	for end := time.Now().Add(waitDeadline); strings.Count(serve.errOut.String(), "serving it as") < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("tern share serve did not start both; stderr:\n%s", serve.errOut.String())
		}
	}
	// Each secondary's messages reach the broker of its connection: a sub
	// directly on each broker sees only its own.
	direct := map[string]*runningTern{
		"local": startSub(t, append([]string{"-t", "two/#", "-v", "-C", "1"}, hostPort(t, mosq.URL)...)...),
		"cloud": startSub(t, append([]string{"-t", "two/#", "-v", "-C", "1"}, hostPort(t, mochi.URL)...)...),
	}
	for _, name := range []string{"local", "cloud"} {
		pub(t, "", "--unix", sock, "-u", name, "-t", "two/"+name, "-m", "via "+name, "-q", "1")
	}
	for name, s := range direct {
		if got, want := s.subOutput(t, 0), "two/"+name+" via "+name+"\n"; got != want {
			t.Errorf("the %s broker got %q, want %q", name, got, want)
		}
	}
	if r := tern(t, "", "share", "serve", "--socket", sock+"2", "--conn", "x=/nonexistent/file"); r.code != exitUsage {
		t.Errorf("--conn with a missing file: exit %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
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
