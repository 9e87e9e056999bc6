package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	big := payload(7, 3<<20)
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty store", nil},
		{"one put", []op{put(1, []byte("a"))}},
		{"replace", []op{put(1, []byte("a")), put(1, []byte("bb")), put(1, []byte("ccc"))}},
		{"delete", []op{put(1, []byte("a")), put(2, []byte("b")), del(1)}},
		{"delete a missing key", []op{del(5), put(1, []byte("a")), del(9)}},
		{"put after delete", []op{put(1, []byte("a")), del(1), put(1, []byte("again"))}},
		{"empty data", []op{put(3, nil), put(4, []byte{})}},
		{"large data", []op{put(1, big), put(2, []byte("small")), put(3, big[:1<<20])}},
		{"key order", []op{put(900, []byte("z")), put(0, []byte("0")), put(1<<63, []byte("hi")), put(^uint64(0), []byte("max")), put(42, []byte("x"))}},
		{"everything deleted", []op{put(1, []byte("a")), put(2, []byte("b")), del(2), del(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := model(tt.ops)
			dir := t.TempDir()
			f := openT(t, dir, Options{})
			for _, o := range tt.ops {
				var err error
				if o.del {
					err = f.Delete(o.key)
				} else {
					err = f.Put(o.key, o.data)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			same(t, "before Sync (from the buffer)", loadAll(t, f), want)
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			same(t, "after Sync (from the log)", loadAll(t, f), want)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = openT(t, dir, Options{})
			clean(t, f.Recovery())
			if r := f.Recovery(); r.Live != len(want) {
				t.Errorf("Recovery().Live = %d, want %d", r.Live, len(want))
			}
			same(t, "after reopening", loadAll(t, f), want)
		})
	}
}

// TestFormat pins the encoding: the log holds exactly the records of the
// changes, in order, except deletes of keys that have no record.
func TestFormat(t *testing.T) {
	dir := t.TempDir()
	f := openT(t, dir, Options{})
	f.Put(0x0102030405060708, []byte("hi"))
	f.Delete(99)
	f.Delete(0x0102030405060708)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0xE5, 0x54, 1, 0, 8, 7, 6, 5, 4, 3, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 'h', 'i',
		0xE5, 0x54, 2, 0, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	// The CRC-32C of each header's first 16 bytes and its data.
	for _, r := range []struct{ at, end int }{{0, 22}, {22, 42}} {
		covered := append(append([]byte{}, want[r.at:r.at+16]...), want[r.at+headerSize:r.end]...)
		binary.LittleEndian.PutUint32(want[r.at+16:], crc32.Checksum(covered, crc32.MakeTable(crc32.Castagnoli)))
	}
	if got := logBytes(t, dir); !bytes.Equal(got, want) {
		t.Fatalf("log:\n% x\nwant\n% x", got, want)
	}
}

func TestLoadStopsAtError(t *testing.T) {
	f := openT(t, t.TempDir(), Options{})
	for k := range uint64(5) {
		f.Put(k, []byte{byte(k)})
	}
	stop := errors.New("stop")
	var seen []uint64
	err := f.Load(func(key uint64, data []byte) error {
		seen = append(seen, key)
		if key == 2 {
			return stop
		}
		return nil
	})
	if err != stop || len(seen) != 3 {
		t.Fatalf("Load returned %v after keys %v; want stop after 0 1 2", err, seen)
	}
}

// TestLoadCallback checks that fn may use the store: Load holds no lock.
func TestLoadCallback(t *testing.T) {
	f := openT(t, t.TempDir(), Options{})
	for k := range uint64(10) {
		f.Put(k, payload(k, 10))
	}
	f.Sync()
	err := f.Load(func(key uint64, data []byte) error {
		if err := f.Delete(key + 1); err != nil {
			return err
		}
		if err := f.Put(key+100, data); err != nil {
			return err
		}
		return f.Sync()
	})
	if err != nil {
		t.Fatal(err)
	}
	got := loadAll(t, f)
	// Load snapshots the keys, and skips those deleted meanwhile: 0, 2,
	// 4, 6, 8 are seen, and each deletes the next.
	want := map[uint64][]byte{}
	for k := uint64(0); k < 10; k += 2 {
		want[k] = payload(k, 10)
		want[k+100] = payload(k, 10)
	}
	same(t, "after Load's changes", got, want)
}

func TestPutCopiesData(t *testing.T) {
	f := openT(t, t.TempDir(), Options{})
	data := []byte("original")
	f.Put(1, data)
	copy(data, "CHANGED!")
	f.Sync()
	copy(data, "again!!!")
	same(t, "after changing the caller's slice", loadAll(t, f), map[uint64][]byte{1: []byte("original")})
}

func TestTooLarge(t *testing.T) {
	f := openT(t, t.TempDir(), Options{})
	// Put checks the length before it touches the data: these pages are
	// never written.
	if err := f.Put(1, make([]byte, MaxDataSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put of MaxDataSize+1 bytes: %v, want ErrTooLarge", err)
	}
	if err := f.Put(2, []byte("fine")); err != nil {
		t.Fatal(err)
	}
}

func TestClosed(t *testing.T) {
	dir := t.TempDir()
	f := openT(t, dir, Options{})
	f.Put(1, []byte("a"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{
		"Sync":   f.Sync(),
		"Put":    f.Put(2, []byte("b")),
		"Delete": f.Delete(1),
		"Load":   f.Load(func(uint64, []byte) error { return nil }),
		"Close":  f.Close(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	// Close wrote what Put buffered.
	same(t, "after reopening", loadAll(t, openT(t, dir, Options{})), map[uint64][]byte{1: []byte("a")})
}

func TestSyncPolicies(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval int64 // milliseconds
	}{{"fsync every Sync", 0}, {"fsync every 5ms", 5}, {"never fsync", -1}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := openT(t, dir, Options{SyncInterval: msec(tt.interval)})
			const n = 20
			for k := range uint64(n) {
				f.Put(k, payload(k, 100))
				if err := f.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			f.mu.Lock()
			writes, fsyncs := f.writes, f.fsyncs
			f.mu.Unlock()
			if writes != n {
				t.Errorf("%d writes for %d Syncs", writes, n)
			}
			switch {
			case tt.interval == 0 && fsyncs != n:
				t.Errorf("%d fsyncs for %d Syncs, want one each", fsyncs, n)
			case tt.interval < 0 && fsyncs != 0:
				t.Errorf("%d fsyncs, want none", fsyncs)
			case tt.interval > 0:
				waitFor(t, "the background fsync", func() bool {
					f.mu.Lock()
					defer f.mu.Unlock()
					return f.synced == f.written
				})
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.interval > 0 {
				noSyncLoop(t)
			}
			want := map[uint64][]byte{}
			for k := range uint64(n) {
				want[k] = payload(k, 100)
			}
			same(t, "after reopening", loadAll(t, openT(t, dir, Options{})), want)
		})
	}
}

// noSyncLoop fails the test if a background fsync goroutine is running.
// Close waits for it to return, so there is nothing to wait for.
func noSyncLoop(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	if s := string(buf[:runtime.Stack(buf, true)]); strings.Contains(s, "store.(*File).syncLoop") {
		t.Fatalf("the background fsync outlived Close:\n%s", s)
	}
}

// TestStickyError makes the log /dev/full: the first write fails with
// ENOSPC, and every call reports it from then on.
func TestStickyError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, logName)); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Put(1, []byte("a")); err != nil {
		t.Fatal(err)
	}
	err = f.Sync()
	if err == nil || !strings.Contains(err.Error(), "append to the log") || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), logName) {
		t.Fatalf("Sync: %v; want an error naming the write, the file and ENOSPC", err)
	}
	for name, e := range map[string]error{
		"Sync":   f.Sync(),
		"Put":    f.Put(2, []byte("b")),
		"Delete": f.Delete(1),
		"Load":   f.Load(func(uint64, []byte) error { return nil }),
		"Close":  f.Close(),
	} {
		if e == nil || !strings.Contains(e.Error(), err.Error()) {
			t.Errorf("%s after the failure: %v, want %v", name, e, err)
		}
	}
}
