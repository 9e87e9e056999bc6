package store

import (
	"fmt"
	"time"
)

// maxSpare is the largest buffer a flush keeps for the next one.
const maxSpare = 4 << 20

// Sync makes every Put and Delete that returned before it was called
// survive the end of the process, and a power failure too if SyncInterval
// is zero (see Options). It is a group commit: one caller at a time
// writes the whole buffer, its own records and everyone else's, with one
// write(2) and at most one fsync, and wakes every caller whose records are
// now written; callers whose records came too late for it take the next
// turn, together. The caller whose Sync finds the log big and mostly dead
// compacts it before returning (Put and Delete go on meanwhile).
//
// A failed write or fsync is sticky: that Sync and every later call
// return it (it names the file and the operation), and nothing more is
// written. Sync after Close returns ErrClosed.
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	target := f.end
	for !f.covered(target) {
		if err := f.usable(); err != nil {
			return err
		}
		if f.flushing {
			f.waiting++
			f.cond.Wait()
			f.waiting--
			continue
		}
		f.flushing = true
		f.mu.Unlock()
		f.flush(f.interval == 0)
		if f.shouldCompact() {
			f.compactOrWarn()
		}
		f.mu.Lock()
		f.flushing = false
		f.cond.Broadcast()
	}
	return nil
}

// covered reports whether the records up to virtual position target are
// as durable as Sync promises. The caller holds mu.
func (f *File) covered(target int64) bool {
	if f.interval == 0 {
		return f.synced >= target
	}
	return f.written >= target
}

// flush writes the buffer to the log, and fsyncs if fsync (else, with
// SyncInterval > 0, has the background goroutine fsync soon). The caller
// has set flushing.
func (f *File) flush(fsync bool) {
	f.fileMu.RLock()
	defer f.fileMu.RUnlock()
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		return
	}
	from := f.written
	data := f.buf
	f.inflight, f.buf, f.spare = data, f.spare[:0], nil
	to := f.end
	fsync = fsync && f.synced < to
	f.mu.Unlock()

	var err error
	wrote := false
	if len(data) > 0 {
		if f.testHookWrite != nil {
			f.testHookWrite()
		}
		if _, werr := f.fh.WriteAt(data, from-f.base); werr != nil {
			err = fmt.Errorf("store: append to the log: %w", werr)
		} else {
			wrote = true
		}
	}
	fsynced := false
	if err == nil && fsync {
		if serr := f.fh.Sync(); serr != nil {
			err = fmt.Errorf("store: fsync the log: %w", serr)
		} else {
			fsynced = true
		}
	}

	f.mu.Lock()
	f.inflight = nil
	if len(data) > 0 {
		f.writes++
	}
	if wrote {
		f.written = to
	}
	if fsynced {
		f.fsyncs++
		f.synced = to
		f.lastFsync = time.Now()
	}
	failed := err != nil && f.err == nil
	if failed {
		f.err = err
	}
	if cap(data) <= maxSpare {
		f.spare = data[:0]
	}
	wantFsync := f.kick != nil && f.err == nil && f.synced < f.written
	f.cond.Broadcast()
	f.mu.Unlock()
	if failed {
		f.warn("store: the log failed; the store is unusable until reopened", "err", err)
	}
	if wantFsync {
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
}

// syncLoop is the background fsync of SyncInterval > 0: after a write
// (a kick) it waits until an interval has passed since the last fsync,
// then fsyncs. It returns when Close closes stop.
func (f *File) syncLoop() {
	defer close(f.stopped)
	for {
		select {
		case <-f.stop:
			return
		case <-f.kick:
		}
		f.mu.Lock()
		due := f.lastFsync.Add(f.interval)
		f.mu.Unlock()
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-f.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		f.fsyncWritten()
	}
}

// fsyncWritten fsyncs the log if it holds writes not yet fsynced.
func (f *File) fsyncWritten() {
	f.fileMu.RLock()
	defer f.fileMu.RUnlock()
	f.mu.Lock()
	to := f.written
	if f.err != nil || f.fh == nil || f.synced >= to {
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	err := f.fh.Sync()
	f.mu.Lock()
	failed := err != nil && f.err == nil
	if failed {
		err = fmt.Errorf("store: fsync the log: %w", err)
		f.err = err
	} else if err == nil {
		f.fsyncs++
		f.synced = max(f.synced, to)
		f.lastFsync = time.Now()
	}
	f.mu.Unlock()
	if failed {
		f.warn("store: the log failed; the store is unusable until reopened", "err", err)
	}
}
