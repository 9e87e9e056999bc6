package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt"
)

// Why a run ended, as the cause of its stop context.
var (
	errBenchLimit    = errors.New("limit")    // -L reached
	errBenchDuration = errors.New("duration") // --duration expired
	errBenchNoSub    = errors.New("no subscription granted")
)

// Time bounds of the end of a run.
const (
	benchDrain      = 5 * time.Second // for the completions of publishes in flight
	benchDrainShort = time.Second     // the same, after Ctrl-C
	benchDisconnect = 5 * time.Second // for the DISCONNECTs of all clients
)

// benchRun is one run of tern bench: the clients, the counters every
// client goroutine adds to (atomics and lock-free histograms), and the
// stop signal.
type benchRun struct {
	o      *benchOptions
	cfg    mqtt.Config // every client's configuration but its ID
	stderr io.Writer

	parent context.Context // the command's: Ctrl-C
	ctx    context.Context // ends when the run must stop; its cause says why
	stop   context.CancelCauseFunc
	start  time.Time
	ending atomic.Bool // disconnecting: the ends of connections are ours

	// Connections.
	attempted, connected, connFailed, lost atomic.Int64
	connectTime                            histogram

	// Publishes (pub).
	budget              atomic.Int64 // messages -L still allows
	limitHit            atomic.Bool
	sent, done, failed  atomic.Int64
	inFlightEnd         atomic.Int64 // publishes not completed when the drain ended
	completionTime      histogram
	drained             chan struct{} // closed when the wait for completions ends
	payloadHead         []byte        // the payload without its time stamp
	publishersMu        sync.Mutex
	publishers          []*benchPublisher // guarded by publishersMu
	subscribed          atomic.Int64
	subsByTopic         map[string]int64 // --sub: subscribers of each topic; guarded by publishersMu
	arrived, received   atomic.Int64     // messages, before and after their latency is recorded
	unstamped           atomic.Int64
	firstRecv, lastRecv atomic.Int64 // Unix nanoseconds
	latency             histogram

	errs errorCounter

	mu      sync.Mutex
	clients []*mqtt.Client // connected clients, to disconnect at the end; guarded by mu
}

// runBenchKind runs tern bench pub, sub or conn with the parsed options.
func runBenchKind(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) int {
	cfg, err := o.config(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "tern bench %s: %v\nRun \"tern bench %s --help\" for the flags and examples.\n", o.kind, err, o.kind)
		return exitUsage
	}
	files := o.clients + 32
	if o.selfSub {
		files += o.clients
	}
	if err := ensureOpenFiles(uint64(files)); err != nil {
		fmt.Fprintf(stderr, "tern bench %s: %d clients need %d open files: %v; raise the limit (ulimit -n) or lower -c\n", o.kind, o.clients, files, err)
		return exitFailure
	}
	r := &benchRun{o: o, cfg: cfg, stderr: stderr, parent: ctx, drained: make(chan struct{}), subsByTopic: map[string]int64{}}
	r.ctx, r.stop = context.WithCancelCause(ctx)
	defer r.stop(nil)
	r.budget.Store(int64(o.limit))
	r.payloadHead = make([]byte, o.size)
	if o.kind == "pub" {
		copy(r.payloadHead, stampMagic)
		for i := stampSize; i < o.size; i++ {
			r.payloadHead[i] = 'x'
		}
	}
	r.start = time.Now()
	timer := time.AfterFunc(o.runFor, func() { r.stop(errBenchDuration) })
	defer timer.Stop()
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if !o.quiet {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			r.progress(progressDone)
		}()
	}
	var rep *benchReport
	switch o.kind {
	case "pub":
		rep = r.runPub()
	case "sub":
		rep = r.runSub()
	default:
		rep = r.runConn()
	}
	close(progressDone)
	progressWG.Wait()
	r.disconnectAll()
	r.printReport(rep, stdout, stderr)
	switch {
	case ctx.Err() != nil:
		return interruptedCode(ctx)
	case rep.Connections.Succeeded == 0, rep.Ended == "no subscription granted":
		return exitFailure
	}
	return exitOK
}

// ended says why the run ended, once it has.
func (r *benchRun) ended() string {
	switch cause := context.Cause(r.ctx); {
	case r.parent.Err() != nil:
		return "interrupted"
	case errors.Is(cause, errBenchLimit):
		return "limit"
	case errors.Is(cause, errBenchDuration):
		return "duration"
	case errors.Is(cause, errBenchNoSub):
		return "no subscription granted"
	case r.connected.Load() == 0:
		return "no client connected"
	case r.lost.Load() >= r.connected.Load():
		return "every connection lost"
	}
	return "done"
}

// clientID returns the client ID of client number n; role tells apart the
// subscribers of pub --sub ("s") from the publishers ("").
func (r *benchRun) clientID(role string, n int) string {
	return r.o.idPrefix + role + strconv.Itoa(n)
}

// connect connects one client, counting the attempt and its outcome, and
// returns nil if it failed.
func (r *benchRun) connect(id string) *mqtt.Client {
	cfg := r.cfg
	cfg.ClientID = id
	cfg.OnEvent = func(e mqtt.Event) {
		if e.Kind == mqtt.EventDisconnected && !r.ending.Load() && !errors.Is(e.Err, mqtt.ErrClosed) {
			r.lost.Add(1)
			r.errs.add("connection", e.Err)
		}
	}
	r.attempted.Add(1)
	t0 := time.Now()
	c, err := mqtt.Dial(r.ctx, cfg)
	if err != nil {
		r.connFailed.Add(1)
		if r.ctx.Err() != nil {
			r.errs.addCause("connect: cut short by the end of the run", err)
		} else {
			r.errs.add("connect", err)
		}
		return nil
	}
	r.connectTime.record(time.Since(t0))
	r.connected.Add(1)
	r.mu.Lock()
	r.clients = append(r.clients, c)
	r.mu.Unlock()
	return c
}

// launch starts each(n) on a goroutine of wg for the client numbers
// -n+1 to -n+c, one every -i, until all are started, the run stops, or
// more reports that no more are needed. It returns when it stops
// starting them.
func (r *benchRun) launch(wg *sync.WaitGroup, each func(n int), more func() bool) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	next := time.Now()
	for i := 1; i <= r.o.clients; i++ {
		if r.ctx.Err() != nil || !more() {
			return
		}
		n := r.o.startNumber + i
		wg.Add(1)
		go func() {
			defer wg.Done()
			each(n)
		}()
		next = next.Add(r.o.connEvery)
		if i < r.o.clients && !sleepUntil(r.ctx, t, next) {
			return
		}
	}
}

// sleepUntil waits until the time at, with t (a stopped or fired timer),
// and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t *time.Timer, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t.Reset(d)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// always is a launch's more for all the clients.
func always() bool { return true }

// waitOrStop waits for wg, or for the run to stop; then, after a stop,
// gives wg the drain time to finish, closing r.drained when it is over.
func (r *benchRun) waitOrStop(wg *sync.WaitGroup) {
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	select {
	case <-all:
		return
	case <-r.ctx.Done():
	}
	drain := benchDrain
	if r.parent.Err() != nil {
		drain = benchDrainShort
	}
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-all:
	case <-t.C:
		close(r.drained)
		<-all
	}
}

// disconnectAll disconnects every connected client, a few hundred at a
// time, all within benchDisconnect; then closes them.
func (r *benchRun) disconnectAll() {
	r.ending.Store(true)
	r.mu.Lock()
	clients := r.clients
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), benchDisconnect)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.Disconnect(ctx)
			c.Close()
		}()
	}
	wg.Wait()
}

// progress prints a line a second on standard error until done is closed.
func (r *benchRun) progress(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last [3]int64 // sent, received, connected at the previous line
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := [3]int64{r.sent.Load(), r.received.Load(), r.connected.Load()}
		elapsed := time.Since(r.start).Round(time.Second)
		line := fmt.Sprintf("tern bench %s: %v", r.o.kind, elapsed)
		switch r.o.kind {
		case "pub":
			done, failed := r.done.Load(), r.failed.Load()
			line += fmt.Sprintf("  sent %d (%d/s)  completed %d  in flight %d  failed %d",
				now[0], now[0]-last[0], done, now[0]-done-failed, failed)
			if r.o.selfSub {
				line += fmt.Sprintf("  received %d (%d/s)", now[1], now[1]-last[1])
			}
		case "sub":
			line += fmt.Sprintf("  received %d (%d/s)", now[1], now[1]-last[1])
		default:
			line += fmt.Sprintf("  connected %d (%d/s)", now[2], now[2]-last[2])
		}
		line += fmt.Sprintf("  clients %d of %d (%d failed, %d lost)\n",
			now[2]-r.lost.Load(), r.o.clients*(1+b2i(r.o.selfSub)), r.connFailed.Load(), r.lost.Load())
		io.WriteString(r.stderr, line)
		last = now
	}
}
