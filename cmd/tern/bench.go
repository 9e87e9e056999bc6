package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// tern bench is a load generator in the manner of emqtt-bench: N clients
// that connect at a given rate and publish (bench pub), subscribe (bench
// sub) or only connect (bench conn), a progress line each second, and a
// report at the end. This file holds its flags; bench_run.go the run
// shared by the three; bench_pub.go, bench_sub.go and bench_conn.go what
// each does; bench_report.go the report.

// Bounds of a run, whatever the flags say.
const (
	benchMaxClients  = 10000            // -c at most
	benchDefaultTime = 10 * time.Second // --duration without -L
	benchLimitTime   = 10 * time.Minute // --duration with -L alone
	benchWindow      = 1000             // publishes awaiting completion per client, at most
	stampSize        = 12               // "tb1\x00" and the send time in Unix nanoseconds
)

// benchOptions are the flags of tern bench pub, sub and conn. The
// connection flags reuse clientOptions' fields (not all its flags: -c, -i,
// -I and -L mean here what they mean to emqtt-bench).
type benchOptions struct {
	clientOptions
	kind string // "pub", "sub" or "conn"

	ssl         bool
	clients     int
	startNumber int
	interval    string // -i
	connRate    string
	prefix      string
	duration    time.Duration
	jsonOut     bool

	topic       string
	size        int
	retain      bool
	msgInterval string // -I
	rate        string
	limit       int
	selfSub     bool
	hold        time.Duration

	// Set by parseBench.
	connEvery time.Duration // between connection attempts
	msgEvery  time.Duration // between one client's publishes; 0: as fast as the window allows
	runFor    time.Duration // the run's limit in time
	tmpl      *topicTemplate
	idPrefix  string // the client IDs' prefix
}

const benchUsage = `Usage: tern bench {pub | sub | conn} [flags]

Load a broker with many clients, in the manner of emqtt-bench (same short
flags: -c -i -I -t -s -q -L -h -p -V -u -P -S), print a progress line each
second on standard error and a report at the end on standard output.

  tern bench pub    N clients publish, each on its topic, at a rate
  tern bench sub    N clients subscribe and count what they receive
  tern bench conn   N clients connect, stay connected (--hold), disconnect

Each payload starts with its send time, so that a bench sub (in another
process, or pub --sub in the same one) measures publish → receive latency.

Examples:
  tern bench conn -c 1000 -i 5                     # 1000 clients, one every 5 ms
  tern bench sub -c 10 -t 'bench/%i' -q 1 &        # 10 subscribers...
  tern bench pub -c 10 -t 'bench/%i' -q 1 -I 100   # ...10 publishers, 10 msg/s each
  tern bench pub -c 20 --rate 5000 -s 64 --duration 30s --sub --json
  tern bench pub -c 5 -L 10000 -I 0 -q 2 -V 311    # 10000 messages, flat out

Run "tern bench pub --help" (sub, conn) for the flags.
`

// benchHelp says what each kind does, above its flags.
var benchHelp = map[string]string{
	"pub": `Usage: tern bench pub [flags]

Connect -c clients, one every -i, and have each publish -s-byte messages on
its topic (-t, with %i its number, %c its client ID, %u the user name)
every -I, or --rate messages a second in all, until -L messages in all or
--duration. With --sub, as many subscribers (one per publisher's topic)
connect first and measure publish → receive latency in the same process.

The report gives the publishes sent, completed (acknowledged: PUBACK at
QoS 1, PUBCOMP at QoS 2; written at QoS 0), failed and still in flight
(sent = completed + failed + in flight), the throughput, the completion
time (send → PUBACK/PUBCOMP) and, with --sub, the messages received
against those expected and their latency.

Examples:
  tern bench pub -c 10 -t 'bench/%i' -I 100 -q 1
  tern bench pub -c 20 --rate 5000 -s 64 --duration 30s --sub
  tern bench pub -c 5 -L 10000 -I 0 -q 2 --json | jq .publish

Flags:
`,
	"sub": `Usage: tern bench sub [flags]

Connect -c clients, one every -i, each subscribed to its topic filter (-t,
with %i its number, %c its client ID, %u the user name), and count the
messages received until -L messages in all or --duration. The latency of
messages from tern bench pub (whose payload starts with the send time) is
measured; other messages are counted as unstamped. Start it before the
bench pub, with the same -c and -t.

Examples:
  tern bench sub -c 10 -t 'bench/%i' -q 1 --duration 1m
  tern bench sub -c 100 -t 'bench/#' -L 100000

Flags:
`,
	"conn": `Usage: tern bench conn [flags]

Connect -c clients, one every -i (or --conn-rate a second), hold them
connected for --hold, then disconnect them, and report the connection
times and the failures by cause.

Examples:
  tern bench conn -c 1000 -i 5 --hold 10s
  tern bench conn -c 100 -S -p 8883 --cafile ca.pem -u bench -P "$PW"

Flags:
`,
}

const benchUsageTail = `
-i and -I take milliseconds, as emqtt-bench's (-I 100), or a duration
(-I 1.5s). Client IDs are --prefix and the client's number (default: tern-,
the command, a random word and the number, as tern-pub-3fa2-1).

A run is bounded: at most 10000 clients, and --duration 10s unless -L is
given (then 10m at most; conn: the time to connect them all, --hold and
30s). Ctrl-C ends it early and still prints the report.

--json writes the report as one JSON object on standard output (the text
report then goes to standard error, unless --quiet). Durations are in
milliseconds. Errors are counted by cause, with the first one's message.

The broker: -h and -p, or --url (mqtt://, mqtts://, ws://, wss://,
unix://); -S, --cafile, --cert and the other TLS flags use TLS. The options
file and TERN_* variables of tern pub give the connection flags (-h, -p,
--url, -u, -P, -V, -k and TLS); their -c, -i, -I and -L, which mean other
things here, are skipped.

Exit status: 0 when the run ends (failures are in the report); 1 when no
client could connect (or, for sub, subscribe); 2 for bad flags; 130 on
Ctrl-C.
`

// benchConnFlags defines the flags that say where and how to connect:
// the ones the options file and the environment may give, with the
// meaning they have for tern pub.
func benchConnFlags(o *benchOptions, f *flagSet) {
	f.stringVar(&o.host, "h,host", "localhost", "the broker's `host` name or address")
	f.intVar(&o.port, "p,port", 0, "the broker's `port` (default 1883, or 8883 with TLS)")
	f.stringVar(&o.url, "url", "", "the broker as a `URL`: mqtt(s)://[user[:password]@]host[:port], ws://, wss://, unix://")
	f.stringVar(&o.unix, "unix", "", "connect to the unix socket at this `path` instead of -h")
	f.stringVar(&o.username, "u,username", "", "the `user` name to connect with")
	f.stringVar(&o.password, "P,pw,password", "", "the `password` to connect with (never printed)")
	f.stringVar(&o.protocol, "V,protocol-version", "5", "the MQTT `version`: 5, 311 or 31 (emqtt-bench's 5, 4, 3 too)")
	f.intVar(&o.keepAlive, "k,keepalive", 60, "send PINGREQ after this many `seconds` of silence (0: never)")
	o.conn.define(f)
	f.boolVar(&o.osCerts, "tls-use-os-certs", "use TLS, verifying the broker with the system's CA certificates")
	f.stringVar(&o.optionsFile, "options-file", "", "read default connection flags from this `file` (default $XDG_CONFIG_HOME/tern/config)")
}

// benchFlags defines the flags of tern bench kind into o.
func benchFlags(o *benchOptions, kind string) *flagSet {
	f := newFlagSet("bench " + kind)
	f.intVar(&o.clients, "c,count", 10, "the number of `clients` (at most 10000)")
	f.intVar(&o.startNumber, "n,start-number", 0, "number the clients from `N`+1 (for %i and the client IDs)")
	f.stringVar(&o.interval, "i,interval", "10", "wait this long between connections: `ms`, or a duration as 1s")
	f.stringVar(&o.connRate, "conn-rate", "", "connect `N` clients a second (instead of -i)")
	f.stringVar(&o.prefix, "prefix", "", "the client IDs' `prefix`, followed by the client's number")
	if kind == "pub" || kind == "sub" {
		f.stringVar(&o.topic, "t,topic", "bench/%i", "the topic `template`: %i the client's number, %c its client ID, %u the user name")
		f.intVar(&o.qos, "q,qos", 0, "the `QoS` of the "+map[string]string{"pub": "publishes", "sub": "subscriptions"}[kind])
		f.intVar(&o.limit, "L,limit", 0, map[string]string{
			"pub": "end after publishing `N` messages in all clients",
			"sub": "end after receiving `N` messages in all clients",
		}[kind])
	}
	if kind == "pub" {
		f.intVar(&o.size, "s,size", 256, "the payload's size in `bytes` (12 at least: the send time)")
		f.stringVar(&o.msgInterval, "I,interval-of-msg", "1000", "each client publishes every `ms` (or a duration; 0: as fast as acknowledgements come)")
		f.stringVar(&o.rate, "rate", "", "publish `N` messages a second in all clients (instead of -I)")
		f.boolVar(&o.retain, "r,retain", "publish retained messages")
		f.boolVar(&o.selfSub, "sub", "connect a subscriber to each publisher's topic first, and measure publish → receive latency")
	}
	if kind == "conn" {
		f.durationVar(&o.hold, "hold", 0, "keep the clients connected this `time` once all have connected")
	}
	durationHelp := "end the run after this `time` (default 10s; with -L, 10m)"
	if kind == "conn" {
		durationHelp = "end the run after this `time` (default: -c × -i, --hold and 30s)"
	}
	f.durationVar(&o.duration, "duration", 0, durationHelp)
	f.boolVar(&o.jsonOut, "json", "write the report as one JSON object")
	f.boolVar(&o.quiet, "quiet", "print no progress line (and, with --json, no text report)")
	f.boolVar(&o.ssl, "S,ssl", "connect with TLS (mqtts://, port 8883)")
	benchConnFlags(o, f)
	return f
}

// runBench is tern bench.
func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, benchUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		io.WriteString(stdout, benchUsage)
		return exitOK
	case "pub", "sub", "conn":
	default:
		fmt.Fprintf(stderr, "tern bench: unknown kind %q: give pub, sub or conn, as \"tern bench pub -c 10\"\n", args[0])
		return exitUsage
	}
	o, code, ok := parseBench(args[0], args[1:], os.Getenv, stdout, stderr)
	if !ok {
		return code
	}
	return runBenchKind(ctx, o, stdout, stderr)
}

func printBenchUsage(w io.Writer, kind string) {
	io.WriteString(w, benchHelp[kind])
	benchFlags(new(benchOptions), kind).print(w)
	io.WriteString(w, benchUsageTail)
}

// parseBench parses and checks the flags of tern bench kind: the options
// file and the environment for the connection flags, then the command
// line for all.
func parseBench(kind string, args []string, getenv func(string) string, stdout, stderr io.Writer) (*benchOptions, int, bool) {
	o := &benchOptions{kind: kind}
	fail := func(err error) (*benchOptions, int, bool) { return nil, usageError(stderr, "bench "+kind, err), false }
	all := newLayered(benchFlags(o, kind))
	if err := all.checkArgs(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printBenchUsage(stdout, kind)
			return nil, exitOK, false
		}
		return fail(err)
	}
	// The file and the environment, through the connection flags alone.
	connOnly := newFlagSet("bench " + kind)
	benchConnFlags(o, connOnly)
	lower := newLayered(connOnly)
	path, explicit := optionsFile(args, getenv)
	skip := func(name string) bool { return otherCommandHas(name) || all.fs.Lookup(name) != nil }
	if err := lower.parseFile(path, explicit, skip); err != nil {
		return fail(err)
	}
	if err := lower.parseEnv(getenv); err != nil {
		return fail(err)
	}
	if err := all.parseLayer(layerArgs, args); err != nil {
		return fail(err)
	}
	set := func(name string) int { return max(lower.set(name), all.set(name)) }
	if err := o.resolveBench(set, getenv); err != nil {
		return fail(err)
	}
	return o, 0, true
}

// resolveBench checks the flags and works out the broker, the version,
// the pacing and the limits. set tells which layer set a flag.
func (o *benchOptions) resolveBench(set func(string) int, getenv func(string) string) error {
	if err := o.resolveBenchBroker(set); err != nil {
		return err
	}
	v, err := parseBenchVersion(o.protocol)
	if err != nil {
		return err
	}
	o.version = v
	switch {
	case o.clients < 1 || o.clients > benchMaxClients:
		return fmt.Errorf("-c %d: give 1 to %d clients (run several tern bench for more)", o.clients, benchMaxClients)
	case o.startNumber < 0:
		return fmt.Errorf("-n %d: give a number from 0", o.startNumber)
	case o.keepAlive < 0 || o.keepAlive > 65535:
		return fmt.Errorf("-k %d: give a number of seconds from 0 (off) to 65535", o.keepAlive)
	case o.qos < 0 || o.qos > 2:
		return fmt.Errorf("-q %d: the QoS is 0, 1 or 2", o.qos)
	case o.limit < 0:
		return fmt.Errorf("-L %d: give a number of messages (0: no limit)", o.limit)
	case o.duration < 0:
		return fmt.Errorf("--duration %v: give a positive duration", o.duration)
	case o.hold < 0:
		return fmt.Errorf("--hold %v: give a positive duration", o.hold)
	case o.kind == "pub" && o.size < stampSize:
		return fmt.Errorf("-s %d: a payload carries its %d-byte send time: give %d or more", o.size, stampSize, stampSize)
	case o.kind == "pub" && o.size > 256<<20:
		return fmt.Errorf("-s %d: MQTT payloads are at most 256 MiB", o.size)
	}
	if o.connEvery, err = parseInterval("-i", o.interval); err != nil {
		return err
	}
	if o.connRate != "" {
		if set("i") == layerArgs {
			return errors.New("-i and --conn-rate both set the connection rate: give one")
		}
		r, err := parseRate("--conn-rate", o.connRate)
		if err != nil {
			return err
		}
		o.connEvery = time.Duration(float64(time.Second) / r)
	}
	if o.kind == "pub" {
		if o.msgEvery, err = parseInterval("-I", o.msgInterval); err != nil {
			return err
		}
		if o.rate != "" {
			if set("I") == layerArgs {
				return errors.New("-I and --rate both set the publishing rate: give one")
			}
			r, err := parseRate("--rate", o.rate)
			if err != nil {
				return err
			}
			o.msgEvery = time.Duration(float64(o.clients) * float64(time.Second) / r)
		}
	}
	if o.kind != "conn" {
		if o.tmpl, err = parseTemplate("-t", o.topic); err != nil {
			return err
		}
		example := o.tmpl.expand(o.startNumber+1, "id", o.username)
		check, what := topic.CheckName, "a topic to publish on has no wildcards"
		if o.kind == "sub" {
			check, what = topic.CheckFilter, "a topic filter"
		}
		if err := check(example); err != nil {
			return fmt.Errorf("-t %q gives %q: %v (%s)", o.topic, example, err, what)
		}
	}
	o.runFor = o.duration
	if o.runFor == 0 {
		switch {
		case o.kind == "conn":
			o.runFor = time.Duration(o.clients)*o.connEvery + o.hold + 30*time.Second
		case o.limit > 0:
			o.runFor = benchLimitTime
		default:
			o.runFor = benchDefaultTime
		}
	}
	o.idPrefix = o.prefix
	if o.idPrefix == "" {
		var b [2]byte
		rand.Read(b[:])
		o.idPrefix = "tern-" + o.kind + "-" + hex.EncodeToString(b[:]) + "-"
	}
	return nil
}

// resolveBenchBroker works out o.broker from --url, --unix or -h and -p:
// those set in the highest layer win; in the same layer they conflict.
func (o *benchOptions) resolveBenchBroker(set func(string) int) error {
	parse := func(s string) (*url.URL, error) { return parseBrokerURL("--url", s) }
	u, err := pickBroker(set, "--url", parse, brokerFlags{url: o.url, unix: o.unix, host: o.host, port: o.port,
		tls: o.conn.anyTLS() || o.osCerts || o.ssl}, &o.username, &o.password)
	o.broker = u
	return err
}

// parseBenchVersion parses -V: tern's names, and emqtt-bench's 3 (3.1)
// and 4 (3.1.1).
func parseBenchVersion(s string) (packet.Version, error) {
	switch s {
	case "3":
		return packet.V31, nil
	case "4":
		return packet.V311, nil
	}
	v, err := parseVersion(s)
	if err != nil {
		return 0, fmt.Errorf("-V %q: give 5, 311 or 31 (emqtt-bench's 5, 4, 3; mqttv5, mqttv311, mqttv31)", s)
	}
	return v, nil
}

// parseInterval parses -i and -I: milliseconds, as emqtt-bench's, whole
// or decimal ("10", "0.5"), or a duration ("1.5s").
func parseInterval(flag, s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1e9 || math.IsNaN(f) {
			return 0, fmt.Errorf("%s %q is out of range: give milliseconds from 0", flag, s)
		}
		return time.Duration(f * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: give milliseconds, as 10, or a duration, as 1.5s", flag, s)
	}
	return d, nil
}

// parseRate parses a number of events a second, above zero.
func parseRate(flag, s string) (float64, error) {
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fmt.Errorf("%s %q: give a number a second, above 0", flag, s)
	}
	return r, nil
}
