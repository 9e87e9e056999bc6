package main

import (
	"errors"
	"io"
	"time"

	"github.com/ternmq/mqtt"
)

// outputOptions are the flags of sub and rr that say how a message is
// printed.
type outputOptions struct {
	verbose bool
	format  string
	json    bool
	pretty  bool
	noEOL   bool
}

func (o *outputOptions) define(f *flagSet) {
	f.boolVar(&o.verbose, "v,verbose", "print the topic, a space, then the payload")
	f.stringVar(&o.format, "F,format", "", "print each message in this `format`: %t topic, %p payload, ... (see below; overrides -v)")
	f.boolVar(&o.json, "json", "print each message as one line of JSON: topic, QoS, retain, time, MQTT 5.0 properties, payload (base64 when binary)")
	f.boolVar(&o.pretty, "pretty", "indent the JSON of -F %j and %J")
	f.boolVar(&o.noEOL, "N", "do not end each message with a newline")
}

// printer writes received messages to standard output as the output
// options say. One goroutine (the client's dispatcher) uses it.
type printer struct {
	o    outputOptions
	f    *format // -F, compiled
	w    io.Writer
	errs func(string)     // reports a message that could not be printed as asked
	now  func() time.Time // the time a message arrived
	buf  []byte
}

// newPrinter checks the output flags and returns their printer.
func newPrinter(o outputOptions, w io.Writer, errs func(string)) (*printer, error) {
	p := &printer{o: o, w: w, errs: errs, now: time.Now}
	if o.json && o.format != "" {
		return nil, errors.New("--json and -F are two output formats: give one")
	}
	if o.format != "" {
		f, err := parseFormat(o.format)
		if err != nil {
			return nil, err
		}
		p.f = f
	}
	return p, nil
}

// print writes m. As mosquitto_sub does, a message with an empty payload
// prints nothing in the default format, and "topic (null)" with -v.
func (p *printer) print(m *mqtt.Message) error {
	t := p.now()
	b := p.buf[:0]
	switch {
	case p.o.json:
		b = appendJSONLine(b, m, t)
	case p.f != nil:
		b = p.f.appendMessage(b, m, t, p.o.pretty, p.errs)
		if !p.o.noEOL {
			b = append(b, '\n')
		}
	case p.o.verbose:
		b = append(b, m.Topic...)
		if len(m.Payload) == 0 {
			b = append(b, " (null)"...)
		} else {
			b = append(b, ' ')
			b = append(b, m.Payload...)
		}
		if !p.o.noEOL {
			b = append(b, '\n')
		}
	case len(m.Payload) == 0:
		return nil
	default:
		b = append(b, m.Payload...)
		if !p.o.noEOL {
			b = append(b, '\n')
		}
	}
	p.buf = b[:0]
	if len(b) == 0 {
		return nil
	}
	_, err := p.w.Write(b)
	return err
}
