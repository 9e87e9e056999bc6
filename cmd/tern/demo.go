package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
	"golang.org/x/term"
)

// demoOptions are the flags of tern demo.
type demoOptions struct {
	broker        string
	listen        string
	topic         string
	on, off       string
	qos           int
	willTopic     string
	willMessage   string
	onlineMessage string
	noWill        bool
	clientID      string
	idPrefix      string
	username      string
	password      string
	protocol      string
	pressEvery    time.Duration
	count         int
	duration      time.Duration
	retries       int
	retryInterval time.Duration
	verbose       bool
	conn          connFlags

	// set by check
	brokerURL string      // the broker's URL without user information
	base      mqtt.Config // TLSConfig and Dialer from the connection flags
	version   packet.Version
}

const demoUsageHead = `Usage: tern demo [flags]

The seed application (Infineon's MQTT client code example) in a terminal.
A Publisher publishes "TURN ON" or "TURN OFF" on a topic each time the
button is pressed: the opposite of the LED's state, so that each press
toggles it. A Subscriber on the same topic drives the LED drawn at the
bottom and prints every message it receives. One client does both, with a
Last Will, a unique client ID (a prefix and a time stamp), and reconnection
at a fixed interval when the connection drops.

With no --broker the demo starts an in-process broker on a free port of
127.0.0.1 and prints its URL. Demos given that URL share the topic: they
toggle each other's LED.

Keys: Enter or space presses the button, q quits, Ctrl-C interrupts. When
standard input is not a terminal, each line (or space) read is a press.

Examples:
  tern demo                                    # its own broker; press Enter or space
  tern demo --broker mqtt://127.0.0.1:40123    # join another demo's broker
  tern demo --press-every 2s                   # the button presses itself
  tern demo --press-every 200ms --count 4      # four presses, then exit
  tern demo --listen 127.0.0.1:1883            # its own broker, on a chosen port
  tern demo --broker mqtt://broker.local:1883 -t home/led -q 2 --on ON --off OFF
  tern demo --broker mqtt://broker.local --retries 0 --retry-interval 5s
  tern demo --broker mqtts://broker.local --cafile ca.pem --cert dev.pem --key dev.key
  tern demo --broker wss://broker.local/mqtt --proxy http://proxy.local:3128

Flags:
`

const demoUsageTail = `
--broker takes mqtt://host[:port] (or tcp://, port 1883 by default),
mqtts://host[:port] (TLS, 8883; verified with the system's roots or
--cafile), ws://host[:port]/path and wss:// (WebSocket, path /mqtt by
default), or unix:///path/to/socket. User and password may be given in the
URL or with -u and -P; the password is never printed. The *_PROXY
environment variables apply unless --proxy or --no-proxy-env says
otherwise.

Exit status: 0 when done (--count, --duration, q); 1 when the demo fails
(for example no connection after --retries attempts); 2 for bad flags;
130 on Ctrl-C.
`

// demoFlags defines the flags of tern demo into o.
func demoFlags(o *demoOptions) *flagSet {
	f := newFlagSet("demo")
	f.stringVar(&o.broker, "broker", "", "the `URL` of the broker, mqtt://host:port (default: start an in-process broker)")
	f.stringVar(&o.listen, "listen", "127.0.0.1:0", "the `address` of the in-process broker; port 0 picks a free one")
	f.stringVar(&o.topic, "t,topic", "tern/demo/ledstatus", "the `topic` the button publishes on and the LED subscribes to")
	f.stringVar(&o.on, "on", "TURN ON", "the `message` that turns the LED on")
	f.stringVar(&o.off, "off", "TURN OFF", "the `message` that turns the LED off")
	f.intVar(&o.qos, "q,qos", 1, "the `QoS` of publishing and subscribing: 0, 1 or 2")
	f.stringVar(&o.willTopic, "will-topic", "", "the `topic` of the Last Will (default: the topic + \"/status\")")
	f.stringVar(&o.willMessage, "will-message", "offline", "the Last Will's `message`, published by the broker if the demo vanishes")
	f.stringVar(&o.onlineMessage, "online-message", "online", "the `message` published on the will topic on each connection (\"\": none)")
	f.boolVar(&o.noWill, "no-will", "connect without a Last Will")
	f.stringVar(&o.clientID, "i,client-id", "", "the client `ID` (default: --id-prefix and a time stamp)")
	f.stringVar(&o.idPrefix, "id-prefix", "tern-demo-", "the `prefix` of the generated client ID")
	f.stringVar(&o.username, "u,username", "", "the `user` name to connect with")
	f.stringVar(&o.password, "P,password", "", "the `password` to connect with (never printed)")
	f.stringVar(&o.protocol, "V,protocol", "5", "the MQTT `version`: 5 or 311 (3.1.1)")
	f.durationVar(&o.pressEvery, "press-every", 0, "press the button every `interval`, as 2s or 500ms")
	f.intVar(&o.count, "count", 0, "stop after `N` presses (0: no limit)")
	f.durationVar(&o.duration, "duration", 0, "stop after this `time`, as 30s or 5m (0: no limit)")
	f.intVar(&o.retries, "retries", 5, "give up after `N` failed connection attempts in a row (0: never)")
	f.durationVar(&o.retryInterval, "retry-interval", 2*time.Second, "the `time` between connection attempts")
	f.boolVar(&o.verbose, "v,verbose", "print more: acknowledgements, the connection's settings, message flags")
	o.conn.define(f)
	return f
}

func printDemoUsage(w io.Writer) {
	var o demoOptions
	io.WriteString(w, demoUsageHead)
	demoFlags(&o).print(w)
	io.WriteString(w, demoUsageTail)
}

// parseDemo parses and checks the flags. If ok is false, the demo must
// exit with code: the help was asked for, or the flags are wrong.
func parseDemo(args []string, stdout, stderr io.Writer) (o demoOptions, code int, ok bool) {
	f := demoFlags(&o)
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printDemoUsage(stdout)
			return o, exitOK, false
		}
		fmt.Fprintf(stderr, "tern demo: %v\nRun \"tern demo --help\" for the flags and examples.\n", err)
		return o, exitUsage, false
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "tern demo: %v\nRun \"tern demo --help\" for the flags and examples.\n", err)
		return o, exitUsage, false
	}
	return o, 0, true
}

// check validates the flags and fills in what follows from them.
func (o *demoOptions) check() error {
	if o.broker != "" {
		if o.listen != "127.0.0.1:0" {
			return errors.New("--listen is the address of the in-process broker, which --broker replaces: give one or the other")
		}
		u, err := parseBrokerURL("--broker", o.broker)
		if err != nil {
			return err
		}
		if u.User != nil {
			if o.username == "" {
				o.username = u.User.Username()
			}
			if p, set := u.User.Password(); set && o.password == "" {
				o.password = p
			}
			u.User = nil
		}
		o.brokerURL = u.String()
		if err := o.conn.apply(&o.base, u, os.Getenv); err != nil {
			return err
		}
	} else if err := o.conn.apply(&o.base, &url.URL{Scheme: "mqtt"}, os.Getenv); err != nil {
		return fmt.Errorf("%v (the in-process broker speaks plain MQTT: give --broker for TLS)", err)
	}
	if err := topic.CheckName(o.topic); err != nil {
		return fmt.Errorf("--topic %q: %v (a topic to publish on has no wildcards)", o.topic, err)
	}
	if o.willTopic == "" {
		o.willTopic = o.topic + "/status"
	}
	if err := topic.CheckName(o.willTopic); err != nil {
		return fmt.Errorf("--will-topic %q: %v", o.willTopic, err)
	}
	if o.on == o.off {
		return fmt.Errorf("--on and --off are both %q: the LED could not tell them apart", o.on)
	}
	if o.qos < 0 || o.qos > 2 {
		return fmt.Errorf("-q %d: the QoS is 0, 1 or 2", o.qos)
	}
	switch strings.ToLower(o.protocol) {
	case "5", "5.0", "mqttv5":
		o.version = packet.V5
	case "311", "3.1.1", "mqttv311":
		o.version = packet.V311
	default:
		return fmt.Errorf("-V %q: the demo speaks MQTT 5 or 311 (3.1.1)", o.protocol)
	}
	const least = 10 * time.Millisecond
	switch {
	case o.pressEvery < 0 || o.pressEvery > 0 && o.pressEvery < least:
		return fmt.Errorf("--press-every %v: give %v or more (0 turns it off)", o.pressEvery, least)
	case o.count < 0:
		return fmt.Errorf("--count %d: give a number of presses, 0 for no limit", o.count)
	case o.duration < 0:
		return fmt.Errorf("--duration %v: give a time, 0 for no limit", o.duration)
	case o.retries < 0:
		return fmt.Errorf("--retries %d: give a number of attempts, 0 to retry forever", o.retries)
	case o.retryInterval < least:
		return fmt.Errorf("--retry-interval %v: give %v or more", o.retryInterval, least)
	}
	return nil
}

// runDemo is tern demo.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parseDemo(args, stdout, stderr)
	if !ok {
		return code
	}
	d := &demo{o: o, events: make(chan struct{}, 1), arrived: make(chan struct{}, 1)}
	return d.run(ctx, stdin, stdout, stderr)
}

// gaveUpError ends a demo that could not connect in --retries attempts.
type gaveUpError struct {
	attempts int
	last     error
	broker   string
}

func (e *gaveUpError) Error() string {
	return fmt.Sprintf("no connection to %s after %d attempts in a row; the last: %v%s\n"+
		"Is the broker running? Try --retries 0 to retry forever, or run \"tern demo\" without --broker to start one.",
		e.broker, e.attempts, e.last, hint(e.last))
}

// demo is one run of tern demo.
type demo struct {
	o      demoOptions
	broker string // the broker's URL, without user information
	scr    *screen
	client atomic.Pointer[mqtt.Client]
	// stop ends the demo with a cause: errQuit, errInterrupt, *gaveUpError.
	stop context.CancelCauseFunc

	mu      sync.Mutex // guards ledOn, ledMsgs, and open and stopped below
	ledOn   bool
	ledMsgs int           // messages received on the LED's topic
	arrived chan struct{} // a message arrived on the LED's topic (capacity 1)

	subscribed atomic.Bool    // the first Subscribe is done: publish the online message on each connection
	failures   int            // connection attempts failed in a row; owned by the event callback
	reporters  sync.WaitGroup // the goroutines reporting the outcome of each press

	// The event callback's progress, for the end to wait for the last
	// events: the connections still open as the events tell it (each
	// EventConnected has its EventDisconnected), and whether EventStopped
	// came. Guarded by mu; events notified (capacity 1) on each change.
	open    int
	stopped bool
	events  chan struct{}
}

// run runs the demo, with the terminal in raw mode when stdin and stdout
// are both terminals, and returns the exit code.
func (d *demo) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	tty := isTerminal(stdout)
	d.scr = newScreen(stdout, tty, tty && colorWanted())
	restore := func() {}
	raw := false
	if f, ok := stdin.(*os.File); ok && tty && isTerminal(f) {
		fd := int(f.Fd())
		if old, err := term.MakeRaw(fd); err == nil {
			raw = true
			var once sync.Once
			restore = func() { once.Do(func() { term.Restore(fd, old) }) }
			defer restore() // on a panic too
		}
	}
	code, err := d.main(ctx, stdin, raw)
	d.scr.close()
	restore() // before the error, so that it shows in the terminal's usual mode
	if err != nil {
		fmt.Fprintf(stderr, "tern demo: %v\n", err)
	}
	return code
}

// main runs the demo and returns the exit code and the error to report.
func (d *demo) main(ctx context.Context, stdin io.Reader, raw bool) (int, error) {
	o := &d.o
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	d.stop = stop

	broker := o.brokerURL
	d.broker = broker
	if broker == "" {
		b, err := startBroker(o.listen)
		if err != nil {
			return exitFailure, fmt.Errorf("%v\nChoose another address with --listen, or a broker with --broker.", err)
		}
		defer func() {
			b.Stop()
			d.scr.printf("in-process broker stopped")
		}()
		broker = b.URL
		d.broker = b.URL
		d.scr.printf("started an in-process MQTT broker on %s", b.URL)
		d.scr.printf("more demos on it toggle the same LED: tern demo --broker %s", b.URL)
	}

	presses := make(chan struct{}, 64)
	go readKeys(stdin, raw, presses, stop)

	client, err := mqtt.Dial(sctx, d.config(broker))
	if err != nil {
		if sctx.Err() != nil {
			return d.endCode(ctx, sctx)
		}
		return exitFailure, fmt.Errorf("%v%s", err, hint(err))
	}
	d.client.Store(client)
	code, err := d.loop(ctx, sctx, client, presses, raw)

	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := client.Disconnect(dctx); err != nil && !errors.Is(err, mqtt.ErrClosed) {
		d.scr.printf("DISCONNECT not sent: %v", err)
	}
	d.reporters.Wait() // Disconnect has completed every publish
	d.waitEvents(dctx)
	return code, err
}

// loop subscribes, then presses the button on each key, tick of
// --press-every, until --count, --duration, or the end of sctx.
func (d *demo) loop(ctx, sctx context.Context, client *mqtt.Client, presses <-chan struct{}, raw bool) (int, error) {
	o := &d.o
	subs := []mqtt.Subscription{{Filter: o.topic, QoS: mqtt.QoS(o.qos)}}
	if o.willTopic != o.topic && !o.noWill {
		subs = append(subs, mqtt.Subscription{Filter: o.willTopic, QoS: mqtt.QoS(o.qos)})
	}
	subCtx, cancel := context.WithTimeout(sctx, 30*time.Second)
	_, err := client.Subscribe(subCtx, d.handle, subs...)
	cancel()
	if err != nil {
		if sctx.Err() != nil {
			return d.endCode(ctx, sctx)
		}
		return exitFailure, fmt.Errorf("subscribe to %s: %v", o.topic, err)
	}
	filters := make([]string, len(subs))
	for i, s := range subs {
		filters[i] = s.Filter
	}
	d.scr.printf("subscribed to %s (QoS %d)", strings.Join(filters, " and "), o.qos)
	d.subscribed.Store(true)
	d.publishOnline(client)
	d.mu.Lock()
	on := d.ledOn
	d.mu.Unlock()
	d.scr.printf("%s", d.scr.ledText(on))

	var tick, timeout <-chan time.Time
	if o.pressEvery > 0 {
		t := time.NewTicker(o.pressEvery)
		defer t.Stop()
		tick = t.C
		d.scr.printf("the button presses itself every %v", o.pressEvery)
	}
	if o.duration > 0 {
		t := time.NewTimer(o.duration)
		defer t.Stop()
		timeout = t.C
	}
	switch {
	case raw:
		d.scr.setKeys("Enter/space: press, q: quit")
		d.scr.printf("press Enter or space to toggle the LED, q to quit")
	case o.pressEvery == 0:
		d.scr.printf("each line read from standard input presses the button")
	}

	var pending []*mqtt.Completion
	n := 0
	for o.count == 0 || n < o.count {
		select {
		case <-sctx.Done():
			return d.endCode(ctx, sctx)
		case <-timeout:
			err := d.settle(sctx, pending)
			d.scr.printf("done: %v elapsed, %d presses", o.duration, n)
			return exitOK, err
		case <-tick:
		case <-presses:
		}
		n++
		pending = append(pending, d.press(client, n))
	}
	err = d.settle(sctx, pending)
	d.scr.printf("done: %d presses", n)
	return exitOK, err
}

// settle waits, for a few seconds at most, for the presses' publishes to
// complete and their messages to come back, so that the LED shows the
// last press before the demo ends.
func (d *demo) settle(sctx context.Context, pending []*mqtt.Completion) error {
	wctx, cancel := context.WithTimeout(sctx, 5*time.Second)
	defer cancel()
	published := 0
	for _, c := range pending {
		err := c.Wait(wctx)
		if wctx.Err() != nil {
			return nil
		}
		if err == nil {
			published++
		}
	}
	for {
		d.mu.Lock()
		n := d.ledMsgs // ours and other demos'
		d.mu.Unlock()
		if n >= published {
			return nil
		}
		select {
		case <-d.arrived:
		case <-wctx.Done():
			return nil
		}
	}
}

// endCode is the exit code and error for a demo whose context ended.
func (d *demo) endCode(ctx, sctx context.Context) (int, error) {
	if ctx.Err() != nil {
		d.scr.printf("interrupted")
		return interruptedCode(ctx), nil
	}
	cause := context.Cause(sctx)
	var gu *gaveUpError
	switch {
	case errors.Is(cause, errInterrupt):
		d.scr.printf("interrupted")
		return exitInterrupted, nil
	case errors.Is(cause, errQuit):
		d.scr.printf("quit")
		return exitOK, nil
	case errors.As(cause, &gu):
		return exitFailure, gu
	}
	return exitFailure, cause
}

// press publishes the command opposite to the LED's state, and reports
// the outcome when it comes. It returns the publish's completion.
func (d *demo) press(client *mqtt.Client, n int) *mqtt.Completion {
	o := &d.o
	d.mu.Lock()
	payload := o.on
	if d.ledOn {
		payload = o.off
	}
	d.mu.Unlock()
	d.scr.printf("press %d: publishing %q on %s (QoS %d)", n, payload, o.topic, o.qos)
	c := client.PublishAsync(&mqtt.Message{Topic: o.topic, QoS: mqtt.QoS(o.qos), Payload: []byte(payload)})
	d.reporters.Add(1)
	go func() {
		defer d.reporters.Done()
		<-c.Done() // Disconnect, at the latest, completes it
		err := c.Err()
		switch {
		case err == nil:
			if o.verbose {
				d.scr.printf("press %d: %s", n, [...]string{"sent", "PUBACK received", "PUBCOMP received"}[o.qos])
			}
		case errors.Is(err, mqtt.ErrClosed):
		case errors.Is(err, mqtt.ErrNotConnected) && o.qos == 0:
			d.scr.printf("press %d: not published: not connected (QoS 0 messages do not wait for a connection; -q 1 makes them wait)", n)
		default:
			d.scr.printf("press %d: not published: %v", n, err)
		}
	}()
	return c
}

// handle is the Subscriber: it prints every message and drives the LED.
func (d *demo) handle(m *mqtt.Message) {
	o := &d.o
	line := fmt.Sprintf("received %s  %v  %s", m.Topic, m.QoS, strconv.Quote(string(m.Payload)))
	if o.verbose {
		if m.Retain {
			line += "  retained"
		}
		if m.Dup {
			line += "  duplicate"
		}
		if m.PacketID != 0 {
			line += fmt.Sprintf("  packet ID %d", m.PacketID)
		}
	}
	d.scr.printf("%s", line)
	if m.Topic != o.topic {
		return
	}
	d.mu.Lock()
	known := true
	switch string(m.Payload) {
	case o.on:
		d.ledOn = true
	case o.off:
		d.ledOn = false
	default:
		known = false
	}
	on := d.ledOn
	d.ledMsgs++
	d.mu.Unlock()
	select {
	case d.arrived <- struct{}{}:
	default:
	}
	if !known {
		d.scr.printf("  neither %q nor %q: the LED stays as it is", o.on, o.off)
		return
	}
	d.scr.setLED(on)
	d.scr.printf("%s", d.scr.ledText(on))
}

// config is the client's configuration for the broker's URL.
func (d *demo) config(broker string) mqtt.Config {
	o := &d.o
	cfg := mqtt.Config{
		Broker:         broker,
		TLSConfig:      o.base.TLSConfig,
		Dialer:         o.base.Dialer,
		Version:        o.version,
		ClientID:       o.clientID,
		ClientIDPrefix: o.idPrefix,
		Username:       o.username,
		ConnectTimeout: connectTimeout,
		Reconnect:      true,
		ConnectRetry:   true,
		// A fixed interval, as the seed's MQTT_CONN_RETRY_INTERVAL_MS.
		Backoff: mqtt.Backoff{Min: o.retryInterval, Max: o.retryInterval, Jitter: mqtt.JitterNone},
		OnEvent: d.event,
	}
	if o.password != "" {
		cfg.Password = []byte(o.password)
	}
	if !o.noWill {
		cfg.Will = &mqtt.Message{Topic: o.willTopic, QoS: mqtt.QoS(o.qos), Payload: []byte(o.willMessage)}
	}
	return cfg
}

// connectTimeout bounds each connection attempt: the TCP dial, then the
// wait for CONNACK.
const connectTimeout = 10 * time.Second

// publishOnline publishes the online message on the will topic, if any.
func (d *demo) publishOnline(client *mqtt.Client) {
	o := &d.o
	if o.noWill || o.onlineMessage == "" {
		return
	}
	c := client.PublishAsync(&mqtt.Message{Topic: o.willTopic, QoS: mqtt.QoS(o.qos), Payload: []byte(o.onlineMessage)})
	if o.verbose {
		go func() {
			<-c.Done()
			if err := c.Err(); err != nil && !errors.Is(err, mqtt.ErrClosed) {
				d.scr.printf("online message not published: %v", err)
			}
		}()
	}
}

// event prints the client's lifecycle events, counts failed attempts and
// gives up after --retries of them in a row.
func (d *demo) event(e mqtt.Event) {
	o := &d.o
	defer d.noteEvent(e.Kind)
	switch e.Kind {
	case mqtt.EventConnecting:
		d.scr.setConn("connecting")
		if e.Attempt == 1 {
			d.scr.printf("connecting to %s", d.brokerShown())
		} else {
			d.scr.printf("connecting to %s (attempt %d)", d.brokerShown(), e.Attempt)
		}
	case mqtt.EventConnectFailed:
		d.failures++
		d.scr.printf("attempt %d failed: %v%s", e.Attempt, e.Err, hint(e.Err))
		if o.retries > 0 && d.failures >= o.retries {
			d.stop(&gaveUpError{attempts: d.failures, last: e.Err, broker: d.brokerShown()})
			return
		}
		left := ""
		if o.retries > 0 {
			left = fmt.Sprintf(" (%d more before giving up)", o.retries-d.failures)
		}
		d.scr.printf("next attempt in %v%s", o.retryInterval, left)
	case mqtt.EventConnected:
		d.failures = 0
		n := e.Negotiated
		d.scr.setConn("connected")
		d.scr.printf("connected as %s (MQTT %v, session present: %s)", n.ClientID, n.Version, yesNo(n.SessionPresent))
		if o.verbose {
			d.scr.printf("  keep-alive %v, broker's maximum QoS %d, receive maximum %d, retain available: %s",
				n.KeepAlive, n.MaximumQoS, n.ReceiveMaximum, yesNo(n.RetainAvailable))
		}
		if d.subscribed.Load() {
			if c := d.client.Load(); c != nil {
				d.publishOnline(c)
			}
		}
	case mqtt.EventDisconnected:
		if errors.Is(e.Err, mqtt.ErrClosed) {
			d.scr.setConn("disconnected")
			d.scr.printf("disconnected")
			return
		}
		d.scr.setConn("reconnecting")
		d.scr.printf("connection lost: %v", e.Err)
		d.scr.printf("reconnecting every %v", o.retryInterval)
	}
}

// noteEvent counts an event for waitEvents, and prints "stopped" once
// EventStopped and the last connection's EventDisconnected have both come
// (the client may give them in either order).
func (d *demo) noteEvent(k mqtt.EventKind) {
	d.mu.Lock()
	was := d.stopped && d.open <= 0
	switch k {
	case mqtt.EventConnected:
		d.open++
	case mqtt.EventDisconnected:
		d.open--
	case mqtt.EventStopped:
		d.stopped = true
	}
	now := d.stopped && d.open <= 0
	d.mu.Unlock()
	if now && !was {
		d.scr.printf("stopped")
	}
	select {
	case d.events <- struct{}{}:
	default:
	}
}

// waitEvents waits, after Disconnect, until the event callback has had
// the client's last events, so that they are printed before the demo
// ends: EventStopped, and EventDisconnected for the last connection, which
// may come after EventStopped.
func (d *demo) waitEvents(ctx context.Context) {
	for {
		d.mu.Lock()
		done := d.stopped && d.open <= 0
		d.mu.Unlock()
		if done {
			return
		}
		select {
		case <-d.events:
		case <-ctx.Done():
			d.scr.printf("the client's last events did not come in time")
			return
		}
	}
}

// brokerShown is the broker's URL, to print: without user information.
func (d *demo) brokerShown() string { return d.broker }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// hint says what to try about a connection error, after "; ".
func hint(err error) string {
	var rc *mqtt.ReasonCodeError
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "; is a broker listening there? (\"tern demo\" without --broker starts one)"
	case errors.As(err, &dns):
		return "; check the host name in --broker"
	case errors.As(err, &rc) && (rc.Code == packet.ReasonNotAuthorized || rc.Code == packet.ReasonBadUsernameOrPassword):
		return "; check -u and -P"
	case errors.As(err, &rc) && rc.Code == packet.ReasonUnsupportedProtocolVersion:
		return "; try -V 311"
	case errors.Is(err, mqtt.ErrConnackTimeout):
		return "; is it an MQTT broker?"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "; is the address reachable?"
	}
	return ""
}
