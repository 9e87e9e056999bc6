package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// rrOptions are the flags of tern rr.
type rrOptions struct {
	clientOptions
	out           outputOptions
	topic         string
	responseTopic string
	message       string
	file          string
	stdinFile     bool
	null          bool
	timeout       string

	mode string        // the request's source: "m", "f", "s" or "n"
	wait time.Duration // -W, parsed
}

const rrUsageHead = `Usage: tern rr -t TOPIC -e RESPONSE-TOPIC {-m MESSAGE | -f FILE | -s | -n} [flags]

Request and response, as mosquitto_rr does (MQTT 5.0): subscribe to the
response topic, publish the request on the topic with a Response Topic and
Correlation Data, print the first response that carries the same
Correlation Data (or none), and exit.

Examples:
  tern rr -t svc/time -e replies/me -m now                  # print the answer
  tern rr -t svc/echo -e replies/me -m hi -W 5 || echo "no answer"
  tern rr -t svc/echo -e replies/me -m hi -v                # topic and payload
  tern rr -t svc/echo -e replies/me -m hi --json            # the answer as JSON
  tern rr -L mqtts://alice@broker.local/svc/echo -e replies/alice -P "$PW" -m hi
  tern rr -t svc/echo -m hi -D publish correlation-data req-42

Flags:
`

const rrUsageTail = `
Without -e the response topic is tern/rr/ and a random name. Without -D
publish correlation-data the Correlation Data is random. -F, -v, -N and
--json print the response as tern sub prints messages (see "tern sub
--help").

` + connUsageTail + `
Exit status: 0 when a response is printed; 27 when -W expires first; the
CONNACK code when the broker refuses the connection (such as 134 bad user
name or password, 135 not authorized); 1 for other failures; 2 for bad
flags; 130 on Ctrl-C.
`

// rrFlags defines the flags of tern rr into o.
func rrFlags(o *rrOptions) *flagSet {
	f := newFlagSet("rr")
	f.stringVar(&o.topic, "t,topic", "", "the `topic` to publish the request on")
	f.stringVar(&o.responseTopic, "e,response-topic", "", "the `topic` to wait for the response on (default: tern/rr/ and a random name)")
	f.stringVar(&o.message, "m,message", "", "the request's `message`")
	f.stringVar(&o.file, "f,file", "", "send the content of this `file` as the request")
	f.boolVar(&o.stdinFile, "s,stdin-file", "send all of standard input as the request")
	f.boolVar(&o.null, "n,null-message", "send an empty request")
	f.intVar(&o.qos, "q,qos", 0, "the `QoS` of the request and of the response's subscription")
	f.stringVar(&o.timeout, "W,timeout", "", "exit with code 27 if no response comes within this many `seconds` (2.5 and 500ms too)")
	o.out.define(f)
	o.clientOptions.define(f, "connect, publish, subscribe, unsubscribe, disconnect, will")
	return f
}

func printRRUsage(w io.Writer) {
	var o rrOptions
	io.WriteString(w, rrUsageHead)
	rrFlags(&o).print(w)
	io.WriteString(w, rrUsageTail)
}

// parseRR parses and checks the flags of tern rr.
func parseRR(args []string, getenv func(string) string, stdout, stderr io.Writer) (*rrOptions, int, bool) {
	o := new(rrOptions)
	l := newLayered(rrFlags(o))
	fail := func(err error) (*rrOptions, int, bool) { return nil, usageError(stderr, "rr", err), false }
	if code, ok := parseLayers("rr", l, printRRUsage, args, getenv, stdout, stderr); !ok {
		return nil, code, false
	}
	if err := o.resolve(l, getenv, "connect", "publish", "subscribe", "unsubscribe", "disconnect", "will"); err != nil {
		return fail(err)
	}
	if o.version != packet.V5 {
		return fail(errors.New("rr uses the Response Topic and Correlation Data of MQTT 5.0: drop -V"))
	}
	if o.urlTopic != "" && (o.topic == "" || l.set("t") < l.set("L")) {
		o.topic = o.urlTopic
	}
	mode, err := messageSource(l, "m", "f", "s", "n")
	if err != nil {
		return fail(err)
	}
	o.mode = mode
	if o.wait, err = parseWait(o.timeout); err != nil {
		return fail(err)
	}
	if o.topic == "" {
		return fail(errors.New("give the topic to send the request on with -t (or in the path of -L)"))
	}
	if err := topic.CheckName(o.topic); err != nil {
		return fail(fmt.Errorf("-t %q: %v (a topic to publish on has no wildcards)", o.topic, err))
	}
	if o.responseTopic == "" {
		o.responseTopic = "tern/rr/" + randomHex(8)
	}
	if err := topic.CheckName(o.responseTopic); err != nil {
		return fail(fmt.Errorf("-e %q: %v (the response topic is a topic name, without wildcards)", o.responseTopic, err))
	}
	if o.p.publish.ResponseTopic != "" {
		return fail(errors.New("give the response topic with -e, not -D publish response-topic"))
	}
	if _, err := newPrinter(o.out, io.Discard, nil); err != nil {
		return fail(err)
	}
	return o, 0, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runRR is tern rr.
func runRR(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parseRR(args, os.Getenv, stdout, stderr)
	if !ok {
		return code
	}
	s := &session{cmd: "rr", o: &o.clientOptions, stderr: stderr}
	payload, code, ok := s.readPayload(ctx, o.mode, o.message, o.file, stdin)
	if !ok {
		return code
	}
	req := &mqtt.Message{Topic: o.topic, Payload: payload, QoS: mqtt.QoS(o.qos), Properties: o.p.publish}
	req.Properties.ResponseTopic = o.responseTopic
	if req.Properties.CorrelationData == nil {
		req.Properties.CorrelationData = []byte(randomHex(16))
	}
	p, _ := newPrinter(o.out, stdout, func(msg string) { s.errorf("%s", msg) })

	if code, ok := s.connect(ctx, os.Getenv, false); !ok {
		return code
	}
	defer s.disconnect(ctx)
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if o.wait > 0 {
		wctx, cancel = context.WithTimeout(ctx, o.wait)
	}
	defer cancel()
	end := func(err error) int {
		switch {
		case ctx.Err() != nil:
			return interruptedCode(ctx)
		case wctx.Err() != nil:
			s.errorf("no response on %s within %v (-W)", o.responseTopic, o.wait)
			return exitTimeout
		}
		s.errorf("%v", err)
		return exitFailure
	}

	responses := make(chan *mqtt.Message, 1)
	handler := func(m *mqtt.Message) {
		cd := m.Properties.CorrelationData
		if cd != nil && !bytes.Equal(cd, req.Properties.CorrelationData) {
			s.debugf("ignored a response with other correlation data")
			return
		}
		select {
		case responses <- m:
		default: // a response came already
		}
	}
	sub := packet.Subscribe{Subscriptions: []mqtt.Subscription{{Filter: o.responseTopic, QoS: mqtt.QoS(o.qos)}}, Properties: o.p.subscribe}
	if _, err := s.client.SubscribeWith(wctx, handler, sub); err != nil {
		return end(fmt.Errorf("subscribe to the response topic %s: %v", o.responseTopic, err))
	}
	if err := s.client.Publish(wctx, req); err != nil {
		return end(publishError(err))
	}
	select {
	case m := <-responses:
		if err := p.print(m); err != nil {
			s.errorf("cannot write the response: %v", err)
			return exitFailure
		}
		return exitOK
	case <-wctx.Done():
		return end(wctx.Err())
	}
}
