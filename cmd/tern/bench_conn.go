package main

import (
	"sync"
	"time"
)

// runConn runs tern bench conn: the clients connect, one every -i; once
// every attempt has ended they stay connected for --hold, and the run
// ends (the clients are disconnected after the report is made).
func (r *benchRun) runConn() *benchReport {
	var wg sync.WaitGroup
	r.launch(&wg, func(n int) { r.connect(r.clientID("", n)) }, always)
	wg.Wait()
	elapsed := time.Since(r.start)
	if r.o.hold > 0 && r.connected.Load() > 0 {
		t := time.NewTimer(r.o.hold)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
		}
	}
	rep := r.report(elapsed)
	rep.Connections.Rate = perSecond(r.connected.Load(), elapsed)
	return rep
}
