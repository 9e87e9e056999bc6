package store

import (
	"bytes"
	"math/rand"
	"sync"
	"testing"
)

// TestConcurrent runs goroutines that Put, Delete, Sync and Load at once,
// each on its own keys, with a CompactMin so small that compactions run
// among them; the store then holds exactly what each goroutine left.
func TestConcurrent(t *testing.T) {
	for _, interval := range []int64{0, 2, -1} {
		dir := t.TempDir()
		f := openT(t, dir, Options{SyncInterval: msec(interval), CompactMin: 16 << 10})
		const workers, ops = 8, 400
		models := make([]map[uint64][]byte, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(int64(w)))
				m := map[uint64][]byte{}
				models[w] = m
				for i := range ops {
					k := uint64(w)<<32 | uint64(rng.Intn(40))
					switch r := rng.Intn(10); {
					case r < 6:
						data := payload(k+uint64(i), rng.Intn(600))
						if err := f.Put(k, data); err != nil {
							t.Error(err)
							return
						}
						m[k] = data
					case r < 8:
						if err := f.Delete(k); err != nil {
							t.Error(err)
							return
						}
						delete(m, k)
					default:
						if err := f.Sync(); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Add(1)
		go func() { // a reader: every record it sees is well-formed
			defer wg.Done()
			for range 20 {
				err := f.Load(func(key uint64, data []byte) error { return nil })
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		wg.Wait()
		want := map[uint64][]byte{}
		for _, m := range models {
			for k, v := range m {
				want[k] = v
			}
		}
		same(t, "after the goroutines", loadAll(t, f), want)
		f.mu.Lock()
		compactions := f.compactions
		f.mu.Unlock()
		if compactions == 0 {
			t.Errorf("SyncInterval %dms: no compaction ran", interval)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		f = openT(t, dir, Options{})
		clean(t, f.Recovery())
		same(t, "reopened", loadAll(t, f), want)
		t.Logf("SyncInterval %dms: %d compactions among %d goroutines", interval, compactions, workers)
	}
}

// TestGroupCommit holds the first flush's write until every other Sync
// caller is waiting, then checks that they all shared one more write and
// one more fsync.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	f := openT(t, dir, Options{})
	const callers = 16
	release := make(chan struct{})
	first := true
	f.testHookWrite = func() { // runs in the flusher, one at a time
		if first {
			first = false
			<-release
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	sync1 := func(k uint64) {
		defer wg.Done()
		if err := f.Put(k, payload(k, 100)); err != nil {
			errs <- err
			return
		}
		errs <- f.Sync()
	}
	wg.Add(1)
	go sync1(0)
	waitFor(t, "the first flush", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.flushing
	})
	for k := uint64(1); k < callers; k++ {
		wg.Add(1)
		go sync1(k)
	}
	waitFor(t, "every caller to wait", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.waiting == callers-1
	})
	close(release)
	wg.Wait()
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	writes, fsyncs := f.writes, f.fsyncs
	f.mu.Unlock()
	if writes != 2 || fsyncs != 2 {
		t.Fatalf("%d Syncs took %d writes and %d fsyncs, want 2 and 2", callers, writes, fsyncs)
	}
	got := loadAll(t, f)
	if len(got) != callers || !bytes.Equal(got[callers-1], payload(callers-1, 100)) {
		t.Fatalf("%d records after the group commit", len(got))
	}
}

// TestGroupCommitFree lets many goroutines Sync at once with no help:
// they share writes (how many depends on scheduling, so the test only
// logs it), and every record is written.
func TestGroupCommitFree(t *testing.T) {
	f := openT(t, t.TempDir(), Options{})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := uint64(w*each + i)
				f.Put(k, payload(k, 64))
				if err := f.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	f.mu.Lock()
	writes := f.writes
	f.mu.Unlock()
	if writes > workers*each {
		t.Errorf("%d writes for %d Syncs", writes, workers*each)
	}
	if got := loadAll(t, f); len(got) != workers*each {
		t.Errorf("%d records, want %d", len(got), workers*each)
	}
	t.Logf("%d concurrent Syncs took %d writes", workers*each, writes)
}
