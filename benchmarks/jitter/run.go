package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	mqtt "github.com/ternmq/mqtt"
)

// mode is a jitter mode under test.
type mode struct {
	name   string
	jitter mqtt.Jitter
}

var modes = []mode{
	{"none", mqtt.JitterNone},
	{"full", mqtt.JitterFull},
	{"decorrelated", mqtt.JitterDecorrelated},
}

// recorder collects the events of all the clients of one run. Its
// callbacks run on each client's dispatcher goroutine.
type recorder struct {
	mu        sync.Mutex // guards everything below
	lost      bool       // the broker was killed; events count from here
	loss      time.Time
	initial   int             // EventConnected before the loss
	back      []time.Duration // per client: first EventConnected after the loss, 0 if none yet
	first     []time.Duration // per client: first EventConnecting after the loss, 0 if none yet
	tries     []time.Duration // every EventConnecting after the loss
	remaining int             // clients not yet back
	attempts  int             // EventConnecting after the loss
	failed    int             // EventConnectFailed after the loss
	extra     int             // EventConnected after a client was already back
	discs     int             // EventDisconnected after the loss
	discMax   time.Duration   // the latest EventDisconnected after the loss
	firstErr  error           // the first EventConnectFailed's error

	allUp   chan struct{} // closed when every client has connected once
	allBack chan struct{} // closed when every client is back after the loss
}

func newRecorder(n int) *recorder {
	return &recorder{back: make([]time.Duration, n), first: make([]time.Duration, n), remaining: n,
		allUp: make(chan struct{}), allBack: make(chan struct{})}
}

func (r *recorder) onEvent(i int) func(mqtt.Event) {
	return func(e mqtt.Event) {
		now := time.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.lost {
			if e.Kind == mqtt.EventConnected {
				r.initial++
				if r.initial == len(r.back) {
					close(r.allUp)
				}
			}
			return
		}
		since := now.Sub(r.loss)
		switch e.Kind {
		case mqtt.EventConnected:
			if r.back[i] != 0 {
				r.extra++
				return
			}
			r.back[i] = max(since, 1) // 0 means "not back"
			r.remaining--
			if r.remaining == 0 {
				close(r.allBack)
			}
		case mqtt.EventConnecting:
			r.attempts++
			r.tries = append(r.tries, since)
			if r.first[i] == 0 {
				r.first[i] = max(since, 1)
			}
		case mqtt.EventConnectFailed:
			r.failed++
			if r.firstErr == nil {
				r.firstErr = e.Err
			}
		case mqtt.EventDisconnected:
			r.discs++
			r.discMax = max(r.discMax, since)
		}
	}
}

// result is one run of one mode.
type result struct {
	mode     string
	n        int
	times    []time.Duration // reconnect times after the loss, sorted; the clients that came back
	first    []time.Duration // each client's first attempt after the loss, sorted
	tries    []time.Duration // every attempt after the loss, sorted
	attempts int
	failed   int
	extra    int
	discs    int
	discMax  time.Duration
	restart  time.Duration // when the new broker listened, after the loss
	failErr  error         // the first failed attempt's error, for the notes
	err      error         // the run could not be measured (setup) or was incomplete
}

// Statistics of a result; durations since the loss.
func (r result) pct(p float64) time.Duration { return percentile(r.times, p) }
func (r result) min() time.Duration          { return percentile(r.times, 0) }
func (r result) max() time.Duration          { return percentile(r.times, 1) }

// peak is the largest number of reconnections within any window of width
// w ([t, t+w)), and the start of the first such window.
func (r result) peak(w time.Duration) (int, time.Duration) { return densest(r.times, w) }

// densest returns the largest number of the sorted ts within any window
// of width w ([t, t+w)), and the start of the first such window.
func densest(ts []time.Duration, w time.Duration) (int, time.Duration) {
	best, at, i := 0, time.Duration(0), 0
	for j, t := range ts {
		for t-ts[i] >= w {
			i++
		}
		if j-i+1 > best {
			best, at = j-i+1, ts[i]
		}
	}
	return best, at
}

func (r result) String() string {
	if len(r.times) == 0 {
		return fmt.Sprintf("FAILED: %v", r.err)
	}
	pk, at := r.peak(window)
	apk, aat := densest(r.tries, window)
	s := fmt.Sprintf("back %d/%d  min %v  p10 %v  p50 %v  p90 %v  max %v  peak %d at %v  attempts %d (peak %d at %v)  failed %d  restart %v",
		len(r.times), r.n, ms(r.min()), ms(r.pct(0.1)), ms(r.pct(0.5)), ms(r.pct(0.9)), ms(r.max()), pk, ms(at), r.attempts, apk, ms(aat), r.failed, ms(r.restart))
	if r.err != nil {
		s += "  ERROR: " + r.err.Error()
	}
	return s
}

// measure runs one mode once: a broker on a free port, n clients, the
// broker killed, restarted on the same port after the outage, and the
// reconnections recorded until every client is back or wait has passed.
// Every client and broker is closed before it returns.
func measure(m mode, o options) (res result) {
	res = result{mode: m.name, n: o.clients}
	b, err := startBroker("127.0.0.1:0")
	if err != nil {
		res.err = err
		return res
	}
	addr := b.addr
	live := b // the broker to stop at the end, nil when none runs
	defer func() {
		if live != nil {
			if _, err := live.kill(); err != nil && res.err == nil {
				res.err = err
			}
		}
	}()

	rec := newRecorder(o.clients)
	clients := make([]*mqtt.Client, 0, o.clients)
	defer func() {
		if err := closeAll(clients, 20*time.Second); err != nil && res.err == nil {
			res.err = err
		}
	}()
	for i := range o.clients {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := mqtt.Dial(ctx, mqtt.Config{
			Broker:    "mqtt://" + addr,
			ClientID:  fmt.Sprintf("jitter-%s-%d", m.name, i),
			Reconnect: true,
			Backoff:   mqtt.Backoff{Min: o.min, Max: o.max, Jitter: m.jitter},
			OnEvent:   rec.onEvent(i),
		})
		cancel()
		if err != nil {
			res.err = fmt.Errorf("client %d: first connection: %w", i, err)
			return res
		}
		clients = append(clients, c)
	}
	select {
	case <-rec.allUp:
	case <-time.After(10 * time.Second):
		res.err = errors.New("not every client reported its first EventConnected within 10 s")
		return res
	}
	time.Sleep(100 * time.Millisecond) // let the connections settle

	// The loss: every connection ends at once. Times count from the
	// instant before the first connection is closed.
	at := time.Now()
	rec.mu.Lock()
	rec.lost, rec.loss = true, at
	rec.mu.Unlock()
	closed, err := b.kill()
	live = nil
	if err != nil {
		res.err = err
		return res
	}
	if closed != o.clients {
		res.err = fmt.Errorf("the broker held %d connections, not %d", closed, o.clients)
	}

	time.Sleep(time.Until(at.Add(o.outage)))
	b, err = startBroker(addr)
	if err != nil {
		res.err = fmt.Errorf("restart on the same port: %w", err)
		return res
	}
	live = b
	res.restart = time.Since(at)

	select {
	case <-rec.allBack:
	case <-time.After(time.Until(at.Add(o.wait))):
	}
	rec.mu.Lock()
	for _, t := range rec.back {
		if t != 0 {
			res.times = append(res.times, t)
		}
	}
	for _, t := range rec.first {
		if t != 0 {
			res.first = append(res.first, t)
		}
	}
	res.tries = slices.Clone(rec.tries)
	res.attempts, res.failed, res.extra = rec.attempts, rec.failed, rec.extra
	res.discs, res.discMax, res.failErr = rec.discs, rec.discMax, rec.firstErr
	rec.mu.Unlock()
	slices.Sort(res.times)
	slices.Sort(res.first)
	slices.Sort(res.tries)
	if len(res.times) < o.clients && res.err == nil {
		res.err = fmt.Errorf("%d of %d clients not back %v after the loss", o.clients-len(res.times), o.clients, o.wait)
	}
	return res
}

// closeAll closes the clients, a few at a time, and reports whether they
// were all closed within limit.
func closeAll(cs []*mqtt.Client, limit time.Duration) error {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for _, c := range cs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				c.Close()
				<-sem
			}()
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("clients not closed within %v", limit)
	}
}

// percentile is the nearest-rank percentile of sorted ds; p in [0, 1].
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
