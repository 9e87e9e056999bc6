package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

type tputKey struct {
	key string
	qos byte
}

type latResult struct {
	samples []time.Duration // all rounds
	p50s    []float64       // each round's p50, µs
	err     error
}

type report struct {
	opts       options
	mosquitto  string
	brokerConf string
	clients    []client
	tput       map[tputKey][]tputResult // one per round, in round order
	lat        map[tputKey]latResult
	idle       map[string]idleResult
	allocs     []allocRow
	allocsErr  error
	notes      []string
	elapsed    time.Duration
}

func (r tputResult) String() string {
	if r.err != nil {
		return fmt.Sprintf("FAILED (%d received): %v", r.received, r.err)
	}
	return fmt.Sprintf("%8.0f msgs/s  %5.2f µs CPU/msg  %.2f reads/msg  %.2f writes/msg", r.rate, us(r.cpuPerOp), r.reads, r.writes)
}

func (r latResult) String() string {
	if r.err != nil {
		return "FAILED: " + r.err.Error()
	}
	return fmt.Sprintf("p50 %.0f µs  p99 %.0f µs", us(percentile(r.samples, 0.5)), us(percentile(r.samples, 0.99)))
}

func (r idleResult) String() string {
	if r.Err != "" {
		return "FAILED: " + r.Err
	}
	h, s, m, g := r.perConn()
	return fmt.Sprintf("heap %.1f KiB  stack %.1f KiB  RSS %.1f KiB  goroutines %.1f per connection", h, s, m, g)
}

// perConn returns heap, stack and RSS in KiB, and goroutines, per
// connection.
func (r idleResult) perConn() (heap, stack, rssK, gor float64) {
	n := float64(r.Conns)
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / n / 1024 }
	return d(r.After.HeapInuse, r.Before.HeapInuse), d(r.After.StackInuse, r.Before.StackInuse),
		d(r.After.RSS, r.Before.RSS), float64(r.After.Goroutines-r.Before.Goroutines) / n
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

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

func spread(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	if len(xs) < 2 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / median(xs)
}

// tputSummary is one client's row at one QoS.
type tputSummary struct {
	rate, cpu float64 // medians over good rounds: msgs/s, µs/msg
	reads     float64 // median read system calls per message
	writes    float64 // median write system calls per message
	rates     []float64
	ok, total int
	firstErr  error
}

func (rep *report) summary(key string, qos byte) tputSummary {
	var s tputSummary
	var cpus, reads, writes []float64
	for _, r := range rep.tput[tputKey{key, qos}] {
		s.total++
		if r.err != nil {
			if s.firstErr == nil {
				s.firstErr = r.err
			}
			continue
		}
		s.ok++
		s.rates = append(s.rates, r.rate)
		cpus = append(cpus, us(r.cpuPerOp))
		reads = append(reads, r.reads)
		writes = append(writes, r.writes)
	}
	s.rate, s.cpu = median(s.rates), median(cpus)
	s.reads, s.writes = median(reads), median(writes)
	return s
}

// ratio is the median over rounds of a's rate over b's, both measured in
// the same round; NaN if no round has both.
func (rep *report) ratio(a, b string, qos byte) float64 {
	ra, rb := rep.tput[tputKey{a, qos}], rep.tput[tputKey{b, qos}]
	var xs []float64
	for i := range min(len(ra), len(rb)) {
		if ra[i].err == nil && rb[i].err == nil {
			xs = append(xs, ra[i].rate/rb[i].rate)
		}
	}
	return median(xs)
}

func rawOf(key string) string {
	if strings.HasSuffix(key, "5") {
		return "raw5"
	}
	return "raw3"
}

func pahoOf(key string) string {
	if strings.HasSuffix(key, "5") {
		return "paho5"
	}
	return "paho3"
}

func (rep *report) has(key string) bool {
	for _, c := range rep.clients {
		if c.key == key {
			return true
		}
	}
	return false
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func f0(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f", x)
}

func f1(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.1f", x)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func (rep *report) render() string {
	o := rep.opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# End-to-end benchmarks: Tern vs Eclipse Paho through Mosquitto\n\n")
	p("This report is written by `benchmarks/e2e`; reproduce it with `cd benchmarks && go run ./e2e -out E2E.md` ")
	p("(about 1 to 2 minutes; `-rounds`, `-n0`, `-n12`, `-lat-n`, `-conns`, `-clients`, `-sections` shorten it, `-h` lists every flag). ")
	p("The program starts its own Mosquitto on a free loopback port with a temporary configuration (below), ")
	p("measures every client against it in one run, then stops it. The clients are Tern (`github.com/ternmq/mqtt`) in MQTT 3.1.1 and in 5.0, ")
	p("`github.com/eclipse/paho.mqtt.golang` (3.1.1), `github.com/eclipse/paho.golang` (5.0: its low-level `paho.Client` over a `net.Conn`, not `autopaho`), ")
	p("and a raw-socket reference written in the program with Tern's codec (`packet`) alone, in each version. ")
	p("The raw publisher pre-encodes every PUBLISH and writes them from one goroutine, a batch at a time once %d of the %d window slots are free, ", o.rawRefill, o.window)
	p("together with the PUBRELs its reader goroutine queued, in one `writev`; the reader goroutine only reads the acknowledgements. ")
	p("The raw subscriber's reader goroutine queues the acknowledgements and a writer goroutine writes all that is queued in one system call. ")
	p("It is meant as the ceiling a client can reach through this broker on this machine; but the broker, single-threaded and sharing the 2 cores with the clients, ")
	p("is the bottleneck, so a client's rate depends on how its system calls line up with the broker's as much as on its own CPU time, and in single rounds a client can beat it. ")
	p("Tern 3.1.1 is compared with paho.mqtt.golang and the 3.1.1 raw reference, Tern 5.0 with paho.golang and the 5.0 raw reference.\n\n")

	p("Go %s, %s/%s, %d CPUs (GOMAXPROCS %d)%s, Mosquitto %s, %s, %s; command: `cd benchmarks && %s`\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), machine.CPUModel(),
		rep.mosquitto, machine.PahoVersions(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine.Command("e2e"))

	if rep.tput != nil {
		p("## Throughput, one publisher and one subscriber\n\n")
		p("%d B payloads; %d messages per run at QoS 0, %d at QoS 1 and 2; %d rounds, the clients interleaved (each round starts with the next client), ",
			o.payload, o.n0, o.n12, o.rounds)
		p("after one unrecorded warm-up run of 2000 messages per client and QoS. ")
		p("Publisher and subscriber are separate connections of the same client in this process; a run is timed from the first publish ")
		p("to the subscriber's last message. The publisher keeps up to %d publishes unfinished: ", o.window)
		p("Tern calls `PublishAsync` and waits on the oldest `Completion` once %d are out (and `MaxInflight` is %d); ", o.window, o.window)
		p("paho.mqtt.golang calls `Publish` and waits on the oldest token likewise; ")
		if o.paho5Mode == "async" {
			p("paho.golang calls `PublishWithOptions` with `PublishMethod_AsyncSend` from one goroutine (it blocks while Receive Maximum publishes are in flight); ")
		} else {
			p("paho.golang runs min(%d, the broker's Receive Maximum) goroutines that each call the blocking `Publish` in a loop (`-paho5-mode async` uses `PublishMethod_AsyncSend` instead); ", o.window)
		}
		p("the raw publisher writes in batches as described above. ")
		p("msgs/s and CPU are medians over the rounds; **× raw** is the median over rounds of the client's rate over the raw reference's rate of the same version in the same round; ")
		p("**spread** is (max − min) / median of the rounds' msgs/s. **CPU µs/msg** is this process's user + system CPU time (getrusage) over the timed span, ")
		p("divided by the messages: publisher and subscriber together, as the broker is another process. ")
		p("**reads/msg** and **writes/msg** are this process's read and write system calls over the same span (`syscr`, `syscw` of `/proc/self/io`) per message; ")
		p("reads include the ones Go's poller makes that find nothing (EAGAIN). ")
		p("**Tern ÷ Paho** is the median per-round ratio of Tern's rate to the Paho client's of the same version. ")
		p("On this shared 2-core machine the spreads are wide: a ratio within about ±10%% of 1 is not a difference this run can resolve, ")
		p("while CPU µs/msg and the system call counts are steadier.\n\n")
		p("| QoS | MQTT | Client | msgs/s | × raw | spread | CPU µs/msg | reads/msg | writes/msg | Tern ÷ Paho | rounds ok |\n")
		p("|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, qos := range o.qos {
			for _, cl := range rep.clients {
				s := rep.summary(cl.key, qos)
				x := "1 (ref)"
				if !strings.HasPrefix(cl.key, "raw") {
					x = f2(rep.ratio(cl.key, rawOf(cl.key), qos))
				}
				vs := ""
				if strings.HasPrefix(cl.key, "tern") && rep.has(pahoOf(cl.key)) {
					vs = f2(rep.ratio(cl.key, pahoOf(cl.key), qos))
				}
				okCol := fmt.Sprintf("%d/%d", s.ok, s.total)
				if s.firstErr != nil {
					okCol += " ¹"
				}
				p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", qos, cl.version, cl.name, f0(s.rate), x, pct(spread(s.rates)), f2(s.cpu), f2(s.reads), f2(s.writes), vs, okCol)
			}
		}
		var errs []string
		for _, qos := range o.qos {
			for _, cl := range rep.clients {
				if s := rep.summary(cl.key, qos); s.firstErr != nil {
					errs = append(errs, fmt.Sprintf("%s %s QoS %d: %v", cl.name, cl.version, qos, s.firstErr))
				}
			}
		}
		if len(errs) > 0 {
			p("\n¹ failed rounds (not in the medians): %s\n", strings.Join(errs, "; "))
		}
		p("\n")
	}

	if rep.lat != nil {
		p("## Synchronous publish latency\n\n")
		p("%d sequential publishes per client, QoS and round (after 100 not timed, on a new connection each round), each waiting for its PUBACK (QoS 1) or PUBCOMP (QoS 2) before the next; ", o.latN)
		p("%d rounds with the clients interleaved; the percentiles are over all %d samples of a row, **p50 spread** is (max − min) / median of the rounds' p50. ", o.rounds, o.rounds*o.latN)
		p("There is no subscriber, so it is the round trip through the client and the broker. ")
		p("Tern: `Publish`; paho.mqtt.golang: `Publish` then wait on the token; paho.golang: `Publish`; raw: write the packet, read the answer on the same goroutine.\n\n")
		p("| QoS | MQTT | Client | p50 µs | p99 µs | mean µs | p50 spread |\n|--:|---|---|--:|--:|--:|--:|\n")
		for _, qos := range []byte{1, 2} {
			for _, cl := range rep.clients {
				r, ok := rep.lat[tputKey{cl.key, qos}]
				if !ok {
					continue
				}
				if r.err != nil {
					p("| %d | %s | %s | failed: %v | | | |\n", qos, cl.version, cl.name, r.err)
					continue
				}
				var sum time.Duration
				for _, d := range r.samples {
					sum += d
				}
				p("| %d | %s | %s | %.0f | %.0f | %.0f | %s |\n", qos, cl.version, cl.name,
					us(percentile(r.samples, 0.5)), us(percentile(r.samples, 0.99)), us(sum)/float64(len(r.samples)), pct(spread(r.p50s)))
			}
		}
		p("\n")
	}

	if rep.idle != nil {
		p("## Memory per idle connection\n\n")
		p("Each client runs in a child process of this program (`-idle-child`): it opens and closes one connection (warm-up), ")
		p("samples memory, opens %d connections with keep-alive 60 s, waits 1 s, samples again, and closes them. ", o.conns)
		p("Each sample follows `debug.FreeOSMemory` (a full GC that returns freed pages to the OS). ")
		p("Heap is `runtime.MemStats.HeapInuse`, stack is `StackInuse` (goroutine stacks, not part of the heap), RSS is from `/proc/self/statm`; ")
		p("the table gives (after − before) / %d. ", o.conns)
		p("Every client runs with its defaults but for keep-alive; the raw floor is a socket, a 4 KiB `bufio.Reader` and one reader goroutine. ")
		p("paho.golang v0.23.0's heap is almost all the channel `Client.Connect` makes for incoming PUBLISH packets, with one slot per unit of the client's Receive Maximum ")
		p("(65,535 slots, 512 KiB, when the CONNECT sets none, as here); it is never written while idle, so it is not resident.\n\n")
		p("| Client | MQTT | heap KiB/conn | stack KiB/conn | RSS KiB/conn | goroutines/conn |\n|---|---|--:|--:|--:|--:|\n")
		for _, cl := range rep.clients {
			r, ok := rep.idle[cl.key]
			if !ok {
				continue
			}
			name := cl.name
			if strings.HasPrefix(cl.key, "raw") {
				name = "raw floor"
			}
			if r.Err != "" {
				p("| %s | %s | failed: %s | | | |\n", name, cl.version, r.Err)
				continue
			}
			h, s, m, g := r.perConn()
			p("| %s | %s | %.1f | %.1f | %.1f | %.0f |\n", name, cl.version, h, s, m, g)
		}
		p("\n")
	}

	if rep.allocs != nil || rep.allocsErr != nil {
		p("## Tern's allocations per operation\n\n")
		p("`go test -run '^$' -bench . -benchmem -benchtime %s ./e2e` (`benchmarks/e2e/alloc_test.go`): Tern over `net.Pipe` to a fake broker goroutine written in the test with the codec, ", o.benchtime)
		p("which allocates nothing per packet (it parses into a reused buffer and writes pre-encoded answers), so the counts are Tern's. ")
		p("The pipe's deadline methods are no-ops (a `net.Pipe` deadline allocates a timer, a TCP socket's does not). ")
		p("PublishQoS0 is `Publish` at QoS 0 (returns once written), PublishAsyncQoS0 is `PublishAsync` with a window of 64, ")
		p("PublishQoS1Sync is `Publish` at QoS 1 (returns on PUBACK), ReceiveQoS0 is one QoS 0 message read, decoded and handed to a handler; ")
		p("ReceiveQoS0SubID is the same in 5.0 with a Subscription Identifier property on the message, as a broker sends to Tern, whose 5.0 `Subscribe` always sets one.\n\n")
		if rep.allocsErr != nil {
			p("Failed: %v\n\n", rep.allocsErr)
		} else {
			p("| Benchmark | MQTT | allocs/op | B/op | ns/op |\n|---|---|--:|--:|--:|\n")
			for _, r := range rep.allocs {
				name, v, _ := strings.Cut(r.name, "/")
				p("| %s | %s | %.0f | %.0f | %.0f |\n", name, strings.TrimPrefix(v, "v"), r.allocs, r.bOp, r.nsOp)
			}
			p("\n")
		}
	}

	rep.renderGoals(p)

	if rep.brokerConf == "" {
		p("Whole run: %v.\n", rep.elapsed.Round(time.Second))
		return b.String()
	}
	p("## Setup\n\n")
	p("Mosquitto configuration (the port is chosen at run time). `max_queued_messages 0` is accepted by Mosquitto 2.0.11 and means no limit ")
	p("(with `max_queued_bytes` and `max_inflight_bytes` at their default 0): QoS 0 messages are never dropped for a full queue, ")
	p("and QoS 1/2 messages beyond the in-flight window of 1000 queue without bound. ")
	p("`max_inflight_messages 1000` is also the Receive Maximum the broker announces to MQTT 5.0 clients.\n\n")
	p("```\n%s```\n\n", rep.brokerConf)
	if len(rep.notes) > 0 {
		for _, n := range rep.notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	p("Whole run: %v.\n", rep.elapsed.Round(time.Second))
	return b.String()
}

// renderGoals writes the team's goals with what this run measured.
func (rep *report) renderGoals(p func(string, ...any)) {
	type goal struct{ what, measured, met string }
	var gs []goal
	yes := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	if rep.tput != nil {
		for _, v := range []string{"3", "5"} {
			if !rep.has("tern"+v) || !rep.has("raw"+v) {
				continue
			}
			var ms []string
			ok := true
			for _, qos := range rep.opts.qos {
				x := rep.ratio("tern"+v, "raw"+v, qos)
				ms = append(ms, fmt.Sprintf("QoS %d: %s", qos, f2(x)))
				ok = ok && x >= 0.95
			}
			gs = append(gs, goal{fmt.Sprintf("Tern %s ≥ 0.95 × raw reference, every QoS", verName(v)), strings.Join(ms, ", "), yes(ok)})
		}
		for _, v := range []string{"3", "5"} {
			if !rep.has("tern"+v) || !rep.has("paho"+v) {
				continue
			}
			var ms []string
			ok := true
			for _, qos := range rep.opts.qos {
				x := rep.ratio("tern"+v, "paho"+v, qos)
				t, pa := rep.summary("tern"+v, qos), rep.summary("paho"+v, qos)
				ms = append(ms, fmt.Sprintf("QoS %d: %s× rate, CPU %s vs %s µs/msg", qos, f2(x), f2(t.cpu), f2(pa.cpu)))
				ok = ok && x > 1 && t.cpu < pa.cpu
			}
			gs = append(gs, goal{fmt.Sprintf("Tern %s ahead of %s: throughput and CPU/msg", verName(v), pahoName(v)), strings.Join(ms, "; "), yes(ok)})
		}
	}
	if rep.lat != nil {
		for _, v := range []string{"3", "5"} {
			var ms []string
			ok, any := true, false
			for _, qos := range []byte{1, 2} {
				t, ok1 := rep.lat[tputKey{"tern" + v, qos}]
				pa, ok2 := rep.lat[tputKey{"paho" + v, qos}]
				if !ok1 || !ok2 || t.err != nil || pa.err != nil {
					continue
				}
				any = true
				t50, t99 := percentile(t.samples, 0.5), percentile(t.samples, 0.99)
				p50, p99 := percentile(pa.samples, 0.5), percentile(pa.samples, 0.99)
				ms = append(ms, fmt.Sprintf("QoS %d: p50 %.0f vs %.0f µs, p99 %.0f vs %.0f µs", qos, us(t50), us(p50), us(t99), us(p99)))
				ok = ok && t50 < p50 && t99 < p99
			}
			if any {
				gs = append(gs, goal{fmt.Sprintf("Tern %s ahead of %s: latency p50 and p99", verName(v), pahoName(v)), strings.Join(ms, "; "), yes(ok)})
			}
		}
	}
	if rep.idle != nil {
		for _, v := range []string{"3", "5"} {
			t, ok1 := rep.idle["tern"+v]
			pa, ok2 := rep.idle["paho"+v]
			if !ok1 || !ok2 || t.Err != "" || pa.Err != "" {
				continue
			}
			th, ts, tr, _ := t.perConn()
			ph, ps, pr, _ := pa.perConn()
			gs = append(gs, goal{fmt.Sprintf("Tern %s ahead of %s: memory per idle connection", verName(v), pahoName(v)),
				fmt.Sprintf("heap %.1f vs %.1f KiB, heap+stack %.1f vs %.1f KiB, RSS %.1f vs %.1f KiB", th, ph, th+ts, ph+ps, tr, pr),
				yes(th+ts < ph+ps && tr < pr)})
		}
		for _, v := range []string{"3", "5"} {
			t, ok := rep.idle["tern"+v]
			if !ok || t.Err != "" {
				continue
			}
			h, s, r, _ := t.perConn()
			gs = append(gs, goal{fmt.Sprintf("Tern %s: ≤ 10 KiB RSS and ≤ 8 KiB heap per idle connection", verName(v)),
				fmt.Sprintf("RSS %.1f KiB, heap %.1f KiB (+ %.1f KiB of goroutine stacks)", r, h, s), yes(r <= 10 && h <= 8)})
		}
	}
	if rep.allocs != nil {
		type allocGoal struct {
			what  string
			names []string
			limit float64
		}
		for _, ag := range []allocGoal{
			{"0 allocs per QoS 0 publish", []string{"PublishQoS0"}, 0},
			{"≤ 1 alloc per received message", []string{"ReceiveQoS0", "ReceiveQoS0SubID"}, 1},
			{"≤ 2 allocs per synchronous QoS 1 publish", []string{"PublishQoS1Sync"}, 2},
		} {
			var ms []string
			ok, any := true, false
			for _, r := range rep.allocs {
				n, v, _ := strings.Cut(r.name, "/")
				if !slices.Contains(ag.names, n) {
					continue
				}
				any = true
				label := strings.TrimPrefix(v, "v")
				if len(ag.names) > 1 {
					label = n + " " + label
				}
				ms = append(ms, fmt.Sprintf("%s: %.0f", label, r.allocs))
				ok = ok && r.allocs <= ag.limit
			}
			if any {
				gs = append(gs, goal{ag.what, strings.Join(ms, ", "), yes(ok)})
			}
		}
	}
	if len(gs) == 0 {
		return
	}
	p("## Goals\n\n| Goal | Measured | |\n|---|---|---|\n")
	for _, g := range gs {
		p("| %s | %s | %s |\n", g.what, g.measured, g.met)
	}
	p("\n")
}

func verName(v string) string {
	if v == "5" {
		return "5.0"
	}
	return "3.1.1"
}

func pahoName(v string) string {
	if v == "5" {
		return "paho.golang"
	}
	return "paho.mqtt.golang"
}
