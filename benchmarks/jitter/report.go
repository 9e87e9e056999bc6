package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	mqtt "github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

type report struct {
	opts    options
	results map[string][]result // by mode name, one per round in round order
	elapsed time.Duration
}

// row is one line of the summary table: a label and, per mode, a value
// computed from the mode's rounds.
type row struct {
	label string
	value func(rs []result, none []result) string
}

func (rep *report) render() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o := rep.opts

	p("# Reconnect jitter: %d clients losing their broker at once\n\n", o.clients)
	p("Command: `cd benchmarks && %s`\n\n", machine.Command("jitter"))
	p("This report is written by `benchmarks/jitter` (`-h` lists its flags). For each jitter mode the program starts an in-process ")
	p("Mochi broker on a free port of 127.0.0.1, connects %d Tern clients (MQTT 5.0, clean start) with ", o.clients)
	p("`Config{Reconnect: true, Backoff: Backoff{Min: %v, Max: %v, Jitter: mode}}`, waits until each has reported `EventConnected`, ", o.min, o.max)
	p("then closes the listener and every connection in one loop (no DISCONNECT: as when a broker process dies) and records that instant, the **loss**. ")
	p("A new broker listens on the same port %v after the loss; meanwhile every attempt is refused. ", o.outage)
	p("The program records the time, after the loss, of each client's first `EventConnected` (taken in `OnEvent`, on the client's dispatcher goroutine), ")
	p("and counts `EventConnecting` (attempts) and `EventConnectFailed` (failed attempts), until every client is back or %v has passed. ", o.wait)
	p("Then it closes the clients and the broker. The modes run one after another, each with a new broker and new clients, ")
	p("interleaved over %d rounds (each round starts with the next mode); the table gives medians over the rounds. ", o.rounds)
	p("**peak** is the largest number of clients whose reconnection fell within any %v window: the thundering herd the broker must absorb.\n\n", window)
	p("Go %s, %s/%s, %d CPUs (GOMAXPROCS %d)%s, %s, %s; the clients and the broker share this process. Took %v.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), machine.CPUModel(),
		mochiVersion(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), rep.elapsed.Round(time.Second))

	p("Without jitter every client waits %s after each end or failure, so its attempts fall at %s after the loss; ",
		joinDurations(noneDelays(o, 8)), joinDurations(noneAttempts(o, 8)))
	p("with an outage of %v, the first attempt after the restart is at %v. ", o.outage, firstAfter(noneAttempts(o, 64), o.outage))
	p("Full jitter draws each delay between 0 and that; decorrelated jitter draws it between Min and three times the previous delay, capped at Max.\n\n")

	p("## Summary (medians over %d rounds)\n\n", o.rounds)
	p("Times are after the loss.\n\n")
	p("| |")
	for _, m := range o.modes {
		p(" %s |", m.name)
	}
	p("\n|---|")
	for range o.modes {
		p("--:|")
	}
	p("\n")
	noneRs := rep.results["none"]
	for _, r := range rep.rows() {
		p("| %s |", r.label)
		for _, m := range o.modes {
			p(" %s |", r.value(rep.results[m.name], noneRs))
		}
		p("\n")
	}
	p("\n")

	p("## Every round\n\n")
	p("| round | mode | back | min | p10 | p50 | p90 | max | p90 − p10 | peak in %v (starting at) | attempts | failed | broker back at | last `EventDisconnected` |\n", window)
	p("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for round := range o.rounds {
		for _, m := range o.modes {
			rs := rep.results[m.name]
			if round >= len(rs) {
				continue
			}
			r := rs[round]
			if len(r.times) == 0 {
				p("| %d | %s | 0/%d | | | | | | | | | | | |\n", round+1, m.name, r.n)
				continue
			}
			pk, at := r.peak(window)
			p("| %d | %s | %d/%d | %s | %s | %s | %s | %s | %s | %d (%s) | %d | %d | %s | %s |\n",
				round+1, m.name, len(r.times), r.n, fms(r.min()), fms(r.pct(0.1)), fms(r.pct(0.5)), fms(r.pct(0.9)), fms(r.max()),
				fms(r.pct(0.9)-r.pct(0.1)), pk, fms(at), r.attempts, r.failed, fms(r.restart), fms(r.discMax))
		}
	}
	p("\n")

	p("## Reconnections over time, round 1\n\n")
	p("Clients whose first `EventConnected` after the loss fell in each 250 ms interval (times after the loss).\n\n")
	rep.histogram(p, 250*time.Millisecond)

	var notes []string
	for _, m := range o.modes {
		for i, r := range rep.results[m.name] {
			if r.err != nil {
				notes = append(notes, fmt.Sprintf("%s, round %d: %v", m.name, i+1, r.err))
			}
			if r.extra > 0 {
				notes = append(notes, fmt.Sprintf("%s, round %d: %d `EventConnected` after a client was already back", m.name, i+1, r.extra))
			}
			if r.discs != r.n {
				notes = append(notes, fmt.Sprintf("%s, round %d: %d `EventDisconnected` after the loss, for %d clients", m.name, i+1, r.discs, r.n))
			}
		}
	}
	for _, m := range o.modes {
		spread := medianDur(rep.results[m.name], func(r result) time.Duration {
			return percentile(r.first, 1) - percentile(r.first, 0)
		})
		if m.jitter != mqtt.JitterNone && spread >= 0 && spread < window {
			notes = append(notes, fmt.Sprintf("%s: every client's first attempt after the loss fell within %s of the others' (median over the rounds): "+
				"this mode does not spread the first retry, so an outage shorter than Backoff.Min (%v) brings the clients back all at once", m.name, fms(spread), o.min))
		}
	}
	for _, m := range o.modes {
		if rs := rep.results[m.name]; len(rs) > 0 && rs[0].failErr != nil {
			notes = append(notes, fmt.Sprintf("a failed attempt's error (%s, round 1): `%v`", m.name, rs[0].failErr))
			break
		}
	}
	if len(notes) > 0 {
		p("## Notes\n\n")
		for _, n := range notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	return b.String()
}

func (rep *report) rows() []row {
	n := rep.opts.clients
	dur := func(label string, f func(result) time.Duration) row {
		return row{label, func(rs, _ []result) string {
			return fms(medianDur(rs, f))
		}}
	}
	peak := func(r result) int { pk, _ := r.peak(window); return pk }
	return []row{
		dur("min", result.min),
		dur("p10", func(r result) time.Duration { return r.pct(0.1) }),
		dur("p50", func(r result) time.Duration { return r.pct(0.5) }),
		dur("p90", func(r result) time.Duration { return r.pct(0.9) }),
		dur("max", result.max),
		dur("spread p90 − p10", func(r result) time.Duration { return r.pct(0.9) - r.pct(0.1) }),
		dur("spread max − min", func(r result) time.Duration { return r.max() - r.min() }),
		{fmt.Sprintf("**peak**: most reconnections in any %v", window), func(rs, _ []result) string {
			return fmt.Sprintf("**%s**", f0(medianOf(rs, func(r result) float64 { return float64(peak(r)) })))
		}},
		{fmt.Sprintf("peak ÷ N (N = %d)", n), func(rs, _ []result) string {
			return pct(medianOf(rs, func(r result) float64 { return float64(peak(r)) / float64(r.n) }))
		}},
		{"peak ÷ none's peak (median of the rounds' ratios)", func(rs, none []result) string {
			var xs []float64
			for i, r := range rs {
				if i < len(none) && len(r.times) > 0 && len(none[i].times) > 0 {
					xs = append(xs, float64(peak(r))/float64(peak(none[i])))
				}
			}
			return f2(median(xs))
		}},
		{fmt.Sprintf("first attempt after the loss: earliest – latest client"), func(rs, _ []result) string {
			return fms(medianDur(rs, func(r result) time.Duration { return percentile(r.first, 0) })) + " – " +
				fms(medianDur(rs, func(r result) time.Duration { return percentile(r.first, 1) }))
		}},
		{fmt.Sprintf("attempt peak: most attempts in any %v", window), func(rs, _ []result) string {
			return f0(medianOf(rs, func(r result) float64 { pk, _ := densest(r.tries, window); return float64(pk) }))
		}},
		{"connection attempts, all clients", func(rs, _ []result) string {
			return f0(medianOf(rs, func(r result) float64 { return float64(r.attempts) }))
		}},
		{"failed attempts", func(rs, _ []result) string {
			return f0(medianOf(rs, func(r result) float64 { return float64(r.failed) }))
		}},
		{"rounds with every client back", func(rs, _ []result) string {
			ok := 0
			for _, r := range rs {
				if len(r.times) == r.n {
					ok++
				}
			}
			return fmt.Sprintf("%d/%d", ok, len(rs))
		}},
	}
}

// histogram prints round 1's reconnections per interval w, modes as
// columns, from the first interval with a reconnection to the last.
func (rep *report) histogram(p func(string, ...any), w time.Duration) {
	o := rep.opts
	counts := map[string]map[int]int{}
	lo, hi := math.MaxInt, -1
	for _, m := range o.modes {
		rs := rep.results[m.name]
		if len(rs) == 0 {
			continue
		}
		counts[m.name] = map[int]int{}
		for _, t := range rs[0].times {
			k := int(t / w)
			counts[m.name][k]++
			lo, hi = min(lo, k), max(hi, k)
		}
	}
	if hi < 0 {
		p("(no reconnections)\n\n")
		return
	}
	p("| after the loss |")
	for _, m := range o.modes {
		p(" %s |", m.name)
	}
	p("\n|---|")
	for range o.modes {
		p("--:|")
	}
	p("\n")
	for k := lo; k <= hi; k++ {
		p("| %.2f–%.2f s |", (time.Duration(k) * w).Seconds(), (time.Duration(k+1) * w).Seconds())
		for _, m := range o.modes {
			c := counts[m.name][k]
			if c == 0 {
				p(" |")
			} else {
				p(" %d %s |", c, strings.Repeat("█", (c*20+o.clients-1)/o.clients))
			}
		}
		p("\n")
	}
	p("\n")
}

// noneDelays returns the first k delays of the schedule without jitter.
func noneDelays(o options, k int) []time.Duration {
	ds := make([]time.Duration, k)
	d := o.min
	for i := range ds {
		ds[i] = min(d, o.max)
		d *= 2
	}
	return ds
}

// noneAttempts returns the instants, after the loss, of the first k
// attempts without jitter, if each attempt took no time.
func noneAttempts(o options, k int) []time.Duration {
	ds := noneDelays(o, k)
	var t time.Duration
	for i, d := range ds {
		t += d
		ds[i] = t
	}
	return ds
}

func firstAfter(ts []time.Duration, t time.Duration) time.Duration {
	for _, x := range ts {
		if x >= t {
			return x
		}
	}
	return ts[len(ts)-1]
}

func joinDurations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ") + ", …"
}

// mochiVersion names the Mochi module built in.
func mochiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/mochi-mqtt/server/v2" {
				return "Mochi " + d.Version
			}
		}
	}
	return "Mochi (version unknown)"
}

// medianOf is the median of f over the rounds where some client came back.
func medianOf(rs []result, f func(result) float64) float64 {
	var xs []float64
	for _, r := range rs {
		if len(r.times) > 0 {
			xs = append(xs, f(r))
		}
	}
	return median(xs)
}

func medianDur(rs []result, f func(result) time.Duration) time.Duration {
	m := medianOf(rs, func(r result) float64 { return float64(f(r)) })
	if math.IsNaN(m) {
		return -1
	}
	return time.Duration(m)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fms formats d in milliseconds; a negative d is "n/a".
func fms(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func f0(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", x)
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}
