package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// subOptions are the flags of tern sub.
type subOptions struct {
	clientOptions
	out               outputOptions
	topics            listFlag
	filterOut         listFlag
	unsubscribe       listFlag
	count             int
	timeout           string
	noRetained        bool
	exitAfterSub      bool
	retainAsPublished bool
	retainedOnly      bool
	removeRetained    bool

	wait time.Duration // -W, parsed
}

// listFlag is a repeatable string flag (-t, -T, -U).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
func (l *listFlag) reset()             { *l = nil }

const subUsageHead = `Usage: tern sub -t FILTER [-t FILTER...] [flags]

Subscribe to topics and print the messages that arrive, as mosquitto_sub
does, with its flags: -h -p -t -q -v -C -W -R -E -T -U -N -F -c -i ...
The client reconnects by itself when the connection is lost.

Examples:
  tern sub -t 'sensors/#' -v                          # localhost:1883, topic and payload
  tern sub -h broker.local -t a/b -C 1                 # print one message, then exit
  tern sub -t a/b -W 10 || echo "nothing in 10 s"      # exit 27 after 10 seconds
  tern sub -t 'sensors/#' -T sensors/noisy -R          # not that topic, no retained messages
  tern sub -L mqtts://alice@broker.local/a/b -P "$PW" --cafile ca.pem
  tern sub -t 'a/#' -F '%I %t %l bytes: %p'            # time, topic, length, payload
  tern sub -t 'a/#' -F '@H:@M:@S.@N %t %P %C %R'       # time of arrival and MQTT 5.0 properties
  tern sub -t 'a/#' --json | jq .topic                 # one JSON object a line
  tern sub -t a/b -q 1 -c -i logger -E                 # set up a persistent session, exit
  tern sub -i logger -c -U a/b                         # end that subscription

Flags:
`

const subUsageTail = `
-F format (as mosquitto_sub; a newline follows each message unless -N):
  %t topic  %p payload  %q QoS  %r retain flag  %l payload length
  %m packet ID  %x %X payload in hex  %I ISO 8601 time  %U Unix time
  %j %J JSON (%J with the payload as JSON)  %% a percent sign
  MQTT 5.0: %A topic alias  %C content type  %D correlation data
  %E message expiry  %F payload format  %P user properties (name:value)
  %R response topic  %S subscription identifiers
  Width, padding and precision as printf: %10t %-10t %05l %.20t
  @-sequences are strftime's, at the message's arrival: @Y @m @d @H @M
  @S @s (and the others), @N nanoseconds, @@ an at sign. Escapes: \n \t
  \r \v \a \e \0 \\.

--json writes one object a line: "time" (RFC 3339), "topic", "qos",
"retain", each MQTT 5.0 property present (content_type, response_topic,
correlation_data, user_properties, ...), and "payload" as text, or
"payload_base64" when it is not UTF-8.

` + connUsageTail + `
Exit status: 0 when done (-C, -E, -U alone, --retained-only); 27 when -W
expires; the CONNACK code when the broker refuses the connection (3.1.1:
1 to 5, such as 5 not authorized; 5.0: 128 and up, such as 134 bad user
name or password, 135 not authorized); 1 for other failures; 2 for bad
flags; 130 on Ctrl-C.
`

// connUsageTail is the help the commands that connect share.
const connUsageTail = `The broker: -h and -p (mqtt://localhost:1883 by default; mqtts:// with
--cafile, --cert, --tls-use-os-certs or the other TLS flags, or with -p
8883), or -L with a URL: mqtt://, mqtts://[user[:password]@]host[:port]/topic,
ws://host/path, wss://, unix:///path. The password is never printed.
MQTT 5.0 is the default protocol (mosquitto's is 3.1.1): -V 311 for 3.1.1.

Defaults come from an options file, one flag a line as mosquitto's
("-h broker.local", "--cafile /etc/ssl/ca.pem", # comments), at
$XDG_CONFIG_HOME/tern/config (~/.config/tern/config) or --options-file,
and from the environment: TERN_HOST, TERN_PORT, TERN_URL, TERN_USERNAME,
TERN_PASSWORD, TERN_ID, TERN_CAFILE, TERN_CERT, TERN_KEY, TERN_PROXY,
TERN_PROTOCOL_VERSION... (the connection and TLS flags: TERN_ and the long
name in capitals). The command line overrides the environment, which
overrides the file; a repeatable flag (-t, -D) on the command line replaces
the file's. One file serves pub, sub and rr: a flag the command lacks is
skipped.
`

// subFlags defines the flags of tern sub into o.
func subFlags(o *subOptions) *flagSet {
	f := newFlagSet("sub")
	f.add("t,topic", "", func(n string) {
		f.fs.Var(&o.topics, n, "subscribe to this topic `filter` (repeatable; wildcards + and #)")
	})
	f.intVar(&o.qos, "q,qos", 0, "the maximum `QoS` of the subscriptions")
	o.out.define(f)
	f.intVar(&o.count, "C,count", 0, "exit after printing `N` messages")
	f.stringVar(&o.timeout, "W,timeout", "", "exit with code 27 after this many `seconds` (from the connection; 2.5 and 500ms too)")
	f.boolVar(&o.noRetained, "R", "do not print retained (stale) messages")
	f.boolVar(&o.exitAfterSub, "E", "exit once the broker has acknowledged the subscriptions")
	f.add("T,filter-out", "", func(n string) {
		f.fs.Var(&o.filterOut, n, "do not print messages whose topic matches this `filter` (repeatable)")
	})
	f.add("U,unsubscribe", "", func(n string) {
		f.fs.Var(&o.unsubscribe, n, "unsubscribe from this `filter`, after subscribing (repeatable; for sessions kept with -c)")
	})
	f.boolVar(&o.retainAsPublished, "retain-as-published", "keep the retain flag of forwarded messages (MQTT 5.0)")
	f.boolVar(&o.retainedOnly, "retained-only", "print only retained messages; exit at the first that is not")
	f.boolVar(&o.removeRetained, "remove-retained", "clear each retained message received (publish an empty retained message on its topic)")
	o.clientOptions.define(f, "connect, subscribe, unsubscribe, disconnect, will")
	return f
}

func printSubUsage(w io.Writer) {
	var o subOptions
	io.WriteString(w, subUsageHead)
	subFlags(&o).print(w)
	io.WriteString(w, subUsageTail)
}

// parseWait parses -W: whole or decimal seconds, or a Go duration.
func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := parseSeconds(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-W %q: give a number of seconds, as 10 or 2.5, or a duration, as 500ms", s)
	}
	return d, nil
}

// parseSub parses and checks the flags of tern sub.
func parseSub(args []string, getenv func(string) string, stdout, stderr io.Writer) (*subOptions, int, bool) {
	o := new(subOptions)
	l := newLayered(subFlags(o))
	fail := func(err error) (*subOptions, int, bool) { return nil, usageError(stderr, "sub", err), false }
	if code, ok := parseLayers("sub", l, printSubUsage, args, getenv, stdout, stderr); !ok {
		return nil, code, false
	}
	if err := o.resolve(l, getenv, "connect", "subscribe", "unsubscribe", "disconnect", "will"); err != nil {
		return fail(err)
	}
	if o.urlTopic != "" {
		o.topics = append(o.topics, o.urlTopic)
	}
	var err error
	if o.wait, err = parseWait(o.timeout); err != nil {
		return fail(err)
	}
	switch {
	case len(o.topics) == 0 && len(o.unsubscribe) == 0:
		return fail(errors.New("give a topic filter to subscribe to with -t (or in the path of -L)"))
	case o.count < 0:
		return fail(fmt.Errorf("-C %d: give a number of messages", o.count))
	case o.retainAsPublished && o.version != packet.V5:
		return fail(errors.New("--retain-as-published is an MQTT 5.0 option: drop -V"))
	}
	for _, lists := range []struct {
		flag string
		l    []string
	}{{"-t", o.topics}, {"-T", o.filterOut}, {"-U", o.unsubscribe}} {
		for _, f := range lists.l {
			if err := topic.CheckFilter(f); err != nil {
				return fail(fmt.Errorf("%s %q: %v", lists.flag, f, err))
			}
		}
	}
	if _, err := newPrinter(o.out, io.Discard, nil); err != nil {
		return fail(err)
	}
	return o, 0, true
}

// otherCommandHas reports whether a command of tern that connects has a
// flag of this name, for options files shared by pub, sub and rr.
func otherCommandHas(name string) bool {
	for _, f := range []*flagSet{pubFlags(new(pubOptions)), subFlags(new(subOptions)), rrFlags(new(rrOptions))} {
		if f.fs.Lookup(name) != nil {
			return true
		}
	}
	return false
}

// runSub is tern sub.
func runSub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parseSub(args, os.Getenv, stdout, stderr)
	if !ok {
		return code
	}
	s := &subscriber{o: o, done: make(chan int, 1)}
	s.sess = &session{cmd: "sub", o: &o.clientOptions, stderr: stderr}
	s.sess.handler = s.handle // messages of the subscriptions of a kept session (-c)
	s.p, _ = newPrinter(o.out, stdout, func(msg string) { s.sess.errorf("%s", msg) })
	return s.run(ctx)
}

// subscriber is one run of tern sub.
type subscriber struct {
	o    *subOptions
	sess *session
	p    *printer
	done chan int // the exit code, when the handler decides the end (-C, --retained-only, output error)

	printed  int // messages printed; owned by the handler
	mu       sync.Mutex
	removals []*mqtt.Completion // --remove-retained's publishes; guarded by mu
	finished atomic.Bool        // the end was decided: print nothing more
	once     sync.Once
}

func (s *subscriber) run(ctx context.Context) int {
	o := s.o
	if code, ok := s.sess.connect(ctx, os.Getenv, true); !ok {
		return code
	}
	defer s.sess.disconnect(ctx)
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if o.wait > 0 {
		wctx, cancel = context.WithTimeout(ctx, o.wait)
	}
	defer cancel()
	end := func() int {
		if ctx.Err() != nil {
			return interruptedCode(ctx)
		}
		s.sess.errorf("timed out after %v (-W)", o.wait)
		return exitTimeout
	}
	if len(o.topics) > 0 {
		if code, ok := s.subscribe(wctx); !ok {
			if wctx.Err() != nil {
				return end()
			}
			return code
		}
	}
	if len(o.unsubscribe) > 0 {
		_, err := s.sess.client.UnsubscribeWith(wctx, packet.Unsubscribe{Filters: o.unsubscribe, Properties: o.p.unsubscribe})
		switch {
		case wctx.Err() != nil:
			return end()
		case err != nil:
			s.sess.errorf("unsubscribe: %v", err)
			return exitFailure
		}
		s.sess.debugf("unsubscribed from %s", strings.Join(o.unsubscribe, ", "))
	}
	if o.exitAfterSub || len(o.topics) == 0 {
		return exitOK
	}
	select {
	case code := <-s.done:
		s.settle(ctx)
		return code
	case <-wctx.Done():
		s.finished.Store(true)
		s.settle(ctx)
		return end()
	}
}

// subscribe subscribes to the -t filters and reports refusals.
func (s *subscriber) subscribe(ctx context.Context) (int, bool) {
	o := s.o
	subs := make([]mqtt.Subscription, len(o.topics))
	for i, t := range o.topics {
		subs[i] = mqtt.Subscription{Filter: t, QoS: mqtt.QoS(o.qos), RetainAsPublished: o.retainAsPublished}
	}
	res, err := s.sess.client.SubscribeWith(ctx, s.handle, packet.Subscribe{Subscriptions: subs, Properties: o.p.subscribe})
	var se *mqtt.SubscribeError
	switch {
	case errors.As(err, &se):
		refused := 0
		for _, r := range se.Results {
			if !r.OK() {
				refused++
				s.sess.errorf("subscription to %s refused: %v", r.Filter, r.Code.Name(packet.TypeSuback))
			}
		}
		if refused == len(se.Results) {
			s.sess.errorf("every subscription was refused%s", reasonSuffix(se.ReasonString))
			return exitFailure, false
		}
	case err != nil:
		if ctx.Err() == nil {
			s.sess.errorf("subscribe: %v", err)
		}
		return exitFailure, false
	}
	for _, r := range res {
		if r.OK() {
			s.sess.debugf("subscribed to %s (granted QoS %d)", r.Filter, byte(r.Code))
		}
	}
	return 0, true
}

func reasonSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// handle is the subscriptions' handler: it filters and prints messages,
// counts them for -C, and clears retained ones for --remove-retained.
func (s *subscriber) handle(m *mqtt.Message) {
	o := s.o
	if s.finished.Load() {
		return
	}
	for _, f := range o.filterOut {
		if topic.Match(f, m.Topic) {
			return
		}
	}
	if c := s.sess.live.Load(); o.removeRetained && m.Retain && c != nil {
		done := c.PublishAsync(&mqtt.Message{Topic: m.Topic, Retain: true, QoS: mqtt.QoS(o.qos)})
		s.mu.Lock()
		s.removals = append(s.removals, done)
		s.mu.Unlock()
	}
	if o.retainedOnly && !m.Retain {
		s.finish(exitOK)
		return
	}
	if o.noRetained && m.Retain {
		return
	}
	if err := s.p.print(m); err != nil {
		s.sess.errorf("cannot write the message: %v", err)
		s.finish(exitFailure)
		return
	}
	s.printed++
	if o.count > 0 && s.printed >= o.count {
		s.finish(exitOK)
	}
}

// finish ends the run with code; only the first call counts.
func (s *subscriber) finish(code int) {
	s.once.Do(func() {
		s.finished.Store(true)
		s.done <- code
	})
}

// settle gives the handler that ended the run a moment to return, so that
// the acknowledgement of its message (QoS 1, 2) goes out before
// DISCONNECT, and waits a few seconds at most for --remove-retained's
// publishes to complete.
func (s *subscriber) settle(ctx context.Context) {
	deadline := time.Now().Add(time.Second)
	for s.sess.client.Stats().Undelivered > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	removals := s.removals
	s.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, c := range removals {
		if err := c.Wait(wctx); err != nil && wctx.Err() == nil {
			s.sess.errorf("retained message not removed: %v", err)
		}
	}
}
