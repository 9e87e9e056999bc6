package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/topic"
)

// pubOptions are the flags of tern pub.
type pubOptions struct {
	clientOptions
	topic       string
	message     string
	file        string
	lines       bool
	stdinFile   bool
	null        bool
	retain      bool
	repeat      int
	repeatDelay string

	mode  string        // the message's source: "m", "f", "l", "s" or "n"
	delay time.Duration // --repeat-delay, parsed
}

const pubUsageHead = `Usage: tern pub -t TOPIC {-m MESSAGE | -f FILE | -l | -s | -n} [flags]

Publish a message and exit, as mosquitto_pub does, with its flags:
-h -p -t -m -f -l -s -n -q -r -i -u -P -L -D --cafile ...

Examples:
  tern pub -t sensors/temp -m 21.5                     # to localhost:1883
  tern pub -h broker.local -t a/b -m hello -q 1 -r     # QoS 1, retained
  tern pub -L mqtts://alice@broker.local/a/b -P "$PW" --cafile ca.pem -m hi
  tern pub -t logs/app -l < app.log                    # one message per line
  echo '{"on":true}' | tern pub -t a/b -s              # standard input as one message
  tern pub -t fw/image -f firmware.bin -q 2            # a file as one message
  tern pub -t a/b -m hi -D publish content-type text/plain -D publish user-property origin lab
  tern pub -t a/b -n -r                                # clear the retained message
  tern pub -t tick -m . --repeat 10 --repeat-delay 0.5

Flags:
`

const pubUsageTail = `
` + connUsageTail + `
Exit status: 0 when every message is published (and acknowledged, at QoS 1
and 2); the CONNACK code when the broker refuses the connection (3.1.1: 1
to 5, such as 5 not authorized; 5.0: 128 and up, such as 134 bad user name
or password, 135 not authorized); 1 for other failures (a message the
broker refuses, a lost connection); 2 for bad flags; 130 on Ctrl-C.
`

// pubFlags defines the flags of tern pub into o.
func pubFlags(o *pubOptions) *flagSet {
	f := newFlagSet("pub")
	f.stringVar(&o.topic, "t,topic", "", "the `topic` to publish on")
	f.stringVar(&o.message, "m,message", "", "the `message` to publish")
	f.stringVar(&o.file, "f,file", "", "publish the content of this `file` as one message")
	f.boolVar(&o.lines, "l,stdin-line", "publish each line of standard input as a message, until its end")
	f.boolVar(&o.stdinFile, "s,stdin-file", "publish all of standard input as one message")
	f.boolVar(&o.null, "n,null-message", "publish an empty message")
	f.intVar(&o.qos, "q,qos", 0, "the `QoS`: 0, 1 or 2")
	f.boolVar(&o.retain, "r,retain", "have the broker retain the message (an empty one clears it)")
	f.intVar(&o.repeat, "repeat", 1, "publish the message `N` times (-m, -f, -s, -n)")
	f.stringVar(&o.repeatDelay, "repeat-delay", "", "wait this many `seconds` after each repeated message is delivered (0.5 and 500ms too)")
	o.clientOptions.define(f, "connect, publish, disconnect, will")
	return f
}

func printPubUsage(w io.Writer) {
	var o pubOptions
	io.WriteString(w, pubUsageHead)
	pubFlags(&o).print(w)
	io.WriteString(w, pubUsageTail)
}

// parsePub parses and checks the flags of tern pub.
func parsePub(args []string, getenv func(string) string, stdout, stderr io.Writer) (*pubOptions, int, bool) {
	o := new(pubOptions)
	l := newLayered(pubFlags(o))
	fail := func(err error) (*pubOptions, int, bool) { return nil, usageError(stderr, "pub", err), false }
	if code, ok := parseLayers("pub", l, printPubUsage, args, getenv, stdout, stderr); !ok {
		return nil, code, false
	}
	if err := o.resolve(l, getenv, "connect", "publish", "disconnect", "will"); err != nil {
		return fail(err)
	}
	if o.urlTopic != "" && (o.topic == "" || l.set("t") < l.set("L")) {
		o.topic = o.urlTopic
	}
	mode, err := messageSource(l, "m", "f", "l", "s", "n")
	if err != nil {
		return fail(err)
	}
	o.mode = mode
	if o.delay, err = parseSeconds(o.repeatDelay); o.repeatDelay != "" && err != nil {
		return fail(fmt.Errorf("--repeat-delay %q: give a number of seconds, as 1 or 0.5", o.repeatDelay))
	}
	switch {
	case o.topic == "":
		return fail(errors.New("give the topic to publish on with -t (or in the path of -L)"))
	case o.repeat < 1:
		return fail(fmt.Errorf("--repeat %d: give how many times to publish, 1 or more", o.repeat))
	case o.repeat > 1 && mode == "l":
		return fail(errors.New("--repeat repeats one message: it does not go with -l"))
	}
	if err := topic.CheckName(o.topic); err != nil {
		return fail(fmt.Errorf("-t %q: %v (a topic to publish on has no wildcards)", o.topic, err))
	}
	return o, 0, true
}

// messageSource returns which of the flags names gives the message: the
// one set in the highest layer; two in that layer conflict.
func messageSource(l *layered, names ...string) (string, error) {
	best, top, clash := "", 0, false
	for _, n := range names {
		switch layer := l.set(n); {
		case layer > top:
			best, top, clash = n, layer, false
		case layer > 0 && layer == top:
			clash = true
		}
	}
	list := "-" + names[0]
	for _, n := range names[1:] {
		list += ", -" + n
	}
	switch {
	case top == 0:
		return "", fmt.Errorf("give the message with one of %s", list)
	case clash:
		return "", fmt.Errorf("%s each give the message: give only one", list)
	}
	return best, nil
}

// readPayload returns the message of -m (mode "m"), -f ("f") or -s
// ("s"); other modes have none here. If ok is false, the command exits
// with code.
func (s *session) readPayload(ctx context.Context, mode, message, file string, stdin io.Reader) (payload []byte, code int, ok bool) {
	switch mode {
	case "m":
		return []byte(message), 0, true
	case "f":
		b, err := os.ReadFile(file)
		if err != nil {
			s.errorf("-f: %v", err)
			return nil, exitFailure, false
		}
		return b, 0, true
	case "s":
		b, err := readAll(ctx, stdin)
		if ctx.Err() != nil {
			return nil, interruptedCode(ctx), false
		}
		if err != nil {
			s.errorf("reading standard input: %v", err)
			return nil, exitFailure, false
		}
		return b, 0, true
	}
	return nil, 0, true
}

// runPub is tern pub.
func runPub(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := parsePub(args, os.Getenv, stdout, stderr)
	if !ok {
		return code
	}
	s := &session{cmd: "pub", o: &o.clientOptions, stderr: stderr}
	payload, code, ok := s.readPayload(ctx, o.mode, o.message, o.file, stdin)
	if !ok {
		return code
	}
	if code, ok := s.connect(ctx, os.Getenv, false); !ok {
		return code
	}
	defer s.disconnect(ctx)
	var err error
	if o.mode == "l" {
		err = publishLines(ctx, s.client, o, stdin)
	} else {
		err = publishRepeated(ctx, s.client, o, payload)
	}
	switch {
	case ctx.Err() != nil:
		return interruptedCode(ctx)
	case err != nil:
		s.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}

// newMessage returns the message to publish with payload.
func (o *pubOptions) newMessage(payload []byte) *mqtt.Message {
	return &mqtt.Message{Topic: o.topic, Payload: payload, QoS: mqtt.QoS(o.qos), Retain: o.retain, Properties: o.p.publish}
}

// publishRepeated publishes payload --repeat times, waiting for each to be
// delivered, then --repeat-delay.
func publishRepeated(ctx context.Context, c *mqtt.Client, o *pubOptions, payload []byte) error {
	for i := range o.repeat {
		if err := c.Publish(ctx, o.newMessage(payload)); err != nil {
			return publishError(err)
		}
		if i < o.repeat-1 && o.delay > 0 {
			t := time.NewTimer(o.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return nil
}

// publishLines publishes each line of r (without its "\n") as a message,
// as it is read, until the end of r; then waits for them to be delivered.
func publishLines(ctx context.Context, c *mqtt.Client, o *pubOptions, r io.Reader) error {
	lines := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				select {
				case lines <- bytes.TrimSuffix(line, []byte("\n")):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					readErr <- err
				}
				return
			}
		}
	}()
	const window = 1000 // publishes awaiting completion, at most
	var pending []*mqtt.Completion
	wait := func(all bool) error {
		for len(pending) > 0 && (all || len(pending) >= window) {
			if err := pending[0].Wait(ctx); err != nil {
				return publishError(err)
			}
			pending = pending[1:]
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case line, ok := <-lines:
			if !ok {
				if err := wait(true); err != nil {
					return err
				}
				select {
				case err := <-readErr:
					return fmt.Errorf("reading standard input: %v", err)
				default:
					return nil
				}
			}
			pending = append(pending, c.PublishAsync(o.newMessage(line)))
			for len(pending) > 0 && isDone(pending[0]) {
				if err := pending[0].Err(); err != nil {
					return publishError(err)
				}
				pending = pending[1:]
			}
			if err := wait(false); err != nil {
				return err
			}
		}
	}
}

func isDone(c *mqtt.Completion) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// publishError says why a message was not published.
func publishError(err error) error {
	var rc *mqtt.ReasonCodeError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &rc):
		return fmt.Errorf("the broker refused the message: %v", err)
	case errors.Is(err, mqtt.ErrConnectionLost), errors.Is(err, mqtt.ErrNotConnected):
		return fmt.Errorf("the message was not delivered: %v", err)
	}
	return fmt.Errorf("publish: %v", err)
}

// readAll reads r to its end, or until ctx ends.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- result{b, err}
	}()
	select {
	case res := <-ch:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
