package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReplay opens a store whose log holds arbitrary bytes. Whatever they
// are, Open never panics or hangs and never fails; every record Load
// returns is a valid put record found in the input; what Recovery reports
// adds up; and a second Open finds the log clean, with the same records.
// The seeds, under testdata/fuzz/FuzzReplay, are valid logs, torn ones,
// corrupt ones and one full of headers whose CRCs fail.
func FuzzReplay(f *testing.F) {
	// Every exec fsyncs several times; on tmpfs (where there is one) an
	// fsync costs nothing and the fuzzer runs several times faster.
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "tern-store-fuzz-"); err == nil {
			base = d
			f.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := base
		if base == "" {
			dir = t.TempDir()
		} else {
			var err error
			if dir, err = os.MkdirTemp(base, ""); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
		}
		if err := os.WriteFile(filepath.Join(dir, logName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		r := st.Recovery()
		got := loadAll(t, st)
		if len(got) != r.Live {
			t.Fatalf("Load gave %d records, Recovery says %d live", len(got), r.Live)
		}
		for k, v := range got {
			if !bytes.Contains(data, appendRecord(nil, opPut, k, v)) {
				t.Fatalf("key %d: its record is not in the input", k)
			}
		}
		if r.TornBytes+r.QuarantinedBytes > int64(len(data)) || r.Records*headerSize > len(data) {
			t.Fatalf("Recovery %+v does not fit a log of %d bytes", r, len(data))
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		st, err = Open(dir, Options{})
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer st.Close()
		clean(t, st.Recovery())
		same(t, "reopened", loadAll(t, st), got)
	})
}
