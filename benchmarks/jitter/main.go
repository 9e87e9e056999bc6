// Command jitter measures how Tern's reconnect jitter spreads the
// reconnections of many clients that lose their broker at the same
// instant. For each jitter mode (none, full, decorrelated) it starts an
// in-process Mochi broker (github.com/mochi-mqtt/server/v2) on a free
// loopback port, connects -clients clients with Config.Reconnect and
// Backoff{Min: -min, Max: -max, Jitter: mode}, closes every connection at
// once, starts a new broker on the same port after -outage, and records
// when each client's EventConnected arrives, until every client is back
// (at most -wait after the loss). It prints a Markdown report: reconnect
// time percentiles, spread, the largest number of reconnections within any
// -window (the thundering-herd peak), and the connection attempts, as
// medians over -rounds rounds.
//
//	cd benchmarks && go run ./jitter -out JITTER.md
//
// Every client and broker is closed before the program exits; every wait
// is bounded, and -timeout ends the program whatever happens.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

type options struct {
	out     string
	clients int
	rounds  int
	min     time.Duration
	max     time.Duration
	outage  time.Duration
	wait    time.Duration
	timeout time.Duration
	modes   []mode
}

// window is the width of the thundering-herd window (-window).
var window = 50 * time.Millisecond

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "also write the report to this `file`")
	flag.IntVar(&o.clients, "clients", 200, "clients that lose the broker at once")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds (each mode once per round, interleaved); medians are reported")
	flag.DurationVar(&o.min, "min", 100*time.Millisecond, "Backoff.Min")
	flag.DurationVar(&o.max, "max", 2*time.Second, "Backoff.Max")
	flag.DurationVar(&o.outage, "outage", time.Second, "time from the loss to the new broker listening on the same port")
	flag.DurationVar(&o.wait, "wait", 60*time.Second, "longest time, from the loss, to wait for every client to be back")
	flag.DurationVar(&window, "window", window, "width of the window in which the reconnection peak is counted")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "time limit of the whole program")
	modeList := flag.String("modes", "none,full,decorrelated", "jitter modes to measure")
	flag.Parse()

	for _, name := range strings.Split(*modeList, ",") {
		found := false
		for _, m := range modes {
			if m.name == name {
				o.modes = append(o.modes, m)
				found = true
			}
		}
		if !found {
			fatalf("-modes: unknown mode %q (none, full, decorrelated)", name)
		}
	}
	if o.clients < 1 || o.rounds < 1 {
		fatalf("-clients and -rounds must be at least 1")
	}
	if o.min <= 0 || o.max < o.min || o.outage < 0 || o.wait <= o.outage || window <= 0 {
		fatalf("need 0 < -min <= -max, 0 <= -outage < -wait, -window > 0")
	}
	time.AfterFunc(o.timeout, func() {
		fmt.Fprintf(os.Stderr, "jitter: time limit %v reached; exiting\n", o.timeout)
		os.Exit(2)
	})
	// A client's connection and the broker's end of it: two descriptors.
	if err := machine.RaiseNoFile(uint64(2*o.clients) + 256); err != nil {
		logf("warning: %v", err)
	}

	start := time.Now()
	rep := report{opts: o, results: map[string][]result{}}
	for round := range o.rounds {
		// Interleave: each round starts with the next mode.
		for i := range o.modes {
			m := o.modes[(i+round)%len(o.modes)]
			r := measure(m, o)
			logf("round %d/%d  %-12s %s", round+1, o.rounds, m.name, r)
			rep.results[m.name] = append(rep.results[m.name], r)
		}
	}
	rep.elapsed = time.Since(start)
	logf("done in %v", rep.elapsed.Round(time.Second))

	text := rep.render()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "jitter: "+format+"\n", args...)
	os.Exit(1)
}
