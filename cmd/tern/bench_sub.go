package main

import (
	"sync"
	"time"

	"github.com/ternmq/mqtt"
)

// runSub runs tern bench sub: the subscribers connect and subscribe, one
// every -i, and count what they receive until -L messages, the duration
// or Ctrl-C.
func (r *benchRun) runSub() *benchReport {
	o := r.o
	var wg sync.WaitGroup
	r.launch(&wg, func(n int) {
		id := r.clientID("", n)
		r.subscribe(id, o.tmpl.expand(n, id, o.username))
	}, always)
	wg.Wait()
	if r.subscribed.Load() > 0 {
		<-r.ctx.Done()
	} else if r.connected.Load() > 0 {
		r.stop(errBenchNoSub)
	}
	elapsed := time.Since(r.start)
	r.settleReceived()
	rep := r.report(elapsed)
	rep.Receive = r.receiveReport()
	return rep
}

// subscribe connects a client and subscribes it to filter; it reports
// whether the broker granted the subscription.
func (r *benchRun) subscribe(id, filter string) bool {
	c := r.connect(id)
	if c == nil {
		return false
	}
	_, err := c.Subscribe(r.ctx, r.onMessage, mqtt.Subscription{Filter: filter, QoS: mqtt.QoS(r.o.qos)})
	if err != nil {
		if r.ctx.Err() != nil {
			r.errs.addCause("subscribe: cut short by the end of the run", err)
		} else {
			r.errs.add("subscribe", err)
		}
		return false
	}
	r.subscribed.Add(1)
	return true
}

// onMessage counts a received message and records its latency from the
// send time in its payload. It runs on each client's dispatcher. A
// message is counted in received once its latency is recorded, so that
// the report's numbers agree; arrived counts them before, for -L.
func (r *benchRun) onMessage(m *mqtt.Message) {
	now := time.Now().UnixNano()
	n := r.arrived.Add(1)
	limited := r.o.kind == "sub" && r.o.limit > 0
	if limited && n > int64(r.o.limit) {
		return // after the limit: not counted
	}
	r.firstRecv.CompareAndSwap(0, now)
	for last := r.lastRecv.Load(); now > last && !r.lastRecv.CompareAndSwap(last, now); last = r.lastRecv.Load() {
	}
	if at, ok := readStamp(m.Payload); ok {
		r.latency.record(time.Duration(now - at))
	} else {
		r.unstamped.Add(1)
	}
	r.received.Add(1)
	if limited && n == int64(r.o.limit) {
		r.stop(errBenchLimit)
	}
}

// settleReceived waits, a second at most, for the handlers still running
// to count the messages that arrived.
func (r *benchRun) settleReceived() {
	want := r.arrived.Load()
	if r.o.kind == "sub" && r.o.limit > 0 {
		want = min(want, int64(r.o.limit))
	}
	for deadline := time.Now().Add(time.Second); r.received.Load() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// receiveReport is the part of the report about received messages.
func (r *benchRun) receiveReport() *benchRecvReport {
	n := r.received.Load()
	rep := &benchRecvReport{Received: n, Unstamped: r.unstamped.Load(), Latency: r.latency.stats()}
	if first, last := r.firstRecv.Load(), r.lastRecv.Load(); last > first {
		rep.Rate = perSecond(n, time.Duration(last-first))
	}
	return rep
}
