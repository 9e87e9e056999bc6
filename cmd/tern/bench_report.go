package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// benchReport is the report of a run, printed as text or, with --json, as
// one JSON object. Durations are in milliseconds.
type benchReport struct {
	Command  string  `json:"command"` // "pub", "sub", "conn"
	Broker   string  `json:"broker"`
	Version  string  `json:"mqtt_version"`
	Clients  int     `json:"clients"`
	QoS      *int    `json:"qos,omitempty"`
	Size     int     `json:"payload_size,omitempty"`
	Topic    string  `json:"topic,omitempty"`
	Ended    string  `json:"ended"`           // interrupted, limit, duration, done, no client connected, no subscription granted, every connection lost
	Elapsed  float64 `json:"elapsed_seconds"` // the time the rates are over
	Limit    int     `json:"limit,omitempty"`
	Duration float64 `json:"duration_seconds"` // the limit in time

	Connections benchConnReport  `json:"connections"`
	Publish     *benchPubReport  `json:"publish,omitempty"`
	Receive     *benchRecvReport `json:"receive,omitempty"`
	Errors      []benchError     `json:"errors"`
}

// benchConnReport counts the connections: attempted = succeeded + failed.
type benchConnReport struct {
	Attempted   int64         `json:"attempted"`
	Succeeded   int64         `json:"succeeded"`
	Failed      int64         `json:"failed"`
	Lost        int64         `json:"lost"` // succeeded, then ended by the network or the broker
	Subscribed  int64         `json:"subscribed,omitempty"`
	Rate        float64       `json:"rate_per_second,omitempty"` // conn: successes a second
	ConnectTime durationStats `json:"connect_time"`
}

// benchPubReport counts the publishes: sent = completed + failed +
// in_flight.
type benchPubReport struct {
	Sent           int64         `json:"sent"`
	Completed      int64         `json:"completed"`
	Failed         int64         `json:"failed"`
	InFlight       int64         `json:"in_flight"`
	SentRate       float64       `json:"sent_per_second"`
	CompletedRate  float64       `json:"completed_per_second"`
	CompletionTime durationStats `json:"completion_time"` // send → written (QoS 0), PUBACK (1), PUBCOMP (2)
}

// benchRecvReport counts the messages received and their latency from
// the send time they carry.
type benchRecvReport struct {
	Received  int64         `json:"received"`
	Expected  *int64        `json:"expected,omitempty"` // pub --sub: completed × subscribers of the topic
	Unstamped int64         `json:"unstamped"`          // without the send time of tern bench pub
	Rate      float64       `json:"rate_per_second"`    // between the first and the last message
	Latency   durationStats `json:"latency"`
}

// benchError is one cause of errors, with the first one's message.
type benchError struct {
	Cause   string `json:"cause"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

// report returns the part of the report common to every kind; elapsed is
// the time the rates are over.
func (r *benchRun) report(elapsed time.Duration) *benchReport {
	o := r.o
	rep := &benchReport{
		Command:  o.kind,
		Broker:   o.broker.String(),
		Version:  o.version.String(),
		Clients:  o.clients,
		Ended:    r.ended(),
		Elapsed:  elapsed.Seconds(),
		Limit:    o.limit,
		Duration: o.runFor.Seconds(),
		Connections: benchConnReport{
			Attempted:   r.attempted.Load(),
			Succeeded:   r.connected.Load(),
			Failed:      r.connFailed.Load(),
			Lost:        r.lost.Load(),
			Subscribed:  r.subscribed.Load(),
			ConnectTime: r.connectTime.stats(),
		},
	}
	if o.kind != "conn" {
		q := o.qos
		rep.QoS, rep.Topic = &q, o.topic
	}
	if o.kind == "pub" {
		rep.Size = o.size
	}
	rep.Errors = r.errs.list()
	return rep
}

// perSecond returns n over d, a second.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// printReport prints the report: as text on stdout, or with --json as
// JSON on stdout and as text on stderr (unless --quiet).
func (r *benchRun) printReport(rep *benchReport, stdout, stderr io.Writer) {
	if !r.o.jsonOut {
		writeBenchText(stdout, rep)
		return
	}
	if !r.o.quiet {
		writeBenchText(stderr, rep)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(rep)
}

// writeBenchText writes the report for a person to read.
func writeBenchText(w io.Writer, rep *benchReport) {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-14s%s\n", label, fmt.Sprintf(format, args...))
	}
	head := fmt.Sprintf("tern bench %s: %d clients", rep.Command, rep.Clients)
	if rep.QoS != nil {
		head += fmt.Sprintf(", QoS %d, topic %s", *rep.QoS, rep.Topic)
	}
	if rep.Size > 0 {
		head += fmt.Sprintf(", %d-byte payloads", rep.Size)
	}
	fmt.Fprintf(&b, "%s, MQTT %s, %s\n", head, rep.Version, rep.Broker)
	line("ended", "%s, over %s", rep.Ended, fmtSeconds(rep.Elapsed))
	c := rep.Connections
	conns := fmt.Sprintf("%d attempted, %d succeeded, %d failed, %d lost", c.Attempted, c.Succeeded, c.Failed, c.Lost)
	if c.Subscribed > 0 {
		conns += fmt.Sprintf(", %d subscribed", c.Subscribed)
	}
	if c.Rate > 0 {
		conns += fmt.Sprintf(", %.1f/s", c.Rate)
	}
	line("connections", "%s", conns)
	line("connect time", "%s", fmtStats(c.ConnectTime))
	if p := rep.Publish; p != nil {
		line("publishes", "%d sent, %d completed, %d failed, %d in flight", p.Sent, p.Completed, p.Failed, p.InFlight)
		line("throughput", "%.1f msg/s sent, %.1f msg/s completed", p.SentRate, p.CompletedRate)
		what := map[int]string{0: "send → written", 1: "send → PUBACK", 2: "send → PUBCOMP"}[*rep.QoS]
		line("completion", "%s: %s", what, fmtStats(p.CompletionTime))
	}
	if rv := rep.Receive; rv != nil {
		recv := fmt.Sprintf("%d", rv.Received)
		if rv.Expected != nil {
			recv += fmt.Sprintf(" of %d expected", *rv.Expected)
		}
		line("received", "%s, %.1f msg/s, %d unstamped", recv, rv.Rate, rv.Unstamped)
		line("latency", "publish → receive: %s", fmtStats(rv.Latency))
	}
	if len(rep.Errors) == 0 {
		line("errors", "none")
	}
	for i, e := range rep.Errors {
		label := ""
		if i == 0 {
			label = "errors"
		}
		line(label, "%d × %s (first: %s)", e.Count, e.Cause, e.Example)
	}
	io.WriteString(w, b.String())
}

// fmtStats formats a summary of durations: "p50 1.2ms  p90 ...".
func fmtStats(s durationStats) string {
	if s.Count == 0 {
		return "none measured"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (min %s, mean %s, %d samples)",
		fmtMS(s.P50), fmtMS(s.P90), fmtMS(s.P99), fmtMS(s.Max), fmtMS(s.Min), fmtMS(s.Mean), s.Count)
}

// fmtMS formats milliseconds with three significant digits and a unit.
func fmtMS(v float64) string {
	unit := "ms"
	switch {
	case v >= 1000:
		v, unit = v/1000, "s"
	case v < 0.001:
		v, unit = v*1e6, "ns"
	case v < 1:
		v, unit = v*1000, "µs"
	}
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f%s", v, unit)
	case v < 100:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}

func fmtSeconds(s float64) string { return fmtMS(s * 1000) }

// errorCounter counts errors by cause; safe for concurrent use.
type errorCounter struct {
	mu     sync.Mutex
	causes map[string]*benchError // guarded by mu
	order  []string               // causes in order of first sight; guarded by mu
}

// add counts err under its cause, prefixed by the phase it happened in.
func (e *errorCounter) add(phase string, err error) {
	e.addCause(phase+": "+errorCause(err), err)
}

// addCause counts err under cause.
func (e *errorCounter) addCause(cause string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.causes == nil {
		e.causes = make(map[string]*benchError)
	}
	be := e.causes[cause]
	if be == nil {
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		be = &benchError{Cause: cause, Example: msg}
		e.causes[cause] = be
		e.order = append(e.order, cause)
	}
	be.Count++
}

// list returns the causes, the most frequent first.
func (e *errorCounter) list() []benchError {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]benchError, 0, len(e.order))
	for _, c := range e.order {
		out = append(out, *e.causes[c])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

// errorCause names the cause of an error of a connection or an
// operation, for counting: the broker's reason code, the sentinel of the
// library, the system's error.
func errorCause(err error) string {
	var rc *mqtt.ReasonCodeError
	var de *mqtt.DisconnectError
	var se *mqtt.SubscribeError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var notTLS tls.RecordHeaderError
	var alert tls.AlertError
	var ne net.Error
	switch {
	case errors.As(err, &rc):
		return fmt.Sprintf("refused: %s %s (0x%02x)", rc.Packet, rc.Code.Name(rc.Packet), byte(rc.Code))
	case errors.As(err, &se):
		for _, r := range se.Results {
			if !r.OK() {
				return fmt.Sprintf("refused: SUBACK %s (0x%02x)", r.Code.Name(se.Packet), byte(r.Code))
			}
		}
		return "refused: SUBACK"
	case errors.As(err, &de):
		return fmt.Sprintf("DISCONNECT from the broker: %s (0x%02x)", de.Code.Name(packet.TypeDisconnect), byte(de.Code))
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, mqtt.ErrConnackTimeout):
		return "no CONNACK within the connect timeout"
	case errors.Is(err, mqtt.ErrPingTimeout):
		return "broker silent (ping timeout)"
	case errors.Is(err, mqtt.ErrWriteTimeout):
		return "write timed out"
	case errors.Is(err, mqtt.ErrBadPacket):
		return "bad packet from the broker"
	case errors.Is(err, mqtt.ErrQueueFull):
		return "client's queue full"
	case errors.Is(err, mqtt.ErrLimit):
		return "over the broker's limits"
	case errors.Is(err, mqtt.ErrRetryLimit):
		return "retry limit"
	case errors.Is(err, mqtt.ErrConnectionLost):
		return "connection lost"
	case errors.Is(err, mqtt.ErrNotConnected):
		return "not connected"
	case errors.Is(err, mqtt.ErrClosed):
		return "client closed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local address or port free"
	case errors.Is(err, syscall.ENOENT):
		return "no such socket"
	case errors.As(err, &dns):
		return "host name not found"
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalid):
		return "TLS: certificate not accepted"
	case errors.As(err, &notTLS):
		return "TLS: the server does not speak TLS"
	case errors.As(err, &alert):
		return "TLS: alert from the server"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed by the broker"
	}
	return "other"
}
