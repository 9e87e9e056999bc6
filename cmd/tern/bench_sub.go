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
	}
	rep := r.report(time.Since(r.start))
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
// send time in its payload. It runs on each client's dispatcher.
func (r *benchRun) onMessage(m *mqtt.Message) {
	now := time.Now().UnixNano()
	n := r.received.Add(1)
	if r.o.kind == "sub" && r.o.limit > 0 && n > int64(r.o.limit) {
		return // after the limit: not counted in the report
	}
	r.firstRecv.CompareAndSwap(0, now)
	for last := r.lastRecv.Load(); now > last && !r.lastRecv.CompareAndSwap(last, now); last = r.lastRecv.Load() {
	}
	if at, ok := readStamp(m.Payload); ok {
		r.latency.record(time.Duration(now - at))
	} else {
		r.unstamped.Add(1)
	}
	if r.o.kind == "sub" && n == int64(r.o.limit) {
		r.stop(errBenchLimit)
	}
}

// receiveReport is the part of the report about received messages.
func (r *benchRun) receiveReport() *benchRecvReport {
	n := r.received.Load()
	if r.o.kind == "sub" && r.o.limit > 0 {
		n = min(n, int64(r.o.limit))
	}
	rep := &benchRecvReport{Received: n, Unstamped: r.unstamped.Load(), Latency: r.latency.stats()}
	if first, last := r.firstRecv.Load(), r.lastRecv.Load(); last > first {
		rep.Rate = perSecond(n, time.Duration(last-first))
	}
	return rep
}
