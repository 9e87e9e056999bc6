package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Names of the files a store keeps in its directory.
const (
	logName  = "store.log"
	tmpName  = "store.log.tmp" // a compaction in progress; removed by Open
	lockName = "store.lock"
)

var (
	// ErrClosed is returned by every method of a File after Close.
	ErrClosed = errors.New("store: closed")
	// ErrLocked is returned by Open when another File, in this process or
	// another, has the directory open.
	ErrLocked = errors.New("store: directory in use")
	// ErrTooLarge is returned by Put for data longer than MaxDataSize.
	ErrTooLarge = errors.New("store: record too large")
)

// Options configures Open. The zero value fsyncs at every Sync, compacts
// from 4 MiB on and logs nothing.
type Options struct {
	// SyncInterval is the fsync policy; every policy writes the records to
	// the log at every Sync, so none loses anything to the end of the
	// process (a crash, SIGKILL).
	//
	// If zero, Sync fsyncs the log before it returns: nothing is lost to a
	// power failure either. If positive, Sync returns once the records are
	// written, and a background goroutine fsyncs at most once per interval,
	// within the interval of any write: a power failure loses at most the
	// last interval's records. If negative, the store never fsyncs the log
	// and leaves it to the operating system (typically 5 to 30 seconds of
	// records lost to a power failure). Compaction fsyncs the rewritten
	// log under every policy, so a power failure never loses the whole log.
	SyncInterval time.Duration
	// CompactMin is the log size, in bytes, below which the log is never
	// compacted. If zero or less, 4 MiB.
	CompactMin int64
	// Logger receives a warning for every torn tail truncated, region
	// quarantined and failed compaction. It never receives record data.
	// If nil, the store logs nothing.
	Logger *slog.Logger
}

// Recovery is what Open found in the log and did about it.
type Recovery struct {
	// Records is the number of valid records read (puts and deletes).
	Records int
	// Live is the number of records Load returns after the replay.
	Live int
	// TornBytes is the length of the torn tail cut from the log: an
	// incomplete last record, as a crash mid-write leaves, or zero fill.
	TornBytes int64
	// Quarantined is the number of corrupt regions found, and
	// QuarantinedBytes their total length. Each region runs from a bad
	// record to the next valid one (or the end of the log).
	Quarantined      int
	QuarantinedBytes int64
	// QuarantineFile is the file in the store's directory holding the
	// corrupt regions' bytes, one after the other in log order; empty if
	// nothing was quarantined.
	QuarantineFile string
	// Compacted reports that Open rewrote the log: after a quarantine, or
	// when it was mostly dead records.
	Compacted bool
}

// File is a crash-safe store of keyed records in a directory: an
// append-only log, replayed by Open. It implements the Store interface of
// package mqtt. All its methods are safe for concurrent use; Put and
// Delete never do I/O. Close releases it.
type File struct {
	dir, path  string
	interval   time.Duration
	compactMin int64
	logger     *slog.Logger
	lock       io.Closer
	recovery   Recovery

	// fileMu guards fh and base. Read-locked by whatever uses the log
	// file (a flush's write and fsync, the background fsync, Load's
	// reads); write-locked to replace or close it (compaction, Close).
	// Lock order: fileMu before mu. Compaction changes base holding mu
	// too, so that shouldCompact may read it under mu alone.
	fileMu sync.RWMutex
	fh     *os.File
	base   int64 // virtual position of the log's first byte

	// mu guards the fields below. It is never held across I/O.
	mu    sync.Mutex
	cond  sync.Cond // on mu; broadcast when a flush or compaction ends
	index map[uint64]entry
	live  int64 // bytes of the live records (header and data)
	// Virtual positions: each record has one, which never changes until
	// a compaction moves the record; the log file holds [base, written).
	written  int64
	inflight []byte // being written by the flusher: [written, written+len)
	buf      []byte // appended since the last flush: [end-len, end)
	spare    []byte // a used buffer, for the next flush
	end      int64
	synced   int64 // the log is fsynced up to here
	flushing bool  // one Sync (or Close) is flushing or compacting
	closed   bool
	err      error // sticky: the first failed write or fsync
	// nextCompact is the size under which compaction is not tried again
	// after a failure.
	nextCompact int64
	lastFsync   time.Time

	// Counters for tests (guarded by mu).
	writes, fsyncs, compactions, waiting int
	// testHookWrite, if set before use, runs before each flush's write.
	testHookWrite func()

	// The background fsync (SyncInterval > 0).
	kick    chan struct{} // buffered; a write wants fsyncing
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed by the goroutine when it returns
}

// Open opens the store in dir, creating dir (mode 0700) if it does not
// exist, and replays its log; the files it creates have mode 0600. It
// locks the directory against any other Open until Close. A torn tail of the log is cut and corrupt regions are moved to a
// quarantine file: neither is an error; both are in Recovery and logged.
// Open fails only when it cannot read or write the directory's files.
func Open(dir string, opts Options) (*File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	f := &File{
		dir:        dir,
		path:       filepath.Join(dir, logName),
		interval:   opts.SyncInterval,
		compactMin: opts.CompactMin,
		logger:     opts.Logger,
		lock:       lock,
	}
	if f.compactMin <= 0 {
		f.compactMin = 4 << 20
	}
	f.cond.L = &f.mu
	if err := f.open(); err != nil {
		if f.fh != nil {
			f.fh.Close()
		}
		lock.Close()
		return nil, err
	}
	if f.interval > 0 {
		f.kick = make(chan struct{}, 1)
		f.stop = make(chan struct{})
		f.stopped = make(chan struct{})
		go f.syncLoop()
	}
	return f, nil
}

// open replays the log and repairs it.
func (f *File) open() error {
	if err := os.Remove(filepath.Join(f.dir, tmpName)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("store: remove an unfinished compaction: %w", err)
	}
	fh, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f.fh = fh
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s, err := replay(fh, st.Size())
	if err != nil {
		return fmt.Errorf("store: replay %s: %w", f.path, err)
	}
	f.index, f.live = s.index, s.live
	f.written, f.end, f.synced = s.end, s.end, s.end
	f.lastFsync = time.Now()
	r := &f.recovery
	r.Records, r.TornBytes = s.records, s.torn
	for _, rg := range s.regions {
		r.Quarantined++
		r.QuarantinedBytes += rg.n
	}
	if len(s.regions) > 0 {
		if r.QuarantineFile, err = quarantine(f.dir, fh, s.regions, time.Now()); err != nil {
			return err
		}
		for _, rg := range s.regions {
			f.warn("store: corrupt region of the log quarantined", "offset", rg.off, "bytes", rg.n, "quarantine", r.QuarantineFile)
		}
		if s.exhausted {
			f.warn("store: stopped looking for valid records after a corrupt region; the rest of the log is quarantined", "offset", s.regions[len(s.regions)-1].off)
		}
	}
	if s.torn > 0 {
		f.warn("store: torn tail of the log truncated", "offset", s.end, "bytes", s.torn)
	}
	if len(s.regions) > 0 || f.shouldCompact() {
		if err := f.compact(); err != nil {
			return err
		}
		r.Compacted = true
	} else if s.torn > 0 {
		if err := fh.Truncate(s.end); err != nil {
			return fmt.Errorf("store: truncate the torn tail: %w", err)
		}
		if err := fh.Sync(); err != nil {
			return fmt.Errorf("store: fsync %s: %w", f.path, err)
		}
	}
	// The log may be new: make its directory entry durable.
	if err := syncDir(f.dir); err != nil {
		return fmt.Errorf("store: fsync %s: %w", f.dir, err)
	}
	r.Live = len(f.index)
	return nil
}

func (f *File) warn(msg string, args ...any) {
	if f.logger != nil {
		f.logger.Warn(msg, append([]any{"log", f.path}, args...)...)
	}
}

// Recovery returns what Open found in the log. It never changes.
func (f *File) Recovery() Recovery { return f.recovery }

// usable returns the error that stops every method: ErrClosed or the
// sticky error. The caller holds mu.
func (f *File) usable() error {
	if f.closed {
		return ErrClosed
	}
	return f.err
}

// Put stores a copy of data under key, replacing any record there. It
// appends the record to a buffer in memory and never does I/O: Sync makes
// it durable. It fails after Close, after a write or fsync failure (the
// sticky error), and for data longer than MaxDataSize.
func (f *File) Put(key uint64, data []byte) error {
	if len(data) > MaxDataSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	e := entry{v: f.end, n: uint32(len(data))}
	f.buf = appendRecord(f.buf, opPut, key, data)
	f.end += e.size()
	if old, ok := f.index[key]; ok {
		f.live -= old.size()
	}
	f.index[key] = e
	f.live += e.size()
	return nil
}

// Delete removes the record under key, if there is one, by appending a
// delete record to the buffer in memory. It never does I/O.
func (f *File) Delete(key uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	old, ok := f.index[key]
	if !ok {
		return nil
	}
	f.buf = appendRecord(f.buf, opDelete, key, nil)
	f.end += headerSize
	delete(f.index, key)
	f.live -= old.size()
	return nil
}

// Load calls fn with every record, in increasing key order, and stops at
// fn's first error, which it returns. data is valid only during the call.
// Load holds no lock while fn runs: fn may call any method but Close. It
// reads each record back from the log (or the buffer, if not yet written)
// and verifies its CRC again; a record damaged since Open is an error.
func (f *File) Load(fn func(key uint64, data []byte) error) error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	keys := make([]uint64, 0, len(f.index))
	for k := range f.index {
		keys = append(keys, k)
	}
	f.mu.Unlock()
	slices.Sort(keys)
	var rec []byte
	for _, k := range keys {
		var ok bool
		var err error
		rec, ok, err = f.read(k, rec)
		if err != nil {
			return err
		}
		if !ok {
			continue // deleted meanwhile
		}
		if err := fn(k, rec[headerSize:]); err != nil {
			return err
		}
	}
	return nil
}

// read returns the record of key (header and data) in buf, grown if need
// be, and whether key still has one.
func (f *File) read(key uint64, buf []byte) ([]byte, bool, error) {
	f.fileMu.RLock()
	defer f.fileMu.RUnlock()
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return buf, false, err
	}
	e, ok := f.index[key]
	if !ok {
		f.mu.Unlock()
		return buf, false, nil
	}
	buf = slices.Grow(buf[:0], int(e.size()))[:e.size()]
	if e.v >= f.written {
		var src []byte
		if i := e.v - f.written; i < int64(len(f.inflight)) {
			src = f.inflight[i:]
		} else {
			src = f.buf[e.v-(f.end-int64(len(f.buf))):]
		}
		copy(buf, src)
		f.mu.Unlock()
		return buf, true, nil
	}
	f.mu.Unlock()
	off := e.v - f.base
	if _, err := f.fh.ReadAt(buf, off); err != nil {
		return buf, false, fmt.Errorf("store: read key %d: %w", key, err)
	}
	h, ok := parseHeader(buf)
	if !ok || h.op != opPut || h.key != key || h.n != e.n || recordCRC(buf) != h.crc {
		return buf, false, fmt.Errorf("store: the record of key %d at offset %d of %s is damaged", key, off, f.path)
	}
	return buf, true, nil
}

// Close writes and fsyncs (unless SyncInterval < 0) what remains in the
// buffer, stops the background fsync, closes the log and releases the
// directory's lock. It returns the sticky error if there is one. Every
// method but Recovery, Close included, then returns ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	f.closed = true
	for f.flushing {
		f.cond.Wait()
	}
	f.flushing = true
	f.mu.Unlock()

	if f.stop != nil {
		close(f.stop)
		<-f.stopped
	}
	f.flush(f.interval >= 0)

	f.fileMu.Lock()
	cerr := f.fh.Close()
	f.fh = nil
	f.fileMu.Unlock()
	lerr := f.lock.Close()

	f.mu.Lock()
	f.flushing = false
	f.cond.Broadcast()
	err := f.err
	f.mu.Unlock()
	return errors.Join(err, cerr, lerr)
}
