package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// Percentiles of known distributions are within the histogram's
// precision (a bucket is at most 1/128 of its values wide), never above
// the maximum, and exact for small values.
func TestBenchHistogram(t *testing.T) {
	var h histogram
	if h.percentile(50) != 0 || h.stats().Count != 0 {
		t.Fatal("an empty histogram has percentiles")
	}
	// 1 µs to 100 ms, each microsecond once, shuffled, from 4 goroutines.
	const n = 100000
	vals := make([]time.Duration, n)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.Shuffle(n, func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range vals[g*n/4 : (g+1)*n/4] {
				h.record(v)
			}
		}()
	}
	wg.Wait()
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {99.9, 99900 * time.Microsecond}, {100, 100 * time.Millisecond}} {
		got := h.percentile(tc.p)
		if got < tc.want || float64(got-tc.want) > float64(tc.want)/128 {
			t.Errorf("p%v = %v, want %v (+0.8%%)", tc.p, got, tc.want)
		}
	}
	s := h.stats()
	if s.Count != n || s.Min != 0.001 || s.Max != 100 || s.Mean < 50 || s.Mean > 50.001 {
		t.Errorf("stats %+v", s)
	}
	if !(s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max) {
		t.Errorf("percentiles out of order: %+v", s)
	}

	// Small values have a bucket each; a value over the range keeps max.
	var small histogram
	for v := 0; v < 200; v++ {
		small.record(time.Duration(v))
	}
	if got := small.percentile(50); got != 99 {
		t.Errorf("p50 of 0..199 ns = %v, want 99ns", got)
	}
	small.record(-time.Second)
	small.record(time.Hour)
	if s := small.stats(); s.Min != 0 || s.Max != float64(time.Hour/time.Millisecond) {
		t.Errorf("min and max of 0..199 ns, -1 s and 1 h: %+v", s)
	}

	// Buckets are contiguous and hold what they say.
	for i := 0; i < 20000; i++ {
		v := uint64(rand.Int63n(1 << histMaxBits))
		b := bucketOf(v)
		if bucketHigh(b) < v || (b > 0 && bucketHigh(b-1) >= v) {
			t.Fatalf("%d is in bucket %d, which ends at %d (the previous at %d)", v, b, bucketHigh(b), bucketHigh(b-1))
		}
		if width := bucketHigh(b) - bucketHigh(max(b, 1)-1); b >= 1<<histSubBits && width > v/(histHalf-1) {
			t.Fatalf("bucket %d of %d is %d wide", b, v, width)
		}
	}
	if bucketOf(1<<62) != histBuckets-1 || bucketOf(1<<histMaxBits-1) != histBuckets-1 {
		t.Error("the last bucket does not take the largest values")
	}
}

func TestBenchTemplate(t *testing.T) {
	for _, tc := range []struct {
		tmpl, want, err string
	}{
		{"bench/%i", "bench/7", ""},
		{"bench/%c/%u/x", "bench/tern-pub-1-7/alice/x", ""},
		{"%i%i%%%c", "77%tern-pub-1-7", ""},
		{"plain", "plain", ""},
		{"", "", ""},
		{"a/%x", "", "unknown %x"},
		{"a/%", "", "ends with %"},
	} {
		tt, err := parseTemplate("-t", tc.tmpl)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.tmpl, err)
			continue
		}
		if got := tt.expand(7, "tern-pub-1-7", "alice"); got != tc.want {
			t.Errorf("%q gives %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

// bench runs "tern bench args... --json" and returns its exit code and
// report, having checked that the numbers add up and match the text
// report.
func bench(t *testing.T, want int, args ...string) (benchReport, result) {
	t.Helper()
	r := tern(t, "", append(append([]string{"bench"}, args...), "--json")...)
	if r.code != want {
		t.Fatalf("tern bench %q: exit %d, want %d; stdout:\n%s\nstderr:\n%s", args, r.code, want, r.stdout, r.stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("tern bench %q: the report is not JSON: %v\n%s", args, err, r.stdout)
	}
	checkReport(t, rep, r.stderr)
	return rep, r
}

// checkReport checks that a report's counts add up, that its percentiles
// are ordered and positive, and that the text report has the same
// numbers.
func checkReport(t *testing.T, rep benchReport, text string) {
	t.Helper()
	c := rep.Connections
	if c.Attempted != c.Succeeded+c.Failed {
		t.Errorf("connections: %d attempted, %d succeeded + %d failed", c.Attempted, c.Succeeded, c.Failed)
	}
	stats := map[string]durationStats{"connect time": c.ConnectTime}
	nums := map[string][]int64{"connections": {c.Attempted, c.Succeeded, c.Failed, c.Lost}}
	if p := rep.Publish; p != nil {
		if p.Sent != p.Completed+p.Failed+p.InFlight {
			t.Errorf("publishes: %d sent, %d completed + %d failed + %d in flight", p.Sent, p.Completed, p.Failed, p.InFlight)
		}
		stats["completion"] = p.CompletionTime
		nums["publishes"] = []int64{p.Sent, p.Completed, p.Failed, p.InFlight}
	}
	if rv := rep.Receive; rv != nil {
		stats["latency"] = rv.Latency
		nums["received"] = []int64{rv.Received}
	}
	for name, s := range stats {
		if s.Count > 0 && !(0 < s.Min && s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max) {
			t.Errorf("%s: percentiles not positive and ordered: %+v", name, s)
		}
	}
	for label, want := range nums {
		m := regexp.MustCompile(`(?m)^` + label + `\s+(\d+)\D+(\d*)\D*(\d*)\D*(\d*)`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("the text report lacks %q:\n%s", label, text)
			continue
		}
		for i, w := range want {
			if got, _ := strconv.ParseInt(m[i+1], 10, 64); got != w {
				t.Errorf("text report %q: number %d is %q, the JSON says %d", m[0], i+1, m[i+1], w)
			}
		}
	}
}

// pub --sub on one broker: every completed publish reaches every
// subscriber of its topic (one per client with %i, all on a shared
// topic), -L stops at exactly the count, and the latencies are measured.
func TestBenchPubSelfSub(t *testing.T) {
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		hp := hostPort(t, b.URL)
		for _, tc := range []struct {
			name  string
			args  []string
			subs  int64 // subscribers of each topic
			limit int64
		}{
			{"own topics, QoS 1", []string{"-c", "4", "-q", "1", "-t", "bench/own/%i", "-L", "200"}, 1, 200},
			{"shared topic, QoS 2, 3.1.1", []string{"-c", "3", "-q", "2", "-t", "bench/shared", "-L", "90", "-V", "4"}, 3, 90},
			{"client IDs in topics, QoS 1, 5 msg/s", []string{"-c", "2", "-q", "1", "-t", "bench/%c", "-I", "200", "-L", "4"}, 1, 4},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append(append([]string{"pub", "--sub", "-I", "0", "-i", "0", "-s", "64", "--duration", "20s"}, hp...), tc.args...)
				rep, _ := bench(t, 0, args...)
				p, rv := rep.Publish, rep.Receive
				if rep.Ended != "limit" || p.Sent != tc.limit || p.Completed != tc.limit {
					t.Errorf("ended %q, %d sent, %d completed; want limit, %d", rep.Ended, p.Sent, p.Completed, tc.limit)
				}
				if rv == nil || rv.Expected == nil || *rv.Expected != tc.limit*tc.subs || rv.Received != *rv.Expected {
					t.Errorf("received %+v, want %d", rv, tc.limit*tc.subs)
				} else if rv.Latency.Count != uint64(rv.Received) || rv.Unstamped != 0 {
					t.Errorf("latency of %d messages of %d received, %d unstamped", rv.Latency.Count, rv.Received, rv.Unstamped)
				}
				if p.CompletionTime.Count != uint64(p.Completed) {
					t.Errorf("completion time of %d publishes of %d", p.CompletionTime.Count, p.Completed)
				}
				if len(rep.Errors) > 0 || rep.Connections.Lost > 0 {
					t.Errorf("errors in a clean run: %+v", rep.Errors)
				}
			})
		}
	})
}

// A bench sub in one run, a bench pub in another: the sub stops at
// exactly its -L, its latencies measured from the stamps.
func TestBenchSubLimit(t *testing.T) {
	b := brokertest.Mochi(t)
	hp := hostPort(t, b.URL)
	sub := startTern(t, strings.NewReader(""), append([]string{"bench", "sub", "-c", "3", "-i", "0", "-q", "1", "-L", "50", "--duration", "20s", "--json"}, hp...)...)
	waitFor(t, "bench sub's progress", sub.errOut.String, `clients 3 of 3`, 1)
	r := tern(t, "", append([]string{"bench", "pub", "-c", "3", "-i", "0", "-I", "0", "-q", "1", "-L", "100", "--quiet"}, hp...)...)
	if r.code != 0 {
		t.Fatalf("bench pub: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if code := sub.wait(t); code != 0 {
		t.Fatalf("bench sub: exit %d\n%s", code, sub.errOut.String())
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(sub.out.String()), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, sub.out.String())
	}
	checkReport(t, rep, sub.errOut.String())
	if rep.Ended != "limit" || rep.Receive.Received != 50 || rep.Connections.Subscribed != 3 {
		t.Errorf("ended %q, %d received, %d subscribed; want limit, 50, 3", rep.Ended, rep.Receive.Received, rep.Connections.Subscribed)
	}
	if rep.Receive.Latency.Count == 0 || rep.Receive.Unstamped != 0 {
		t.Errorf("latency %+v, %d unstamped", rep.Receive.Latency, rep.Receive.Unstamped)
	}
}

// --duration ends a run that has no other limit; text by default.
func TestBenchDuration(t *testing.T) {
	b := brokertest.Mochi(t)
	hp := hostPort(t, b.URL)
	for _, args := range [][]string{
		{"sub", "-c", "2", "--duration", "300ms"},
		{"pub", "-c", "2", "-I", "20", "--duration", "300ms"},
	} {
		r := tern(t, "", append(append([]string{"bench"}, args...), hp...)...)
		if r.code != 0 || !regexp.MustCompile(`(?m)^ended\s+duration, over`).MatchString(r.stdout) {
			t.Errorf("tern bench %q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// bench conn: every attempt counted, the connect times measured.
func TestBenchConn(t *testing.T) {
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		rep, _ := bench(t, 0, append([]string{"conn", "-c", "8", "-i", "2", "--hold", "100ms"}, hostPort(t, b.URL)...)...)
		c := rep.Connections
		if rep.Ended != "done" || c.Attempted != 8 || c.Succeeded != 8 || c.ConnectTime.Count != 8 || len(rep.Errors) != 0 {
			t.Errorf("report %+v", rep)
		}
	})
}

// Refusals and unreachable brokers are counted under their cause, and
// a run where no client connects exits 1.
func TestBenchRefused(t *testing.T) {
	b := brokertest.Mosquitto(t, "allow_anonymous false")
	for _, v := range []string{"5", "311"} {
		rep, _ := bench(t, 1, append([]string{"conn", "-c", "3", "-i", "0", "-V", v}, hostPort(t, b.URL)...)...)
		if rep.Connections.Failed != 3 || len(rep.Errors) != 1 || rep.Errors[0].Count != 3 ||
			!strings.Contains(rep.Errors[0].Cause, "connect: refused: CONNACK Not authorized") {
			t.Errorf("-V %s: %+v", v, rep)
		}
	}
	port := brokertest.FreePort(t)
	rep, _ := bench(t, 1, "pub", "-c", "2", "-i", "0", "-p", strconv.Itoa(port), "-h", "127.0.0.1")
	if rep.Ended != "no client connected" || len(rep.Errors) != 1 || rep.Errors[0].Cause != "connect: connection refused" {
		t.Errorf("%+v", rep)
	}
}

// Ctrl-C ends the run: the report is printed, the numbers add up, and the
// exit code is 130.
func TestBenchInterrupt(t *testing.T) {
	b := brokertest.Mochi(t)
	c := startTern(t, strings.NewReader(""), append([]string{"bench", "pub", "-c", "2", "-I", "5", "-q", "1", "--duration", "1m", "--sub"}, hostPort(t, b.URL)...)...)
	waitFor(t, "bench pub's progress", c.errOut.String, `sent [1-9]`, 1)
	c.cancel()
	if code := c.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d after Ctrl-C, want 130\n%s", code, c.errOut.String())
	}
	out := c.out.String()
	if !regexp.MustCompile(`(?m)^ended\s+interrupted, over`).MatchString(out) {
		t.Errorf("no report, or not interrupted:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^publishes\s+(\d+) sent, (\d+) completed, (\d+) failed, (\d+) in flight`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no publishes in the report:\n%s", out)
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	if n[0] == 0 || n[0] != n[1]+n[2]+n[3] {
		t.Errorf("%d sent, %d completed + %d failed + %d in flight", n[0], n[1], n[2], n[3])
	}
}

// Flags: help, mistakes, and the options file's connection flags (its
// -c and -i, which mean other things to tern pub, skipped).
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"bench", "--help"}, 0, "Usage: tern bench {pub | sub | conn}", ""},
		{[]string{"bench", "pub", "--help"}, 0, "-I, --interval-of-msg ms", ""},
		{[]string{"help", "bench"}, 0, "tern bench conn", ""},
		{[]string{"bench", "sub", "-h"}, 2, "", "-h needs the broker's host name"},
		{[]string{"bench", "conn", "--help"}, 0, "--hold time", ""},
		{[]string{"bench", "nope"}, 2, "", `unknown kind "nope"`},
		{[]string{"bench", "pub", "-c", "0"}, 2, "", "give 1 to 10000 clients"},
		{[]string{"bench", "conn", "-c", "10001"}, 2, "", "give 1 to 10000 clients"},
		{[]string{"bench", "pub", "-s", "4"}, 2, "", "give 12 or more"},
		{[]string{"bench", "pub", "-t", "a/%x"}, 2, "", "unknown %x"},
		{[]string{"bench", "pub", "-t", "a/+/%i"}, 2, "", "no wildcards"},
		{[]string{"bench", "sub", "-t", "a/#/%i"}, 2, "", `gives "a/#/1"`},
		{[]string{"bench", "pub", "--rate", "0"}, 2, "", "above 0"},
		{[]string{"bench", "pub", "--rate", "10", "-I", "5"}, 2, "", "-I and --rate"},
		{[]string{"bench", "conn", "-i", "5", "--conn-rate", "10"}, 2, "", "-i and --conn-rate"},
		{[]string{"bench", "conn", "-i", "soon"}, 2, "", "give milliseconds"},
		{[]string{"bench", "conn", "-V", "6"}, 2, "", "emqtt-bench's 5, 4, 3"},
		{[]string{"bench", "conn", "--url", "mqtt://h", "-h", "x"}, 2, "", "each name the broker"},
		{[]string{"bench", "conn", "--url", "mqtt://h", "--cafile", "ca.pem"}, 2, "", "not TLS"},
		{[]string{"bench", "pub", "-q", "3"}, 2, "", "the QoS is 0, 1 or 2"},
	} {
		r := tern(t, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("tern %q: exit %d, want %d with %q on stdout and %q on stderr; stdout:\n%s\nstderr:\n%s",
				tc.args, r.code, tc.code, tc.stdout, tc.stderr, r.stdout, r.stderr)
		}
	}

	b := brokertest.Mochi(t)
	hp := hostPort(t, b.URL)
	file := filepath.Join(t.TempDir(), "config")
	conf := fmt.Sprintf("-h %s\n-p %s\n-c\n-i my-id\n-L mqtt://elsewhere:1/t\n-q 1\n", hp[1], hp[3])
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, _ := bench(t, 0, "conn", "-c", "2", "--options-file", file)
	if rep.Broker != b.URL || rep.Connections.Succeeded != 2 {
		t.Errorf("with the options file: broker %s, %d connected; want %s, 2", rep.Broker, rep.Connections.Succeeded, b.URL)
	}
}

// TLS: -S (or --url mqtts://) with --cafile connects; without the CA
// every attempt fails under the certificate's cause.
func TestBenchTLS(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "Tern test CA")
	srv := ca.Server(t)
	cafile := certtest.Write(t, dir, "ca.pem", ca.CertPEM)
	lines, port := brokertest.TLSListener(t, "", certtest.Write(t, dir, "srv.pem", srv.CertPEM), certtest.Write(t, dir, "srv.key", srv.KeyPEM))
	brokertest.Mosquitto(t, lines...)
	p := strconv.Itoa(port)
	rep, _ := bench(t, 0, "conn", "-c", "2", "-i", "0", "-S", "-p", p, "--cafile", cafile)
	if rep.Connections.Succeeded != 2 || !strings.HasPrefix(rep.Broker, "mqtts://") {
		t.Errorf("-S --cafile: %+v", rep)
	}
	rep, _ = bench(t, 0, "pub", "--url", "mqtts://localhost:"+p, "--cafile", cafile, "-c", "2", "-q", "1", "-L", "20", "-I", "0", "--sub")
	if rep.Publish.Completed != 20 || *rep.Receive.Expected != 20 || rep.Receive.Received != 20 {
		t.Errorf("pub --sub over TLS: %+v %+v", rep.Publish, rep.Receive)
	}
	rep, _ = bench(t, 1, "conn", "-c", "2", "-i", "0", "-S", "-p", p)
	if len(rep.Errors) != 1 || rep.Errors[0].Cause != "connect: TLS: certificate not accepted" {
		t.Errorf("without the CA: %+v", rep.Errors)
	}
}
