package main

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt"
)

// stampMagic starts the payload of every message of tern bench pub; the
// send time follows, in Unix nanoseconds, big-endian (stampSize bytes in
// all), then padding to -s bytes.
var stampMagic = []byte("tb1\x00")

// stamp returns a payload of r's size carrying the time at.
func (r *benchRun) stamp(at time.Time) []byte {
	p := make([]byte, len(r.payloadHead))
	copy(p, r.payloadHead)
	binary.BigEndian.PutUint64(p[len(stampMagic):stampSize], uint64(at.UnixNano()))
	return p
}

// readStamp returns the send time a payload of tern bench pub carries.
func readStamp(p []byte) (int64, bool) {
	if len(p) < stampSize || string(p[:len(stampMagic)]) != string(stampMagic) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(p[len(stampMagic):stampSize])), true
}

// benchPublisher is one client of tern bench pub: a goroutine that
// publishes at the client's pace, and one that waits for the completions
// in order (a broker acknowledges in the order it received, MQTT-4.6.0).
type benchPublisher struct {
	r         *benchRun
	c         *mqtt.Client
	topic     string
	completed atomic.Int64 // publishes completed without error
}

// benchPending is a publish awaiting its completion.
type benchPending struct {
	c  *mqtt.Completion
	at time.Time
}

// runPub runs tern bench pub: with --sub the subscribers first, then the
// publishers, until the limit, the duration or Ctrl-C, then the wait for
// the publishes in flight and for the messages still to be received.
func (r *benchRun) runPub() *benchReport {
	o := r.o
	if o.selfSub {
		var wg sync.WaitGroup
		r.launch(&wg, func(n int) {
			id := r.clientID("s", n)
			pubID := r.clientID("", n)
			t := o.tmpl.expand(n, pubID, o.username)
			if r.subscribe(id, t) {
				r.publishersMu.Lock()
				r.subsByTopic[t]++
				r.publishersMu.Unlock()
			}
		}, always)
		wg.Wait()
	}
	pubStart := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.launch(&wg, r.publisher, func() bool { return !r.limitHit.Load() })
	}()
	r.waitOrStop(&wg)
	if r.limitHit.Load() {
		r.stop(errBenchLimit)
	}
	elapsed := time.Since(pubStart)
	expected := r.expected()
	if o.selfSub {
		r.awaitReceived(expected)
		r.settleReceived()
	}
	rep := r.report(elapsed)
	rep.Publish = &benchPubReport{
		Sent:           r.sent.Load(),
		Completed:      r.done.Load(),
		Failed:         r.failed.Load(),
		InFlight:       r.inFlightEnd.Load(),
		SentRate:       perSecond(r.sent.Load(), elapsed),
		CompletedRate:  perSecond(r.done.Load(), elapsed),
		CompletionTime: r.completionTime.stats(),
	}
	if o.selfSub {
		rep.Receive = r.receiveReport()
		rep.Receive.Expected = &expected
	}
	return rep
}

// publisher connects client number n and publishes until the run stops,
// -L is reached or its connection is lost; then waits for its
// completions until the drain ends.
func (r *benchRun) publisher(n int) {
	id := r.clientID("", n)
	c := r.connect(id)
	if c == nil {
		return
	}
	p := &benchPublisher{r: r, c: c, topic: r.o.tmpl.expand(n, id, r.o.username)}
	r.publishersMu.Lock()
	r.publishers = append(r.publishers, p)
	r.publishersMu.Unlock()
	// The window of publishes awaiting completion, per client: the
	// clients share about 100,000 messages (each having 10 to
	// benchWindow) and 256 MiB of payloads (each having one at least).
	window := min(max(100000/r.o.clients, 10), benchWindow)
	window = min(window, max((256<<20)/(r.o.size*r.o.clients), 1))
	pending := make(chan benchPending, window-1)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		p.collect(pending)
	}()
	p.publish(pending)
	close(pending)
	<-collected
}

// publish publishes every -I until the run stops, the budget of -L is
// spent or the connection is lost. A publisher behind its schedule
// catches up, but by a second at most.
func (p *benchPublisher) publish(pending chan<- benchPending) {
	r := p.r
	qos := mqtt.QoS(r.o.qos)
	t := time.NewTimer(time.Hour)
	t.Stop()
	next := time.Now()
	for r.ctx.Err() == nil && p.c.Err() == nil && r.takeBudget() {
		at := time.Now()
		m := &mqtt.Message{Topic: p.topic, Payload: r.stamp(at), QoS: qos, Retain: r.o.retain}
		comp := p.c.PublishAsync(m)
		r.sent.Add(1)
		pending <- benchPending{comp, at} // the collector always takes it, even after the drain
		if r.o.msgEvery <= 0 {
			continue
		}
		next = next.Add(r.o.msgEvery)
		if now := time.Now(); now.Sub(next) > time.Second {
			next = now
		}
		if !sleepUntil(r.ctx, t, next) {
			return
		}
	}
}

// takeBudget takes one message from the budget of -L, and reports false
// when none is left.
func (r *benchRun) takeBudget() bool {
	if r.o.limit == 0 {
		return true
	}
	if r.budget.Add(-1) >= 0 {
		return true
	}
	r.limitHit.Store(true)
	return false
}

// collect waits for each publish's completion, in order, and counts it;
// once the drain has ended, the publishes not yet complete are counted as
// in flight.
func (p *benchPublisher) collect(pending <-chan benchPending) {
	r := p.r
	drained := false
	for pd := range pending {
		if !drained {
			select {
			case <-pd.c.Done():
			case <-r.drained:
				drained = true
			}
		}
		select {
		case <-pd.c.Done():
		default:
			r.inFlightEnd.Add(1)
			continue
		}
		if err := pd.c.Err(); err != nil {
			r.failed.Add(1)
			r.errs.add("publish", err)
			continue
		}
		r.completionTime.record(time.Since(pd.at))
		r.done.Add(1)
		p.completed.Add(1)
	}
}

// expected returns how many messages the subscribers of --sub should
// receive: each completed publish once per subscriber of its topic.
func (r *benchRun) expected() int64 {
	r.publishersMu.Lock()
	defer r.publishersMu.Unlock()
	var n int64
	for _, p := range r.publishers {
		n += p.completed.Load() * r.subsByTopic[p.topic]
	}
	return n
}

// awaitReceived waits for the subscribers of --sub to receive expected
// messages: until they have, or a second passes without any arriving, or
// benchDrain (a second after Ctrl-C).
func (r *benchRun) awaitReceived(expected int64) {
	limit := benchDrain
	if r.parent.Err() != nil {
		limit = benchDrainShort
	}
	deadline := time.Now().Add(limit)
	last, lastChange := r.received.Load(), time.Now()
	for time.Now().Before(deadline) {
		n := r.received.Load()
		if n >= expected {
			return
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > time.Second {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
