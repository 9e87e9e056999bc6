// Command e2e measures MQTT clients end to end through a Mosquitto broker
// it starts itself on loopback: Tern (github.com/ternmq/mqtt) in MQTT 3.1.1
// and 5.0, Eclipse paho.mqtt.golang (3.1.1), Eclipse paho.golang (5.0, its
// low-level paho.Client over a net.Conn), and a raw-socket reference made
// of the packet codec alone. It prints a Markdown report.
//
//	cd benchmarks && go run ./e2e -out E2E.md
//
// Sections: pipelined throughput with one publisher and one subscriber at
// QoS 0, 1 and 2 (with the clients' CPU time per message), synchronous
// publish latency at QoS 1 and 2, memory per idle connection (1,000
// connections in a child process per client) and Tern's allocations per
// operation (go test -bench over alloc_test.go). Every loop is bounded in
// count and time, and the broker and child processes are stopped before the
// program exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

type options struct {
	out         string
	rounds      int
	n0, n12     int
	window      int
	rawRefill   int
	payload     int
	latN        int
	conns       int
	timeout     time.Duration
	clients     []string
	sections    map[string]bool
	benchtime   string
	cpuprofile  string
	memprofile  string
	qos         []byte
	paho5Mode   string
	allocsTimeo time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "also write the report to this `file`")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds of the throughput and latency measurements (clients interleaved); medians are reported")
	flag.IntVar(&o.n0, "n0", 50000, "messages per QoS 0 throughput run")
	flag.IntVar(&o.n12, "n12", 20000, "messages per QoS 1 and QoS 2 throughput run")
	flag.IntVar(&o.window, "window", 1000, "publisher pipelining window (unfinished publishes); also Tern's MaxInflight")
	flag.IntVar(&o.rawRefill, "raw-refill", 250, "window slots that must be free before the raw publisher writes again (batching)")
	flag.IntVar(&o.payload, "payload", 64, "payload size in bytes")
	flag.IntVar(&o.latN, "lat-n", 2000, "synchronous publishes per client, QoS and round in the latency measurement")
	flag.IntVar(&o.conns, "conns", 1000, "idle connections per client in the memory measurement")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "time limit of each run (throughput, latency, idle child)")
	clientList := flag.String("clients", "raw3,tern3,paho3,raw5,tern5,paho5", "clients to measure (raw3, tern3, paho3, raw5, tern5, paho5)")
	sectionList := flag.String("sections", "tput,lat,idle,allocs", "sections to run (tput, lat, idle, allocs)")
	qosList := flag.String("qos", "0,1,2", "QoS levels of the throughput and latency sections")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap profile of each idle-connection child, taken with its connections open, to `file`.CLIENT")
	flag.StringVar(&o.benchtime, "benchtime", "100000x", "-benchtime of the allocation benchmarks")
	flag.DurationVar(&o.allocsTimeo, "allocs-timeout", 4*time.Minute, "time limit of the go test run of the allocation benchmarks")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process to `file`")
	flag.StringVar(&o.paho5Mode, "paho5-mode", "async", "paho.golang pipelining: workers (goroutines calling Publish, up to Receive Maximum) or async (PublishMethod_AsyncSend)")
	idleKey := flag.String("idle-child", "", "internal: run as the idle-connection child for this client")
	idleProf := flag.String("idle-memprofile", "", "internal: the heap profile file of the idle child")
	idleBroker := flag.String("idle-broker", "", "internal: the broker address of the idle child")
	flag.Parse()

	if *idleKey != "" {
		idleChild(*idleKey, *idleBroker, o.conns, o.timeout, *idleProf)
		return
	}
	o.clients = strings.Split(*clientList, ",")
	known := map[string]bool{}
	for _, c := range clients() {
		known[c.key] = true
	}
	for _, k := range o.clients {
		if !known[k] {
			fatalf("-clients: unknown client %q", k)
		}
	}
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*sectionList, ",") {
		switch s {
		case "tput", "lat", "idle", "allocs":
			o.sections[s] = true
		default:
			fatalf("-sections: unknown section %q", s)
		}
	}
	for _, q := range strings.Split(*qosList, ",") {
		switch q {
		case "0", "1", "2":
			o.qos = append(o.qos, q[0]-'0')
		default:
			fatalf("-qos: %q is not a QoS", q)
		}
	}
	if o.rounds < 1 || o.n0 < 1 || o.n12 < 1 || o.window < 1 || o.latN < 1 || o.conns < 1 {
		fatalf("counts must be at least 1")
	}
	if o.paho5Mode != "workers" && o.paho5Mode != "async" {
		fatalf("-paho5-mode must be workers or async")
	}
	paho5Mode = o.paho5Mode
	if o.rawRefill < 1 {
		fatalf("-raw-refill must be at least 1")
	}
	o.rawRefill = min(o.rawRefill, o.window)
	rawRefill = o.rawRefill

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fatalf("%v", err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	start := time.Now()
	var rep report
	rep.opts = o
	if o.sections["tput"] || o.sections["lat"] || o.sections["idle"] {
		// The broker needs a file descriptor per connection too; it
		// inherits this process's limit.
		if err := machine.RaiseNoFile(uint64(o.conns) + 256); err != nil {
			logf("warning: %v", err)
		}
		b, err := startBroker()
		if err != nil {
			fatalf("%v", err)
		}
		rep.mosquitto, rep.brokerConf = b.version, b.conf
		stopOnSignal(b)
		measureAll(b, o, &rep)
		if !b.alive() {
			rep.notes = append(rep.notes, "the broker exited during the run")
		}
		var logLines []string
		for _, l := range strings.Split(b.stop(), "\n") {
			// "user root" keeps the broker from switching user, and it
			// warns about that.
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "should not be run as root") {
				logLines = append(logLines, l)
			}
		}
		if len(logLines) > 0 {
			rep.notes = append(rep.notes, "broker log: "+strings.Join(logLines[max(0, len(logLines)-5):], " | "))
		}
	} else {
		rep.mosquitto = mosquittoVersionOnPath()
	}
	if o.sections["allocs"] {
		logf("allocation benchmarks (go test -bench, -benchtime %s)", o.benchtime)
		rep.allocs, rep.allocsErr = runAllocBenchmarks(o.benchtime, o.allocsTimeo)
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

// measureAll runs the sections that need the broker.
func measureAll(b *broker, o options, rep *report) {
	var cls []client
	for _, c := range clients() {
		if slices.Contains(o.clients, c.key) {
			cls = append(cls, c)
		}
	}
	rep.clients = cls
	payload := make([]byte, o.payload)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	if o.sections["tput"] {
		// Warm-up, not recorded: a short run of every client at every QoS.
		for _, qos := range o.qos {
			for _, cl := range cls {
				if r := throughput(b, cl, qos, 2000, o.window, payload, o.timeout); r.err != nil {
					logf("warm-up QoS %d  %-6s %s", qos, cl.key, r)
				}
			}
		}
		rep.tput = map[tputKey][]tputResult{}
		for round := range o.rounds {
			for _, qos := range o.qos {
				n := o.n12
				if qos == 0 {
					n = o.n0
				}
				// Interleave: each round starts with a different client.
				for i := range cls {
					cl := cls[(i+round)%len(cls)]
					r := throughput(b, cl, qos, n, o.window, payload, o.timeout)
					logf("round %d/%d  QoS %d  %-6s %s", round+1, o.rounds, qos, cl.key, r)
					k := tputKey{cl.key, qos}
					rep.tput[k] = append(rep.tput[k], r)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	}
	if o.sections["lat"] {
		rep.lat = map[tputKey]latResult{}
		for round := range o.rounds {
			for _, qos := range o.qos {
				if qos == 0 {
					continue
				}
				for i := range cls {
					cl := cls[(i+round)%len(cls)]
					k := tputKey{cl.key, qos}
					r := rep.lat[k]
					if r.err != nil {
						continue
					}
					ds, err := latency(b, cl, qos, o.latN, payload, o.timeout)
					logf("round %d/%d  latency QoS %d  %-6s %s", round+1, o.rounds, qos, cl.key, latResult{samples: ds, err: err})
					r.samples = append(r.samples, ds...)
					r.err = err
					if err == nil {
						r.p50s = append(r.p50s, us(percentile(ds, 0.5)))
					}
					rep.lat[k] = r
				}
			}
		}
	}
	if o.sections["idle"] {
		rep.idle = map[string]idleResult{}
		for _, cl := range cls {
			if cl.key == "raw5" {
				continue // one raw floor is enough
			}
			prof := ""
			if o.memprofile != "" {
				prof = o.memprofile + "." + cl.key
			}
			r := runIdle(b, cl.key, o.conns, o.timeout, prof)
			logf("idle %-6s %s", cl.key, r)
			rep.idle[cl.key] = r
		}
	}
}

// stopOnSignal stops the broker and exits on SIGINT or SIGTERM.
func stopOnSignal(b *broker) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		b.stop()
		fmt.Fprintf(os.Stderr, "e2e: %v: broker stopped\n", s)
		os.Exit(130)
	}()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	os.Exit(2)
}

func mosquittoVersionOnPath() string {
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		return "not found"
	}
	return mosquittoVersion(path)
}
