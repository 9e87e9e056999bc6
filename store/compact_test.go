package store

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestCompactionBound runs 200,000 Put+Delete pairs of 1 KiB records (20,000
// under -short), with a Sync every ten pairs and 100 records live all
// along: after every Sync the log is at most max(CompactMin, 2×live).
func TestCompactionBound(t *testing.T) {
	pairs := 200_000
	if testing.Short() {
		pairs = 20_000
	}
	dir := t.TempDir()
	f := openT(t, dir, Options{SyncInterval: -1})
	const keep = 100
	data := payload(0, 1024)
	var appended, maxSize int64
	for i := range pairs {
		k := uint64(i)
		if err := f.Put(k, data); err != nil {
			t.Fatal(err)
		}
		appended += headerSize + 1024
		if i >= keep {
			f.Delete(k - keep)
			appended += headerSize
		}
		if i%10 != 9 {
			continue
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, logName))
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		live := f.live
		f.mu.Unlock()
		if bound := max(f.compactMin, compactRatio*live); st.Size() > bound {
			t.Fatalf("after %d pairs the log is %d bytes, over max(CompactMin, 2×%d live)", i+1, st.Size(), live)
		}
		maxSize = max(maxSize, st.Size())
	}
	f.mu.Lock()
	compactions := f.compactions
	f.mu.Unlock()
	t.Logf("%d pairs appended %d MiB; the log never exceeded %d KiB; %d compactions", pairs, appended>>20, maxSize>>10, compactions)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]byte{}
	for k := pairs - keep; k < pairs; k++ {
		want[uint64(k)] = data
	}
	f = openT(t, dir, Options{})
	clean(t, f.Recovery())
	same(t, "reopened", loadAll(t, f), want)
}

// TestCompactionWithPuts compacts again and again while other goroutines
// Put and Delete: records put during a compaction, replaced or deleted
// during it, all come out right.
func TestCompactionWithPuts(t *testing.T) {
	dir := t.TempDir()
	f := openT(t, dir, Options{SyncInterval: -1, CompactMin: 4 << 10})
	const writers, rounds = 4, 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	syncErr := make(chan error, 1)
	go func() { // the flusher and compactor
		var err error
		defer func() { syncErr <- err }()
		for {
			select {
			case <-done:
				err = f.Sync()
				return
			default:
			}
			if err = f.Sync(); err != nil {
				return
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				k := uint64(w)<<32 | uint64(i%64)
				if i%3 == 2 {
					f.Delete(k)
				} else {
					f.Put(k, payload(k^uint64(i), 100+i%300))
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	if err := <-syncErr; err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]byte{}
	for w := range writers {
		for i := range rounds {
			k := uint64(w)<<32 | uint64(i%64)
			if i%3 == 2 {
				delete(want, k)
			} else {
				want[k] = payload(k^uint64(i), 100+i%300)
			}
		}
	}
	f.mu.Lock()
	compactions := f.compactions
	f.mu.Unlock()
	if compactions < 2 {
		t.Fatalf("%d compactions; the test needs several", compactions)
	}
	same(t, "after compactions among Puts", loadAll(t, f), want)
	f.Close()
	f = openT(t, dir, Options{})
	clean(t, f.Recovery())
	same(t, "reopened", loadAll(t, f), want)
	t.Logf("%d compactions", compactions)
}

// TestCompactionFailure: a compaction that cannot create its temporary
// file leaves the log as it was, is logged, and is tried again once the
// log has grown by CompactMin.
func TestCompactionFailure(t *testing.T) {
	dir := t.TempDir()
	var logged bytes.Buffer
	f := openT(t, dir, Options{CompactMin: 8 << 10, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	// A directory where the temporary file should go.
	if err := os.MkdirAll(filepath.Join(dir, tmpName, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	data := payload(1, 1000)
	for k := range uint64(20) {
		f.Put(1, data)
		if err := f.Sync(); err != nil {
			t.Fatalf("Sync %d: %v", k, err)
		}
	}
	f.mu.Lock()
	compactions, next := f.compactions, f.nextCompact
	f.mu.Unlock()
	if compactions != 0 || next == 0 {
		t.Fatalf("%d compactions, next try at %d bytes; want a failure", compactions, next)
	}
	if !strings.Contains(logged.String(), "compaction failed") {
		t.Fatalf("the failure was not logged: %q", logged.String())
	}
	os.RemoveAll(filepath.Join(dir, tmpName))
	for range 20 {
		f.Put(1, data)
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	compactions = f.compactions
	f.mu.Unlock()
	if compactions == 0 {
		t.Fatalf("no compaction after the cause was gone")
	}
	same(t, "after the failure", loadAll(t, f), map[uint64][]byte{1: data})
}
