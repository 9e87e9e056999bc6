package mqtt

import "time"

// linger is how long the writer and dispatcher goroutines wait for more
// work before exiting: long enough that steady traffic never restarts
// them (starting one allocates), short enough that an idle client holds
// only its reader goroutine.
const linger = time.Second

// worker runs a goroutine on demand for a queue guarded by its owner's
// mutex: the first item queued starts it, and it exits after its queue has
// stayed empty for linger.
type worker struct {
	running bool          // guarded by the owner's mutex
	wake    chan struct{} // capacity 1: work was queued while running
	timer   *time.Timer   // owned by the running goroutine
}

func newWorker() worker { return worker{wake: make(chan struct{}, 1)} }

// kick is called, with the owner's mutex held, after an item was queued.
// It reports whether the caller must start the goroutine (after unlocking).
func (w *worker) kick() bool {
	if w.running {
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return false
	}
	w.running = true
	return true
}

// idle is called by the goroutine, without the mutex, when its queue is
// empty. It waits for a kick, for linger to pass, or for done to close,
// and reports whether it was kicked. When it reports false the goroutine
// checks its queue again under the mutex and calls exit if it is empty.
func (w *worker) idle(done <-chan struct{}) bool {
	select {
	case <-w.wake:
		return true
	default:
	}
	if w.timer == nil {
		w.timer = time.NewTimer(linger)
	} else {
		w.timer.Reset(linger)
	}
	select {
	case <-w.wake:
		if !w.timer.Stop() {
			select { // the pre-Go 1.23 timer channel may hold a stale tick
			case <-w.timer.C:
			default:
			}
		}
		return true
	case <-w.timer.C:
		return false
	case <-done:
		w.timer.Stop()
		return false
	}
}

// exit is called, with the owner's mutex held, by the goroutine as it
// returns.
func (w *worker) exit() { w.running = false }
