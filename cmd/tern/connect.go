package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/transport"
)

// Exit codes of pub, sub and rr beyond those of main.go. A broker's
// refusal exits with the CONNACK code (the 3.x return code, 1 to 5, or the
// 5.0 reason code, 128 and up), as mosquitto_pub does.
const exitTimeout = 27 // -W expired (mosquitto's MOSQ_ERR_TIMEOUT)

// session is one command's connection: the options, the output for
// errors and debugging, and the client once connected.
type session struct {
	cmd    string // "pub", "sub", "rr"
	o      *clientOptions
	stderr io.Writer
	trace  *tracer // nil without -d
	client *mqtt.Client
	// live is client, for the handlers and callbacks of the client's own
	// goroutines, which may run before Dial returns: nil until then.
	live atomic.Pointer[mqtt.Client]
	// handler, if set, receives the messages no subscription of this run
	// asked for: those of a session kept on the broker (-c).
	handler   mqtt.Handler
	reconnect bool // the client reconnects when its connection is lost
	// connects counts the connections made; owned by the event callback.
	connects int
}

// errorf prints an error of the command to standard error, unless --quiet.
func (s *session) errorf(format string, args ...any) {
	if !s.o.quiet {
		fmt.Fprintf(s.stderr, "tern %s: %s\n", s.cmd, fmt.Sprintf(format, args...))
	}
}

// debugf prints a line of -d output.
func (s *session) debugf(format string, args ...any) {
	if s.trace != nil {
		s.trace.printf(format, args...)
	}
}

// connect builds the configuration and dials the broker. On failure it
// reports the error and returns the exit code.
func (s *session) connect(ctx context.Context, getenv func(string) string, reconnect bool) (int, bool) {
	cfg, err := s.o.config(getenv)
	if err != nil {
		fmt.Fprintf(s.stderr, "tern %s: %v\nRun \"tern %s --help\" for the flags and examples.\n", s.cmd, err, s.cmd)
		return exitUsage, false
	}
	level := slog.LevelWarn
	if s.o.quiet {
		level = slog.LevelError + 1
	}
	cfg.Logger = slog.New(&lineHandler{w: s.stderr, prefix: "tern " + s.cmd + ": ", level: level})
	if d, ok := cfg.Dialer.(*transport.Dialer); ok {
		d.Logger = cfg.Logger
	}
	cfg.Reconnect = reconnect
	s.reconnect = reconnect
	cfg.OnEvent = s.event
	cfg.DefaultHandler = s.handler
	if s.o.debug {
		s.trace = &tracer{w: s.stderr}
		if d, ok := cfg.Dialer.(*transport.Dialer); ok {
			// A wrapped Dialer does not get Config.TLSConfig: give it its own.
			d.TLSConfig, cfg.TLSConfig = cfg.TLSConfig, nil
		}
		cfg.Dialer = s.trace.dialer(cfg.Dialer)
		s.debugf("connecting to %s as MQTT %v", s.o.broker, s.o.version)
	}
	c, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return interruptedCode(ctx), false
		}
		code := connectExitCode(err, s.o.version)
		s.errorf("%s", s.connectError(err))
		return code, false
	}
	s.client = c
	s.live.Store(c)
	return 0, true
}

// event prints the client's events: with -d all, else the losses and
// returns of a connection that reconnects.
func (s *session) event(e mqtt.Event) {
	switch e.Kind {
	case mqtt.EventConnected:
		n := e.Negotiated
		s.debugf("connected as %q (MQTT %v, session present %v, keep-alive %v, receive maximum %d, maximum QoS %d)",
			n.ClientID, n.Version, n.SessionPresent, n.KeepAlive, n.ReceiveMaximum, n.MaximumQoS)
		s.connects++
		if s.connects > 1 && s.trace == nil {
			s.errorf("connected again")
		}
	case mqtt.EventConnecting:
		if e.Attempt > 1 {
			s.debugf("connecting (attempt %d)", e.Attempt)
		}
	case mqtt.EventConnectFailed:
		if s.connects > 0 {
			s.errorf("%s; trying again", s.connectError(e.Err))
		}
	case mqtt.EventDisconnected:
		if errors.Is(e.Err, mqtt.ErrClosed) {
			s.debugf("disconnected")
		} else if s.reconnect {
			s.errorf("connection lost: %v; reconnecting", e.Err)
		}
	case mqtt.EventStopped:
		s.debugf("stopped")
	}
}

// disconnect sends DISCONNECT (with the -D disconnect properties) and
// closes the connection, waiting a few seconds at most.
func (s *session) disconnect(ctx context.Context) {
	if s.client == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.client.DisconnectWith(dctx, packet.Disconnect{Properties: s.o.p.disconnect})
	if err != nil && !errors.Is(err, mqtt.ErrClosed) && !errors.Is(err, mqtt.ErrNotConnected) {
		s.debugf("DISCONNECT not sent: %v", err)
	}
	s.client.Close()
}

// connectExitCode is the exit code for a failed connection: the CONNACK
// code of a refusal, as mosquitto_pub exits with, else 1.
func connectExitCode(err error, v packet.Version) int {
	var rc *mqtt.ReasonCodeError
	if !errors.As(err, &rc) || rc.Packet != packet.TypeConnack {
		return exitFailure
	}
	if v != packet.V5 {
		if c, ok := rc.Code.ReturnCodeV3(); ok && c != 0 {
			return int(c)
		}
	}
	return int(rc.Code)
}

// connectError says what went wrong with a connection attempt, and what
// to try.
func (s *session) connectError(err error) string {
	where := s.o.broker.Host
	if s.o.broker.Scheme == "unix" {
		where = s.o.broker.Path
	}
	var rc *mqtt.ReasonCodeError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &rc) && rc.Packet == packet.TypeConnack:
		msg = fmt.Sprintf("%s refused the connection: %v", where, err)
		if c, ok := rc.Code.ReturnCodeV3(); ok && s.o.version != packet.V5 {
			msg = fmt.Sprintf("%s refused the connection: CONNACK return code %d, %s", where, c, rc.Code)
		}
		switch rc.Code {
		case packet.ReasonBadUsernameOrPassword, packet.ReasonNotAuthorized:
			msg += "; check the user name and password (-u, -P, or the user information of -L)"
		case packet.ReasonUnsupportedProtocolVersion:
			msg += "; try another protocol version with -V (5, 311, 31)"
		case packet.ReasonClientIDNotValid:
			msg += "; try another client ID with -i"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = fmt.Sprintf("connection refused by %s: is a broker running there?", where)
		if h := s.o.broker.Hostname(); h == "localhost" || net.ParseIP(h).IsLoopback() {
			msg += fmt.Sprintf(" (\"tern demo --listen %s\" starts one)", where)
		}
	case errors.Is(err, syscall.ENOENT) && s.o.broker.Scheme == "unix":
		msg = fmt.Sprintf("no socket at %s: is the broker listening there?", where)
	case errors.As(err, &dns):
		msg = fmt.Sprintf("cannot find the host %q: check -h or -L (%v)", dns.Name, err)
	case errors.As(err, &unknownCA):
		msg += "; the broker's certificate is signed by an unknown authority: give its CA certificate with --cafile"
	case errors.As(err, &badHost):
		msg += "; the certificate is not for the host connected to: check -h, or give the name it has with --sni"
	case errors.Is(err, mqtt.ErrConnackTimeout):
		msg += "; is it an MQTT broker, and does the port want TLS (--cafile, --tls-use-os-certs)?"
	case errors.As(err, &ne) && ne.Timeout():
		msg = fmt.Sprintf("no answer from %s: %v; is the address reachable?", where, err)
	case strings.Contains(msg, "EOF") || errors.Is(err, syscall.ECONNRESET):
		msg += fmt.Sprintf("; %s closed the connection: does the port want TLS (--cafile), or another protocol version (-V)?", where)
	}
	return msg
}

// lineHandler is an slog.Handler printing records as one line each:
// "tern sub: message key=value".
type lineHandler struct {
	w      io.Writer
	prefix string
	level  slog.Level
	attrs  []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(h.prefix)
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(strings.TrimPrefix(r.Message, "mqtt: "))
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(h2.attrs[:len(h2.attrs):len(h2.attrs)], as...)
	return &h2
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
