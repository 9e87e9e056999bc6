// Command codec measures tern's MQTT codec and topic matcher side by side
// with the Eclipse Paho codecs, and prints a Markdown report.
//
//	cd benchmarks && go run ./codec -out RESULTS.md
//
// Each row runs tern's and paho's benchmark one after the other, for several
// rounds (alternating which goes first), and reports the median of each side
// so that a noisy machine skews both alike. Before any timing, each codec
// decodes what the other encoded; a disagreement ends the run with status 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

func main() {
	testing.Init()
	rounds := flag.Int("rounds", 7, "number of interleaved rounds; the median is reported")
	benchtime := flag.String("benchtime", "200ms", "time (or Nx count) for each benchmark run, as go test -benchtime")
	out := flag.String("out", "", "also write the report to this `file`")
	flag.Parse()
	if *rounds < 1 {
		fatalf("-rounds must be at least 1")
	}
	if err := flag.Set("test.benchtime", *benchtime); err != nil {
		fatalf("-benchtime: %v", err)
	}

	failures, notes := checkInterop()
	if len(failures) > 0 {
		fmt.Fprintln(os.Stderr, "interop check failed:")
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		os.Exit(1)
	}

	rs := rows()
	results := make([][2][]testing.BenchmarkResult, len(rs))
	start := time.Now()
	for round := range *rounds {
		for i, r := range rs {
			fmt.Fprintf(os.Stderr, "round %d/%d  %-40s %s\n", round+1, *rounds, r.name, r.version)
			ternFirst := round%2 == 0
			if ternFirst || r.other == nil {
				results[i][0] = append(results[i][0], run(r, r.tern))
			}
			if r.other != nil {
				results[i][1] = append(results[i][1], run(r, r.other))
			}
			if !ternFirst && r.other != nil {
				results[i][0] = append(results[i][0], run(r, r.tern))
			}
		}
	}
	fmt.Fprintf(os.Stderr, "done in %v\n", time.Since(start).Round(time.Second))

	report := render(rs, results, notes, *rounds, *benchtime)
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

func run(r row, f func(*testing.B)) testing.BenchmarkResult {
	res := testing.Benchmark(f)
	if res.N == 0 {
		fatalf("benchmark %s %s failed", r.name, r.version)
	}
	return res
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "codec: "+format+"\n", args...)
	os.Exit(2)
}

// summary is one side of a row over all rounds.
type summary struct {
	ns, allocs, bytes float64   // medians per op
	spread            float64   // (max-min)/median of ns/op
	rounds            []float64 // ns/op of each round, in order
}

func summarize(rs []testing.BenchmarkResult) summary {
	var ns, allocs, bytes []float64
	for _, r := range rs {
		ns = append(ns, float64(r.T.Nanoseconds())/float64(r.N))
		allocs = append(allocs, float64(r.AllocsPerOp()))
		bytes = append(bytes, float64(r.AllocedBytesPerOp()))
	}
	s := summary{ns: median(ns), allocs: median(allocs), bytes: median(bytes), rounds: ns}
	s.spread = (slices.Max(ns) - slices.Min(ns)) / s.ns
	return s
}

// timeRatio is the median over the rounds of paho's ns/op over tern's: the
// two ran back to back in each round, so a slow spell of the machine weighs
// on both halves of a ratio alike.
func timeRatio(paho, tern summary) float64 {
	var rs []float64
	for k := range tern.rounds {
		rs = append(rs, paho.rounds[k]/tern.rounds[k])
	}
	return median(rs)
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func render(rs []row, results [][2][]testing.BenchmarkResult, notes []string, rounds int, benchtime string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Codec benchmarks: tern vs Eclipse Paho\n\n")
	p("This report is written by `benchmarks/codec`; reproduce it with `cd benchmarks && go run ./codec -out RESULTS.md`. ")
	p("It times tern's codec (`packet`) against paho.mqtt.golang's `packets` for MQTT 3.1.1 and paho.golang's `packets` for MQTT 5.0, ")
	p("and tern's `topic.Match` against a plain matcher. Each row is measured with `testing.Benchmark` for both sides, interleaved, ")
	p("over %d rounds of `-benchtime %s`, alternating which side goes first; the table gives the median of each side. ", rounds, benchtime)
	p("Ratios are paho/tern: above 1 means tern is faster, or allocates less (fewer allocations, or fewer bytes). ")
	p("The time ratio is the median of the per-round ratios (the two sides of a round run back to back), so it can differ a little from the ratio of the two medians. ")
	p("Encoding writes into a reused buffer (tern: `Append` into a `[]byte`; paho: `Write`/`WriteTo` into a `bytes.Buffer` after `Reset`). ")
	p("Decoding (stream) reads one packet per op from an `io.Reader` that replays the encoded packet endlessly, through a `bufio.Reader` on both sides ")
	p("(tern's `NewReader` adds its own; paho's `ReadPacket` is given one). ")
	p("Before timing, each side decodes the other's encoding and the results are compared field by field; the run stops on any disagreement.\n\n")
	p("Packets: PUBLISH QoS 1, packet ID 4242, topic `%s`, payload of 64 B or 16 KiB, no properties; ", pubTopic)
	p("CONNECT with clean start, keep-alive 60, client ID, will (QoS 1, retained), user name and password, and in 5.0 the properties ")
	p("Session Expiry, Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Request Response Information, two User Properties and a Will Delay; ")
	p("SUBSCRIBE with 10 filters `devices/+/telemetry/N/#` at QoS 1.\n\n")

	p("Go %s, %s/%s, %d CPUs (GOMAXPROCS %d)%s, %s, %s; command: `cd benchmarks && %s`\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), machine.CPUModel(),
		machine.PahoVersions(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine.Command("codec"))

	p("| Operation | MQTT | vs | tern ns/op | paho ns/op | time paho/tern | tern allocs/op | paho allocs/op | allocs paho/tern | tern B/op | paho B/op | B/op paho/tern | spread tern / paho |\n")
	p("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for i, r := range rs {
		t := summarize(results[i][0])
		if r.other == nil {
			p("| %s | %s | tern only | %s | – | – | %.0f | – | – | %.0f | – | – | %s / – |\n",
				r.name, r.version, fmtNs(t.ns), t.allocs, t.bytes, pct(t.spread))
			continue
		}
		o := summarize(results[i][1])
		version := r.version
		if version == "" {
			version = "–"
		}
		p("| %s | %s | %s | %s | %s | %.2f | %.0f | %.0f | %s | %.0f | %.0f | %s | %s / %s |\n",
			r.name, version, r.rival, fmtNs(t.ns), fmtNs(o.ns), timeRatio(o, t),
			t.allocs, o.allocs, ratio(o.allocs, t.allocs), t.bytes, o.bytes, ratio(o.bytes, t.bytes),
			pct(t.spread), pct(o.spread))
	}

	p("\nNotes:\n\n")
	p("- spread is (slowest − fastest) / median of the %d rounds' ns/op, a measure of the machine's noise for that row.\n", rounds)
	p("- \"PUBLISH decode from bytes\" is tern only: `(*packet.Publish).Decode` of a byte slice into a reused struct; paho has no API that decodes a packet from a slice.\n")
	p("- Topic matching: paho's matchers are unexported (`match` and `routeIncludesTopic` in both paho.mqtt.golang and paho.golang), ")
	p("so `topic.Match` is measured against `splitMatch`, a `strings.Split` matcher written in this program, over %d (filter, name) pairs per op.\n", len(matchPairs))
	p("- The CONNECT Will carries no Content Type property (packet/bench_test.go's has one): paho.golang packs Will Properties with the CONNECT property set, which drops Content Type, so both sides encode the same packet without it.\n")
	p("- Interop check:\n")
	for _, n := range notes {
		p("  - %s\n", n)
	}
	return b.String()
}

func fmtNs(ns float64) string {
	switch {
	case ns < 10:
		return fmt.Sprintf("%.2f", ns)
	case ns < 1000:
		return fmt.Sprintf("%.1f", ns)
	}
	return fmt.Sprintf("%.0f", ns)
}

func ratio(paho, tern float64) string {
	switch {
	case paho == 0 && tern == 0:
		return "= (0)"
	case tern == 0:
		return "∞ (tern 0)"
	}
	return fmt.Sprintf("%.2f", paho/tern)
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }
