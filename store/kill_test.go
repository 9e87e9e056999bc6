package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into the writer of TestSIGKILL:
// "dir,base,interval" (interval in milliseconds).
const helperEnv = "TERN_STORE_KILL_WRITER"

// killWindow is how many of its latest keys the writer keeps: it deletes
// key k-killWindow when it puts k, so the log is mostly dead records and
// compacts often (CompactMin is 64 KiB), and a kill can land in the middle
// of a compaction.
const killWindow = 50

// killData is the data the writer puts under key k: sizes vary from 0 to
// 2 KiB, with a 64 KiB record now and then, so kills land inside records.
func killData(k uint64) []byte {
	n := int(k*37) % 2048
	if k%97 == 0 {
		n = 64 << 10
	}
	return payload(k, n)
}

// TestHelperWriter is the child process of TestSIGKILL; it runs only
// with helperEnv set. It puts key after key, syncs each, and prints
// "synced K" after each Sync returns, until it is killed (or, if the
// parent is gone, for at most a minute).
func TestHelperWriter(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("the writer child of TestSIGKILL")
	}
	var dir string
	var base uint64
	var interval int64
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		t.Fatalf("bad %s=%q", helperEnv, spec)
	}
	dir = parts[0]
	base, _ = strconv.ParseUint(parts[1], 10, 64)
	interval, _ = strconv.ParseInt(parts[2], 10, 64)
	f, err := Open(dir, Options{SyncInterval: msec(interval), CompactMin: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriterSize(os.Stdout, 64)
	stop := time.Now().Add(time.Minute)
	for i := uint64(0); time.Now().Before(stop); i++ {
		k := base + i
		if err := f.Put(k, killData(k)); err != nil {
			t.Fatal(err)
		}
		if i >= killWindow {
			if err := f.Delete(k - killWindow); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(out, "synced %d\n", k)
		if err := out.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSIGKILL runs the writer in a child process and kills it with
// SIGKILL after a random number of Syncs, several times over one
// directory, under each fsync policy. After each kill every key the child
// reported synced must be in the store with its data, every key it
// reported deleted must be gone, and the only repair Open may make is
// cutting a torn tail: a crash of the process never corrupts the middle.
func TestSIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no SIGKILL")
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	prev := map[uint64][]byte{} // the store after the previous round
	for round := range 12 {
		interval := []int64{0, 20, -1}[round%3]
		base := uint64(round) << 32
		target := 1 + rng.Intn(600)
		synced, stderr := runWriter(t, dir, base, interval, target)
		if len(synced) == 0 {
			t.Fatalf("round %d: the writer reported nothing; stderr:\n%s", round, stderr)
		}
		last := synced[len(synced)-1]
		for i, k := range synced {
			if k != base+uint64(i) {
				t.Fatalf("round %d: the writer reported key %d in place %d", round, k, i)
			}
		}

		_, err := os.Stat(filepath.Join(dir, tmpName))
		midCompaction := err == nil // killed while compacting
		f := openT(t, dir, Options{})
		r := f.Recovery()
		got := loadAll(t, f)
		if r.Quarantined != 0 {
			t.Fatalf("round %d: a SIGKILL left corruption: %+v", round, r)
		}
		// The keys of this round: put and synced, deleted and synced,
		// or (the key after the last reported, and the one its
		// iteration deleted) either.
		for k := base; k <= last+1; k++ {
			data, ok := got[k]
			switch {
			case k == last+1 || k+killWindow == last+1:
				if ok && !bytes.Equal(data, killData(k)) {
					t.Fatalf("round %d: key %d has the wrong data", round, k)
				}
			case k+killWindow <= last:
				if ok {
					t.Fatalf("round %d: key %d was deleted (and synced) but is there", round, k)
				}
			default:
				if !ok || !bytes.Equal(data, killData(k)) {
					t.Fatalf("round %d: key %d was synced but is missing or wrong (present: %v)", round, k, ok)
				}
			}
		}
		// Earlier rounds' keys are as the previous round left them.
		for k, data := range got {
			if k >= base {
				continue
			}
			if !bytes.Equal(data, prev[k]) {
				t.Fatalf("round %d: key %d of an earlier round changed", round, k)
			}
		}
		for k := range prev {
			if _, ok := got[k]; !ok {
				t.Fatalf("round %d: key %d of an earlier round is gone", round, k)
			}
		}
		t.Logf("round %d (SyncInterval %dms): killed after %d Syncs reported (aimed at %d), in a compaction: %v; %d live keys, %d records replayed, %d torn bytes cut",
			round, interval, len(synced), target, midCompaction, len(got), r.Records, r.TornBytes)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		prev = got
	}
}

// runWriter starts the writer child on dir and kills it with SIGKILL once
// it has reported target Syncs (or after ten seconds), and returns every
// key it reported, including those still in the pipe at the kill.
func runWriter(t *testing.T, dir string, base uint64, interval int64, target int) (synced []uint64, stderr string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d", helperEnv, dir, base, interval))
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { cmd.Process.Signal(syscall.SIGKILL) }
	timer := time.AfterFunc(10*time.Second, kill)
	defer timer.Stop()
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		k, err := strconv.ParseUint(strings.TrimPrefix(line, "synced "), 10, 64)
		if err != nil {
			continue // the testing package's own output, if any
		}
		synced = append(synced, k)
		if len(synced) == target {
			kill()
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the writer did not die of SIGKILL: %v; stderr:\n%s", err, errBuf.String())
	}
	return synced, errBuf.String()
}
