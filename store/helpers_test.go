package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// openT opens a store in dir and closes it when the test ends, if the
// test has not.
func openT(t testing.TB, dir string, opts Options) *File {
	t.Helper()
	f, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// loadAll returns every record Load gives, failing the test if they do
// not come in increasing key order.
func loadAll(t testing.TB, f *File) map[uint64][]byte {
	t.Helper()
	got := make(map[uint64][]byte)
	var last uint64
	err := f.Load(func(key uint64, data []byte) error {
		if len(got) > 0 && key <= last {
			return fmt.Errorf("key %d after %d", key, last)
		}
		last = key
		got[key] = bytes.Clone(data)
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

// same fails the test if the store's records differ from want.
func same(t testing.TB, what string, got, want map[uint64][]byte) {
	t.Helper()
	if maps.EqualFunc(got, want, bytes.Equal) {
		return
	}
	var diff []string
	keys := make([]uint64, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if g, ok := got[k]; !ok {
			diff = append(diff, fmt.Sprintf("key %d missing", k))
		} else if !bytes.Equal(g, want[k]) {
			diff = append(diff, fmt.Sprintf("key %d: %d bytes %.16x..., want %d bytes %.16x...", k, len(g), g, len(want[k]), want[k]))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("key %d should not be there", k))
		}
	}
	if len(diff) > 10 {
		diff = append(diff[:10], fmt.Sprintf("and %d more", len(diff)-10))
	}
	t.Fatalf("%s: %d records, want %d:\n%s", what, len(got), len(want), diff)
}

// payload is the deterministic data of key, n bytes long.
func payload(key uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(key*131 + uint64(i)*7 + 1)
	}
	return b
}

// op is one change to a store, and a record of a log.
type op struct {
	del  bool
	key  uint64
	data []byte
}

func put(key uint64, data []byte) op { return op{key: key, data: data} }
func del(key uint64) op              { return op{del: true, key: key} }

// encode returns the log of ops and the offset of each record.
func encode(ops []op) (log []byte, offsets []int64) {
	for _, o := range ops {
		offsets = append(offsets, int64(len(log)))
		if o.del {
			log = appendRecord(log, opDelete, o.key, nil)
		} else {
			log = appendRecord(log, opPut, o.key, o.data)
		}
	}
	return log, offsets
}

// model applies ops to a map, as the store should.
func model(ops []op) map[uint64][]byte {
	m := make(map[uint64][]byte)
	for _, o := range ops {
		if o.del {
			delete(m, o.key)
		} else {
			m[o.key] = bytes.Clone(o.data)
		}
	}
	return m
}

// writeLog makes a store directory whose log holds exactly log.
func writeLog(t testing.TB, log []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, logName), log, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logBytes returns the content of the log in dir.
func logBytes(t testing.TB, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clean fails the test if a store's Open found anything to repair.
func clean(t testing.TB, r Recovery) {
	t.Helper()
	if r.TornBytes != 0 || r.Quarantined != 0 || r.QuarantinedBytes != 0 || r.QuarantineFile != "" {
		t.Fatalf("the log should have been clean: %+v", r)
	}
}
