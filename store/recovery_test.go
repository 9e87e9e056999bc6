package store

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sample is a log of puts and deletes of several sizes; its records 5 and 6
// are the last two puts.
var sample = []op{
	put(1, payload(1, 40)),
	put(2, payload(2, 0)),
	put(3, payload(3, 300)),
	del(1),
	put(4, payload(4, 100)),
	put(5, payload(5, 77)),
	put(6, payload(6, 120)),
}

// TestTornTail cuts the log at every offset inside its last three records,
// as a crash in the middle of a write does: every record written before
// the cut loads, the one cut short is dropped and reported, and the log is
// truncated so that the next Open finds it clean.
func TestTornTail(t *testing.T) {
	log, offsets := encode(sample)
	for cut := offsets[len(offsets)-3]; cut < int64(len(log)); cut++ {
		whole := 0 // records wholly before the cut
		for whole < len(offsets) && (whole+1 == len(offsets) && int64(len(log)) <= cut || whole+1 < len(offsets) && offsets[whole+1] <= cut) {
			whole++
		}
		end := int64(len(log))
		if whole < len(offsets) {
			end = offsets[whole]
		}
		dir := writeLog(t, log[:cut])
		f := openT(t, dir, Options{})
		r := f.Recovery()
		if r.TornBytes != cut-end || r.Quarantined != 0 || r.Records != whole {
			t.Fatalf("cut at %d: %+v; want %d torn bytes, %d records, nothing quarantined", cut, r, cut-end, whole)
		}
		same(t, "after the cut", loadAll(t, f), model(sample[:whole]))
		if got := logBytes(t, dir); !bytes.Equal(got, log[:end]) {
			t.Fatalf("cut at %d: the log has %d bytes, want the first %d", cut, len(got), end)
		}
		f.Close()
		f = openT(t, dir, Options{})
		clean(t, f.Recovery())
		same(t, "reopened", loadAll(t, f), model(sample[:whole]))
	}
}

// TestCorruptRecord changes, in turn, every byte of a record in the middle
// of the log: the record is quarantined (the quarantine file holds its
// bytes), every other record loads, and the log is rewritten clean.
func TestCorruptRecord(t *testing.T) {
	log, offsets := encode(sample)
	const bad = 4 // put(4, 100 bytes)
	from, to := offsets[bad], offsets[bad+1]
	want := model(append(append([]op{}, sample[:bad]...), sample[bad+1:]...))
	for i := from; i < to; i++ {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			damaged := bytes.Clone(log)
			damaged[i] ^= flip
			dir := writeLog(t, damaged)
			f := openT(t, dir, Options{})
			r := f.Recovery()
			if r.Quarantined != 1 || r.QuarantinedBytes != to-from || r.TornBytes != 0 || !r.Compacted || r.Records != len(sample)-1 {
				t.Fatalf("byte %d ^ %#x: %+v; want the %d bytes of record %d quarantined", i, flip, r, to-from, bad)
			}
			q, err := os.ReadFile(r.QuarantineFile)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(r.QuarantineFile) != dir || !bytes.Equal(q, damaged[from:to]) {
				t.Fatalf("byte %d ^ %#x: quarantine file %s holds % x, want % x", i, flip, r.QuarantineFile, q, damaged[from:to])
			}
			same(t, "after the corruption", loadAll(t, f), want)
			f.Close()
			f = openT(t, dir, Options{})
			clean(t, f.Recovery())
			same(t, "reopened", loadAll(t, f), want)
		}
	}
}

// TestCorruptRegions damages several places at once, including the first
// record: each damaged record is its own region.
func TestCorruptRegions(t *testing.T) {
	log, offsets := encode(sample)
	damaged := bytes.Clone(log)
	damaged[0] = 'X'              // record 0's magic
	damaged[offsets[2]+100]++     // record 2's data
	damaged[offsets[5]+12] = 0xff // record 5's length: past the end
	damaged[offsets[5]+15] = 0x7f // (and over MaxDataSize)
	f := openT(t, writeLog(t, damaged), Options{})
	r := f.Recovery()
	wantBytes := (offsets[1] - offsets[0]) + (offsets[3] - offsets[2]) + (offsets[6] - offsets[5])
	if r.Quarantined != 3 || r.QuarantinedBytes != wantBytes {
		t.Fatalf("%+v; want 3 regions, %d bytes", r, wantBytes)
	}
	same(t, "after the corruption", loadAll(t, f), model([]op{sample[1], sample[3], sample[4], sample[6]}))
}

// TestGarbageAppended: bytes that are no record after the last one are
// quarantined, not taken for a torn write.
func TestGarbageAppended(t *testing.T) {
	log, _ := encode(sample)
	garbage := make([]byte, 1000)
	rand.New(rand.NewSource(1)).Read(garbage)
	garbage[0] = 'g'
	dir := writeLog(t, append(bytes.Clone(log), garbage...))
	f := openT(t, dir, Options{})
	r := f.Recovery()
	if r.Quarantined != 1 || r.QuarantinedBytes != int64(len(garbage)) || r.TornBytes != 0 {
		t.Fatalf("%+v; want the %d bytes of garbage quarantined", r, len(garbage))
	}
	if q, _ := os.ReadFile(r.QuarantineFile); !bytes.Equal(q, garbage) {
		t.Fatalf("the quarantine file does not hold the garbage")
	}
	same(t, "after the garbage", loadAll(t, f), model(sample))
}

// TestZeroFill: a tail of zeros, as a file system can leave after a power
// failure, is a torn tail; zeros over a record in the middle are
// corruption.
func TestZeroFill(t *testing.T) {
	log, offsets := encode(sample)
	dir := writeLog(t, append(bytes.Clone(log), make([]byte, 8192)...))
	f := openT(t, dir, Options{})
	if r := f.Recovery(); r.TornBytes != 8192 || r.Quarantined != 0 {
		t.Fatalf("%+v; want 8192 torn bytes", r)
	}
	same(t, "after the zero tail", loadAll(t, f), model(sample))
	if got := logBytes(t, dir); !bytes.Equal(got, log) {
		t.Fatalf("the zero tail was not cut: %d bytes", len(got))
	}

	zeroed := bytes.Clone(log)
	clear(zeroed[offsets[2]:offsets[3]])
	f = openT(t, writeLog(t, zeroed), Options{})
	if r := f.Recovery(); r.Quarantined != 1 || r.QuarantinedBytes != offsets[3]-offsets[2] {
		t.Fatalf("%+v; want record 2 quarantined", r)
	}
	same(t, "after the zeroed record", loadAll(t, f), model(append([]op{sample[0], sample[1]}, sample[3:]...)))
}

// TestTornAfterCorrupt: a corrupt record, then valid ones, then a torn
// tail: both are repaired in one Open.
func TestTornAfterCorrupt(t *testing.T) {
	log, offsets := encode(sample)
	damaged := bytes.Clone(log[:len(log)-5])
	damaged[offsets[1]+3] = 9 // record 1's reserved byte
	f := openT(t, writeLog(t, damaged), Options{})
	r := f.Recovery()
	if r.Quarantined != 1 || r.QuarantinedBytes != offsets[2]-offsets[1] || r.TornBytes != int64(len(log))-5-offsets[6] {
		t.Fatalf("%+v", r)
	}
	same(t, "repaired", loadAll(t, f), model(append([]op{sample[0]}, sample[2:6]...)))
}

// TestLeftoverCompaction: a crash during compaction leaves a temporary
// file beside a whole log; Open removes it and keeps the log.
func TestLeftoverCompaction(t *testing.T) {
	log, _ := encode(sample)
	dir := writeLog(t, log)
	if err := os.WriteFile(filepath.Join(dir, tmpName), log[:50], 0o600); err != nil {
		t.Fatal(err)
	}
	f := openT(t, dir, Options{})
	clean(t, f.Recovery())
	same(t, "beside a leftover", loadAll(t, f), model(sample))
	if _, err := os.Stat(filepath.Join(dir, tmpName)); !os.IsNotExist(err) {
		t.Fatalf("the leftover temporary file is still there: %v", err)
	}
}

// TestRecoveryLog checks the warnings: they say what happened and where,
// and never carry record data.
func TestRecoveryLog(t *testing.T) {
	secret := []byte("password=hunter2")
	log, offsets := encode([]op{put(1, []byte("a")), put(2, secret), put(3, []byte("c"))})
	log[offsets[1]+headerSize] ^= 1
	log = append(log, log[offsets[2]:offsets[2]+7]...) // a torn copy of record 2
	var out bytes.Buffer
	f := openT(t, writeLog(t, log), Options{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	s := out.String()
	for _, want := range []string{"level=WARN", "quarantined", "offset=" + strconv.FormatInt(offsets[1], 10), "quarantine=" + f.Recovery().QuarantineFile, "torn tail", "bytes=7"} {
		if !strings.Contains(s, want) {
			t.Errorf("the log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hunter2") || strings.Contains(s, "assword") {
		t.Errorf("the log carries record data:\n%s", s)
	}
}

// TestResyncBudget feeds replay a crafted log: a bad first byte, then a
// header every 20 bytes for 2 MiB, each claiming the rest of the file and
// failing its CRC, then valid records. Trying every candidate would hash
// about 100 GiB; the budget stops the search after about 17 MiB, and the
// rest of the log is quarantined rather than cut.
func TestResyncBudget(t *testing.T) {
	const n = 2 << 20 / headerSize
	var log []byte
	for i := range n {
		h := appendRecord(nil, opPut, uint64(i), nil)
		binary.LittleEndian.PutUint32(h[12:], uint32((n-i)*headerSize)) // to the end, about
		log = append(log, h...)
	}
	log[0] = 'x'
	tail, _ := encode(sample)
	log = append(log, tail...)
	s, err := replay(bytes.NewReader(log), int64(len(log)))
	if err != nil {
		t.Fatal(err)
	}
	if !s.exhausted || len(s.regions) != 1 || s.regions[0] != (region{0, int64(len(log))}) || s.torn != 0 {
		t.Fatalf("exhausted %v, regions %v, torn %d; want the whole log quarantined", s.exhausted, s.regions, s.torn)
	}
}
