package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ternmq/mqtt/benchmarks/internal/machine"
)

var runSeq atomic.Int64

// uniq returns a client ID / topic suffix unique in this run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), runSeq.Add(1))
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sysIO returns the process's read and write system calls so far
// (syscr and syscw of /proc/self/io; reads include the failed EAGAIN
// reads of Go's network poller).
func sysIO() (r, w int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			r = n
		case "syscw":
			w = n
		}
	}
	return r, w
}

// tputResult is one throughput run.
type tputResult struct {
	rate     float64       // messages per second, first publish to last receipt
	cpuPerOp time.Duration // process CPU (clients only) per message
	reads    float64       // read system calls per message, publisher and subscriber
	writes   float64       // write system calls per message
	received int
	err      error
}

// throughput runs one publisher and one subscriber of cl through the
// broker: n messages of payload at qos, timed from the first publish to
// the last message received.
func throughput(b *broker, cl client, qos byte, n, window int, payload []byte, timeout time.Duration) tputResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	topic := "bench/" + uniq(cl.key)
	var count atomic.Int64
	var last atomic.Int64 // UnixNano of the n-th message
	all := make(chan struct{})
	on := func() {
		if count.Add(1) == int64(n) {
			last.Store(time.Now().UnixNano())
			close(all)
		}
	}
	sub, err := cl.dialSub(ctx, b.addr, uniq(cl.key+"-sub"), topic, qos, on)
	if err != nil {
		return tputResult{err: fmt.Errorf("subscriber: %w", err)}
	}
	defer sub.close()
	pub, err := cl.dialPub(ctx, b.addr, uniq(cl.key+"-pub"), window)
	if err != nil {
		return tputResult{err: fmt.Errorf("publisher: %w", err)}
	}
	defer pub.close()

	runtime.GC()
	pubDone := make(chan error, 1)
	cpu0 := cpuTime()
	r0, w0 := sysIO()
	start := time.Now()
	go func() { pubDone <- pub.pipeline(ctx, topic, qos, payload, n, window) }()
	var res tputResult
	select {
	case <-all:
		cpu := cpuTime() - cpu0
		r1, w1 := sysIO()
		res.reads, res.writes = float64(r1-r0)/float64(n), float64(w1-w0)/float64(n)
		res.rate = float64(n) / time.Duration(last.Load()-start.UnixNano()).Seconds()
		res.cpuPerOp = cpu / time.Duration(n)
	case <-ctx.Done():
		res.err = fmt.Errorf("%w after %v", errTimeout, timeout)
	}
	res.received = int(count.Load())
	select {
	case err := <-pubDone:
		if err != nil && res.err == nil {
			res.err = fmt.Errorf("publisher: %w", err)
		}
	case <-ctx.Done():
		if res.err == nil {
			res.err = fmt.Errorf("publisher did not finish within %v", timeout)
		}
	}
	if res.err != nil {
		res.rate = 0
	}
	return res
}

// latency times n sequential synchronous publishes at qos, after a short
// warm-up. There is no subscriber: it is the round trip to the broker.
func latency(b *broker, cl client, qos byte, n int, payload []byte, timeout time.Duration) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pub, err := cl.dialPub(ctx, b.addr, uniq(cl.key+"-lat"), 1000)
	if err != nil {
		return nil, err
	}
	defer pub.close()
	topic := "lat/" + uniq(cl.key)
	for range min(100, n) {
		if err := pub.sync(ctx, topic, qos, payload); err != nil {
			return nil, err
		}
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		t := time.Now()
		if err := pub.sync(ctx, topic, qos, payload); err != nil {
			return nil, err
		}
		ds[i] = time.Since(t)
	}
	return ds, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// ---- idle connections, measured in a child process ----

type memSample struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
}

type idleResult struct {
	Client string    `json:"client"`
	Conns  int       `json:"conns"`
	Before memSample `json:"before"`
	After  memSample `json:"after"`
	Err    string    `json:"err,omitempty"`
}

func sampleMem() memSample {
	debug.FreeOSMemory() // a full GC, and freed pages go back to the OS
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()}
}

// rss reads the resident set size from /proc/self/statm.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// idleChild is the body of the child process: open conns idle connections
// of one client, measure, close them, print the result as JSON.
func idleChild(key, addr string, conns int, timeout time.Duration, memprofile string) {
	res := idleResult{Client: key, Conns: conns}
	defer func() {
		json.NewEncoder(os.Stdout).Encode(res)
	}()
	var cl *client
	for _, c := range clients() {
		if c.key == key {
			cl = &c
		}
	}
	if cl == nil {
		res.Err = "unknown client " + key
		return
	}
	if err := machine.RaiseNoFile(uint64(conns) + 64); err != nil {
		res.Err = err.Error()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Warm up: one connection opened and closed, so that code and the
	// client's package-level state are in place before the baseline.
	w, err := cl.dialIdle(ctx, addr, uniq(key+"-warm"))
	if err != nil {
		res.Err = "warm-up: " + err.Error()
		return
	}
	w.close()
	time.Sleep(200 * time.Millisecond)
	res.Before = sampleMem()
	cs := make([]closer, 0, conns)
	defer func() {
		// Close concurrently, 50 at a time.
		sem := make(chan struct{}, 50)
		for _, c := range cs {
			sem <- struct{}{}
			go func() { c.close(); <-sem }()
		}
		for range cap(sem) {
			sem <- struct{}{}
		}
	}()
	for i := range conns {
		c, err := cl.dialIdle(ctx, addr, uniq(fmt.Sprintf("%s-idle%d", key, i)))
		if err != nil {
			res.Err = fmt.Sprintf("connection %d: %v", i, err)
			return
		}
		cs = append(cs, c)
	}
	time.Sleep(2500 * time.Millisecond) // let every connection settle; Tern's writer and dispatcher goroutines exit after 1 s idle
	res.After = sampleMem()
	if memprofile != "" {
		if f, err := os.Create(memprofile); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
}

// runIdle re-executes this program as a child measuring one client.
func runIdle(b *broker, key string, conns int, timeout time.Duration, memprofile string) idleResult {
	exe, err := os.Executable()
	if err != nil {
		return idleResult{Client: key, Err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-idle-child", key, "-idle-broker", b.addr,
		"-conns", strconv.Itoa(conns), "-timeout", timeout.String(), "-idle-memprofile", memprofile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	var res idleResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if json.Unmarshal(sc.Bytes(), &res) == nil && res.Client == key {
			return res
		}
	}
	msg := "no result from the child"
	if err != nil {
		msg = err.Error()
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		msg += ": " + lastLines(s, 3)
	}
	return idleResult{Client: key, Conns: conns, Err: msg}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
