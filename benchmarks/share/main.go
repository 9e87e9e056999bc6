// Command share measures publishing through a share.Server (the primary)
// against publishing on a direct connection to the broker: pipelined QoS
// 1 throughput, and QoS 0 and 1 latency from Publish to the arrival at a
// subscriber. It prints a Markdown report.
//
//	cd benchmarks && go run ./share -out SHARE.md
//
// The primary runs in this process: a Server with one upstream
// *mqtt.Client, listening on a unix socket; the secondary is a
// share.Secondary (an *mqtt.Client on that socket) in this process too.
// The direct client is an *mqtt.Client on the broker. Every run is bounded
// in count and time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/benchmarks/internal/machine"
	"github.com/ternmq/mqtt/share"
)

type options struct {
	rounds  int
	n       int
	window  int
	latN    int
	payload int
	timeout time.Duration
	broker  string
}

func main() {
	var o options
	out := flag.String("out", "", "also write the report to this `file`")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds, direct and through the primary interleaved; medians are reported")
	flag.IntVar(&o.n, "n", 10000, "QoS 1 publishes per throughput run")
	flag.IntVar(&o.window, "window", 256, "unfinished publishes in the throughput runs (the Server's ReceiveMaximum, 256, bounds the secondary)")
	flag.IntVar(&o.latN, "lat-n", 1000, "sequential publishes per latency run")
	flag.IntVar(&o.payload, "payload", 64, "payload size in bytes")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of each run")
	flag.StringVar(&o.broker, "broker", "mosquitto", "the broker: mosquitto (started here) or mochi (in process)")
	flag.Parse()
	if o.rounds < 1 || o.n < 1 || o.window < 1 || o.latN < 1 {
		fatalf("counts must be at least 1")
	}
	addr, desc, stop, err := startBroker(o.broker)
	if err != nil {
		fatalf("%v", err)
	}
	defer stop()
	r, err := measure(o, "mqtt://"+addr)
	if err != nil {
		stop()
		fatalf("%v", err)
	}
	var b strings.Builder
	report(&b, o, desc, r)
	io.WriteString(os.Stdout, b.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			stop()
			fatalf("%v", err)
		}
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "share: "+format+"\n", args...)
	os.Exit(1)
}

// path is one way to publish: direct, or through the primary.
type path struct {
	name string
	pub  share.Conn
}

// results are the medians over rounds, by path name.
type results struct {
	tput    map[string][]float64         // msgs/s per round
	lat     map[string]map[int][]float64 // QoS -> samples in µs, all rounds
	upStats mqtt.Stats
}

func measure(o options, url string) (*results, error) {
	ctx := context.Background()
	dial := func(cfg mqtt.Config) (*mqtt.Client, error) {
		cfg.Broker = url
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return mqtt.Dial(cctx, cfg)
	}
	direct, err := dial(mqtt.Config{MaxInflight: o.window})
	if err != nil {
		return nil, err
	}
	defer direct.Close()
	up, err := dial(mqtt.Config{Reconnect: true})
	if err != nil {
		return nil, err
	}
	defer up.Close()
	srv, err := share.NewServer(share.Options{}, map[string]*mqtt.Client{"main": up})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "tsb")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	if err := srv.Listen(sock); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sec, err := share.Dial(sctx, sock, "main", mqtt.Config{MaxInflight: o.window})
	cancel()
	if err != nil {
		return nil, err
	}
	defer sec.Close()
	sub, err := dial(mqtt.Config{})
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	arrived := make(chan string, 1)
	sctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	_, err = sub.Subscribe(sctx, func(m *mqtt.Message) {
		select {
		case arrived <- m.Topic:
		default:
		}
	}, mqtt.Subscription{Filter: "lat/#", QoS: 1})
	cancel()
	if err != nil {
		return nil, err
	}

	paths := []path{{"direct", direct}, {"through the primary", sec}}
	r := &results{tput: map[string][]float64{}, lat: map[string]map[int][]float64{}}
	payload := make([]byte, o.payload)
	// Warm-up, not recorded.
	for _, p := range paths {
		if _, err := throughput(p.pub, min(o.n, 1000), o.window, payload, o.timeout); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", p.name, err)
		}
	}
	for round := 0; round < o.rounds; round++ {
		for i := range paths {
			p := paths[(i+round)%len(paths)]
			rate, err := throughput(p.pub, o.n, o.window, payload, o.timeout)
			if err != nil {
				return nil, fmt.Errorf("%s throughput: %w", p.name, err)
			}
			r.tput[p.name] = append(r.tput[p.name], rate)
			for _, qos := range []int{0, 1} {
				s, err := latency(p.pub, arrived, mqtt.QoS(qos), o.latN, payload, o.timeout)
				if err != nil {
					return nil, fmt.Errorf("%s latency QoS %d: %w", p.name, qos, err)
				}
				if r.lat[p.name] == nil {
					r.lat[p.name] = map[int][]float64{}
				}
				r.lat[p.name][qos] = append(r.lat[p.name][qos], s...)
			}
		}
	}
	r.upStats = up.Stats()
	return r, nil
}

// throughput publishes n QoS 1 messages with up to window unfinished,
// and returns the rate at which they were acknowledged.
func throughput(c share.Conn, n, window int, payload []byte, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	pending := make([]*mqtt.Completion, 0, window)
	wait := func(cp *mqtt.Completion) error {
		select {
		case <-cp.Done():
			return cp.Err()
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("timed out after %v", timeout)
		}
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if len(pending) == window {
			if err := wait(pending[0]); err != nil {
				return 0, err
			}
			pending = pending[1:]
		}
		pending = append(pending, c.PublishAsync(&mqtt.Message{Topic: "tput", Payload: payload, QoS: 1}))
	}
	for _, cp := range pending {
		if err := wait(cp); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// latency publishes n messages one at a time, each after the previous one
// reached the subscriber, and returns the times from Publish to arrival,
// in µs.
func latency(c share.Conn, arrived <-chan string, qos mqtt.QoS, n int, payload []byte, timeout time.Duration) ([]float64, error) {
	deadline := time.Now().Add(timeout)
	topic := fmt.Sprintf("lat/%d", qos)
	out := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		cp := c.PublishAsync(&mqtt.Message{Topic: topic, Payload: payload, QoS: qos})
		select {
		case <-arrived:
		case <-time.After(time.Until(deadline)):
			return nil, fmt.Errorf("timed out after %v", timeout)
		}
		out = append(out, float64(time.Since(start).Nanoseconds())/1e3)
		<-cp.Done()
		if err := cp.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func report(w io.Writer, o options, broker string, r *results) {
	const d, t = "direct", "through the primary"
	fmt.Fprintf(w, "# Publishing through a share.Server vs a direct connection\n\n")
	fmt.Fprintf(w, "Written by `benchmarks/share`; reproduce with `cd benchmarks && %s` (about %s; `-rounds`, `-n`, `-lat-n`, `-broker mochi` change it, `-h` lists the flags).\n\n",
		machine.Command("share"), "5 seconds")
	fmt.Fprintf(w, "Go %s, %s/%s, %d CPUs (GOMAXPROCS %d)%s, broker %s, %s.\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), machine.CPUModel(), broker, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "**Direct** is an `*mqtt.Client` on the broker (MQTT 5.0, loopback TCP). **Through the primary** is a `share.Secondary` "+
		"on a unix socket to a `share.Server` in the same process, whose one upstream `*mqtt.Client` is on the broker: each message is "+
		"encoded and decoded once more, and a QoS 1 PUBACK reaches the secondary only after the broker's PUBACK reached the primary. "+
		"All of it, the broker included when it is Mochi, shares this machine's %d cores, so the primary's extra work shows as lost throughput.\n\n", runtime.NumCPU())
	fmt.Fprintf(w, "## QoS 1 throughput\n\n%d publishes of %d B per run, up to %d unfinished (`PublishAsync`, waiting on the oldest `Completion`), timed until the last PUBACK; %d rounds, the two paths interleaved, after one warm-up run each. No subscriber.\n\n",
		o.n, o.payload, o.window, o.rounds)
	fmt.Fprintf(w, "| path | msgs/s (median) | rounds |\n|---|--:|---|\n")
	for _, p := range []string{d, t} {
		rs := make([]string, len(r.tput[p]))
		for i, x := range r.tput[p] {
			rs[i] = fmt.Sprintf("%.0f", x)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s |\n", p, median(r.tput[p]), strings.Join(rs, ", "))
	}
	fmt.Fprintf(w, "\n**Ratio through the primary / direct: %.2f**\n\n", median(r.tput[t])/median(r.tput[d]))
	fmt.Fprintf(w, "## Latency, Publish to arrival\n\n%d sequential publishes per path, QoS and round (each waits until the previous one reached the subscriber, a direct client on the broker); percentiles over all %d samples of a row.\n\n",
		o.latN, o.latN*o.rounds)
	fmt.Fprintf(w, "| QoS | path | p50 µs | p99 µs | p50 ratio | p99 ratio |\n|--:|---|--:|--:|--:|--:|\n")
	for _, q := range []int{0, 1} {
		dp50, dp99 := percentile(r.lat[d][q], .5), percentile(r.lat[d][q], .99)
		tp50, tp99 := percentile(r.lat[t][q], .5), percentile(r.lat[t][q], .99)
		fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | 1 (ref) | 1 (ref) |\n", q, d, dp50, dp99)
		fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | %.2f | %.2f |\n", q, t, tp50, tp99, tp50/dp50, tp99/dp99)
	}
	fmt.Fprintf(w, "\nThe primary's upstream client at the end: %d publishes sent, %d reconnections.\n", r.upStats.Sent, r.upStats.Reconnects)
}
