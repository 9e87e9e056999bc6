package store

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// windowSize is how much of the log replay holds in memory at once,
// whatever the file holds.
const windowSize = 64 << 10

// entry locates the latest put of a live key: its header is at virtual
// position v (see File.base) and it has n bytes of data.
type entry struct {
	v int64
	n uint32
}

func (e entry) size() int64 { return headerSize + int64(e.n) }

// region is a range of log bytes, for quarantine.
type region struct{ off, n int64 }

// scan is what replay found in a log.
type scan struct {
	index   map[uint64]entry
	live    int64 // bytes of the live records
	records int   // valid records, puts and deletes
	end     int64 // end of the last record kept; a torn tail starts here
	torn    int64 // bytes after end of an incomplete record or zero fill
	regions []region
	// exhausted is set when the search for valid records after corruption
	// used up its budget (only crafted content can do that).
	exhausted bool
}

// logReader reads a log of a known size through one fixed window.
type logReader struct {
	r    io.ReaderAt
	size int64
	win  []byte
	off  int64 // log offset of win[0]
}

// at returns the (up to) n bytes at off, n ≤ windowSize; fewer only at the
// end of the log. The slice is valid until the next call.
func (lr *logReader) at(off int64, n int) ([]byte, error) {
	if rest := lr.size - off; int64(n) > rest {
		n = int(rest)
	}
	if off >= lr.off && off+int64(n) <= lr.off+int64(len(lr.win)) {
		return lr.win[off-lr.off:][:n], nil
	}
	m := int(min(int64(cap(lr.win)), lr.size-off))
	lr.win = lr.win[:m]
	k, err := lr.r.ReadAt(lr.win, off)
	if k < m {
		lr.win = lr.win[:0]
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return nil, err
	}
	lr.off = off
	return lr.win[:n], nil
}

// status says what lies at an offset of the log.
type status int

const (
	valid      status = iota
	incomplete        // a plausible record prefix the end of the log cuts short
	bad
)

// check reads the record at p and verifies it.
func (lr *logReader) check(p int64) (header, status, error) {
	if lr.size-p < headerSize {
		b, err := lr.at(p, int(lr.size-p))
		if err != nil {
			return header{}, bad, err
		}
		if plausiblePrefix(b) {
			return header{}, incomplete, nil
		}
		return header{}, bad, nil
	}
	b, err := lr.at(p, headerSize)
	if err != nil {
		return header{}, bad, err
	}
	h, ok := parseHeader(b)
	if !ok {
		return h, bad, nil
	}
	if p+h.size() > lr.size {
		return h, incomplete, nil
	}
	ok, err = lr.crcOK(p, h)
	if err != nil || !ok {
		return h, bad, err
	}
	return h, valid, nil
}

// crcOK verifies the CRC of the whole record h at p, reading its data a
// window at a time.
func (lr *logReader) crcOK(p int64, h header) (bool, error) {
	b, err := lr.at(p, headerSize)
	if err != nil {
		return false, err
	}
	crc := headerCRC(b)
	for off, end := p+headerSize, p+h.size(); off < end; {
		b, err := lr.at(off, int(min(windowSize, end-off)))
		if err != nil {
			return false, err
		}
		crc = crc32.Update(crc, castagnoli, b)
		off += int64(len(b))
	}
	return crc == h.crc, nil
}

// resync returns the offset of the first valid record at or after from, or
// the size of the log if there is none. Each candidate whose header parses
// costs a CRC over its length; budget bounds the total, so that a log
// crafted with many such candidates cannot make replay quadratic. When the
// budget runs out resync returns the size of the log and exhausted.
func (lr *logReader) resync(from int64, budget *int64) (q int64, exhausted bool, err error) {
	for q = from; q+headerSize <= lr.size; {
		w, err := lr.at(q, windowSize)
		if err != nil {
			return 0, false, err
		}
		i := bytes.IndexByte(w, magic0)
		if i < 0 {
			q += int64(len(w))
			continue
		}
		q += int64(i)
		if q+headerSize > lr.size {
			break
		}
		b, err := lr.at(q, headerSize)
		if err != nil {
			return 0, false, err
		}
		if h, ok := parseHeader(b); ok && q+h.size() <= lr.size {
			if *budget -= h.size(); *budget < 0 {
				return lr.size, true, nil
			}
			ok, err := lr.crcOK(q, h)
			if err != nil {
				return 0, false, err
			}
			if ok {
				return q, false, nil
			}
		}
		q++
	}
	return lr.size, false, nil
}

// zeros reports whether the log holds only zero bytes from p to its end.
func (lr *logReader) zeros(p int64) (bool, error) {
	for p < lr.size {
		b, err := lr.at(p, windowSize)
		if err != nil {
			return false, err
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		p += int64(len(b))
	}
	return true, nil
}

// replay reads a whole log of the given size and returns its index and
// what it found wrong. It holds one window of the log in memory, and its
// work is linear in the size of the log: the CRCs it computes while
// looking for a valid record after corruption are bounded by a budget of
// eight times the log's size.
//
// A bad spot (bad magic, impossible length, CRC mismatch) followed by a
// valid record is a corrupt region, from the bad spot to that record. A bad
// spot with nothing valid after it is a torn tail if it is an incomplete
// record (a write cut short) or zeros (a file system's fill after a power
// loss), and a corrupt region otherwise.
func replay(r io.ReaderAt, size int64) (*scan, error) {
	lr := &logReader{r: r, size: size, win: make([]byte, 0, windowSize)}
	s := &scan{index: make(map[uint64]entry)}
	budget := 8*size + 1<<20
	p := int64(0)
	for p < size {
		h, st, err := lr.check(p)
		if err != nil {
			return nil, err
		}
		if st == valid {
			s.apply(p, h)
			p += h.size()
			continue
		}
		q, exhausted, err := lr.resync(p+1, &budget)
		if err != nil {
			return nil, err
		}
		if q < size {
			s.regions = append(s.regions, region{p, q - p})
			p = q
			continue
		}
		torn := st == incomplete && !exhausted
		if !torn && !exhausted {
			if torn, err = lr.zeros(p); err != nil {
				return nil, err
			}
		}
		if torn {
			s.torn = size - p
		} else {
			s.regions = append(s.regions, region{p, size - p})
		}
		s.exhausted = exhausted
		break
	}
	s.end = p
	return s, nil
}

// apply records the valid record h at offset p in the index.
func (s *scan) apply(p int64, h header) {
	s.records++
	if old, ok := s.index[h.key]; ok {
		s.live -= old.size()
		delete(s.index, h.key)
	}
	if h.op == opPut {
		s.index[h.key] = entry{v: p, n: h.n}
		s.live += h.size()
	}
}

// quarantine copies the regions of the log to a new file in dir, named
// after the time, and makes it durable. It returns the file's path.
func quarantine(dir string, log io.ReaderAt, regions []region, now time.Time) (string, error) {
	stamp := now.UTC().Format("20060102T150405.000000000Z")
	var (
		qf   *os.File
		path string
		err  error
	)
	for i := 0; ; i++ {
		name := "quarantine-" + stamp + ".bin"
		if i > 0 {
			name = fmt.Sprintf("quarantine-%s-%d.bin", stamp, i)
		}
		path = filepath.Join(dir, name)
		qf, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !os.IsExist(err) || i == 100 {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("store: create quarantine file: %w", err)
	}
	for _, rg := range regions {
		if _, err = io.Copy(qf, io.NewSectionReader(log, rg.off, rg.n)); err != nil {
			break
		}
	}
	if err == nil {
		err = qf.Sync()
	}
	if cerr := qf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("store: write quarantine file: %w", err)
	}
	return path, nil
}
