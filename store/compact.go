package store

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Compaction rewrites the log with only its live records when the log is
// over CompactMin and more than twice their size. Twice bounds the disk
// to about 2× the live data (plus CompactMin), and costs at most one byte
// copied per byte appended since the last compaction; a session store's
// log is mostly dead (every message is put, then deleted when acknowledged),
// so a compaction usually copies little.
const compactRatio = 2

// remapChunk is how many index entries compaction updates per hold of mu,
// so that Put and Delete never wait long for it.
const remapChunk = 4096

// shouldCompact reports whether the log is due for compaction.
func (f *File) shouldCompact() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	size := f.written - f.base
	return f.err == nil && size > f.compactMin && size > compactRatio*f.live && size >= f.nextCompact
}

// compactOrWarn compacts, and logs a failure. After a failure that left
// the old log in place (say, a full disk) the store goes on with it, and
// does not try again until the log has grown by another CompactMin; a
// failure after the rename (the directory's fsync) is sticky.
func (f *File) compactOrWarn() {
	err := f.compact()
	if err == nil {
		return
	}
	f.mu.Lock()
	sticky := f.err != nil
	f.nextCompact = f.written - f.base + f.compactMin
	f.mu.Unlock()
	if sticky {
		f.warn("store: compaction failed; the store is unusable until reopened", "err", err)
	} else {
		f.warn("store: compaction failed; the log is kept as it is", "err", err)
	}
}

// move is a live record compaction copies: its virtual position, old and
// new, and its size.
type move struct {
	key         uint64
	from, to, n int64
}

// compact writes the live records of the log to a temporary file, fsyncs
// it, renames it over the log and fsyncs the directory. A crash at any
// point leaves the old log or the new one whole: the new one is complete
// and durable before the rename, which is atomic, and Open removes a
// leftover temporary file.
//
// The caller is the flusher (or Open): no other write to the log happens
// meanwhile. It holds fileMu exclusively (Load and the background fsync
// wait), but not mu, so Put and Delete go on, into the buffer. The copied
// records keep their order, and move to virtual positions ending where
// the old log ended, so that the records in the buffer keep theirs.
func (f *File) compact() error {
	f.fileMu.Lock()
	defer f.fileMu.Unlock()
	f.mu.Lock()
	written, base := f.written, f.base
	moves := make([]move, 0, len(f.index))
	for k, e := range f.index {
		if e.v < written {
			moves = append(moves, move{key: k, from: e.v, n: e.size()})
		}
	}
	f.mu.Unlock()
	slices.SortFunc(moves, func(a, b move) int { return cmp.Compare(a.from, b.from) })

	tmpPath := filepath.Join(f.dir, tmpName)
	tmp, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("store: compaction: %w", err)
	}
	size, err := copyRecords(tmp, f.fh, base, moves)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = os.Rename(tmpPath, f.path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmpPath)
		return fmt.Errorf("store: compaction: %w", err)
	}

	// The new file is the log from here on, whatever fails next.
	old := f.fh
	f.fh = tmp
	newBase := written - size
	for i := 0; i < len(moves); i += remapChunk {
		f.mu.Lock()
		if i == 0 {
			f.base = newBase
		}
		for _, m := range moves[i:min(i+remapChunk, len(moves))] {
			if e, ok := f.index[m.key]; ok && e.v == m.from {
				e.v = newBase + m.to
				f.index[m.key] = e
			}
		}
		f.mu.Unlock()
	}
	old.Close()
	derr := syncDir(f.dir)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.base = newBase
	f.compactions++
	f.nextCompact = 0
	if derr != nil {
		derr = fmt.Errorf("store: fsync %s after compaction: %w", f.dir, derr)
		if f.err == nil {
			f.err = derr
		}
		return derr
	}
	f.synced = max(f.synced, written)
	return nil
}

// copyRecords copies the records moves lists (in log order) from the log
// src, whose first byte is at virtual position base, to dst, filling in
// their new offsets. Adjacent records are copied in one run.
func copyRecords(dst io.Writer, src io.ReaderAt, base int64, moves []move) (int64, error) {
	w := bufio.NewWriterSize(dst, 256<<10)
	var size int64
	for i := 0; i < len(moves); {
		start, end := moves[i].from, moves[i].from
		for ; i < len(moves) && moves[i].from == end; i++ {
			moves[i].to = size + end - start
			end += moves[i].n
		}
		if _, err := io.Copy(w, io.NewSectionReader(src, start-base, end-start)); err != nil {
			return 0, err
		}
		size += end - start
	}
	return size, w.Flush()
}
