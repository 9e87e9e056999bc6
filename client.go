package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/transport"
)

// Client is an MQTT client over one network connection. Every method is
// safe for concurrent use by any number of goroutines.
type Client struct {
	s    *settings
	disp *dispatcher
	// notifies holds the functions of Notify, with a lock of its own.
	notifies notify

	mu sync.Mutex // guards the fields below
	cn *conn      // the connection; nil once it ended
	// stopErr is why the client can no longer be used: ErrClosed after
	// Close or Disconnect, or the connection's end.
	stopErr   error
	closed    bool
	neg       Negotiated
	sess      session.State
	routes    router
	inflight  int // QoS 1 and 2 publishes awaiting acknowledgement
	maxFlight int // the limit on inflight
	inUnacked int // inbound QoS 1/2 messages not yet acknowledged (our Receive Maximum)
	inAliases map[uint16]string
	// queue holds the operations waiting to be sent, in order: while the
	// client is disconnected, or the in-flight window is full.
	queue       []*op
	queuedBytes int
	// resends holds, in order, the exchanges of a resumed session that the
	// broker's Receive Maximum kept from being resent at once.
	resends     []*op
	lastErr     error  // why the last connection ended
	assignedID  string // the client identifier the broker assigned, used again on reconnecting
	reconnects  uint64 // connections made after the first
	supervising bool   // the supervisor goroutine runs (Config.Reconnect)

	st *stored // Config.Store; nil without one

	quit      chan struct{} // closed by Close and Disconnect: the supervisor stops
	superDone chan struct{} // closed when the supervisor has stopped

	sent     atomic.Uint64 // publishes handed to a connection, resends excluded
	received atomic.Uint64 // messages received
	dropped  atomic.Uint64 // QoS 0 messages dropped at Config.MaxUndelivered
}

// Stats are counters of a client's traffic.
type Stats struct {
	InFlight         int    // QoS 1 and 2 publishes awaiting their acknowledgement
	Queued           int    // operations waiting to be sent (see Config.MaxQueued)
	QueuedBytes      int    // their size, as Config.MaxQueuedBytes counts it
	Reconnects       uint64 // connections made after the first
	Undelivered      int    // received messages waiting for their handlers
	UndeliveredBytes int    // their topic and payload bytes
	Sent             uint64 // publishes handed to a connection to write (resends not counted)
	Received         uint64 // messages received
	Dropped          uint64 // QoS 0 messages dropped because handlers were Config.MaxUndelivered bytes behind
}

// Stats returns the client's counters now.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	s := Stats{InFlight: c.inflight, Queued: len(c.queue), QueuedBytes: c.queuedBytes, Reconnects: c.reconnects}
	c.mu.Unlock()
	s.Undelivered, s.UndeliveredBytes = c.disp.pending()
	s.Sent = c.sent.Load()
	s.Received = c.received.Load()
	s.Dropped = c.dropped.Load()
	return s
}

// State is where a client is in its life.
type State uint8

// Client states.
const (
	StateConnected    State = iota + 1 // connected and usable
	StateDisconnected                  // the connection ended and the client will not reconnect; see Err
	StateClosed                        // closed by Close or Disconnect
	StateConnecting                    // not connected, and connecting or waiting to (Config.Reconnect)
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateClosed:
		return "closed"
	case StateConnecting:
		return "connecting"
	}
	return "State(" + itoa(int(s)) + ")"
}

// Negotiated holds the settings of a connection: what the client asked for,
// as the broker's CONNACK amended it (MQTT 5.0 section 3.2.2.3). The client
// obeys them: it refuses, before sending, a QoS above MaximumQoS, a
// retained message when RetainAvailable is false, a packet over
// MaximumPacketSize, and wildcard or shared subscriptions the broker
// lacks.
type Negotiated struct {
	Version        packet.Version
	ClientID       string // the identifier in use: ours, or the one the broker assigned
	SessionPresent bool
	KeepAlive      time.Duration // 0: off
	SessionExpiry  time.Duration // MQTT 5.0

	ReceiveMaximum       uint16 // how many QoS 1/2 publishes the broker takes at once; 65,535 if it set none
	MaximumQoS           QoS
	RetainAvailable      bool
	MaximumPacketSize    uint32 // 0: no limit
	TopicAliasMaximum    uint16
	WildcardSubAvailable bool
	SubIDAvailable       bool
	SharedSubAvailable   bool

	AssignedClientID string
	ResponseInfo     string
	ServerReference  string
	ReasonString     string
	UserProperties   []packet.UserProperty
	// AuthData is the broker's last Authentication Data (MQTT 5.0
	// enhanced authentication), from the CONNACK.
	AuthData []byte
}

// Dial connects to the broker cfg.Broker names and returns a connected
// Client. ctx bounds the whole attempt, dialing and handshake; the
// connection then lives until Close, Disconnect or its failure. A broker's
// refusal is a *ReasonCodeError carrying the CONNACK code.
//
// With Config.Reconnect the client then keeps itself connected until Close
// or Disconnect (see Config.Reconnect). With Config.ConnectRetry as well, a
// failed first attempt is retried on the Backoff schedule until ctx
// expires, and each attempt is reported as an event.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{s: s, quit: make(chan struct{}), superDone: make(chan struct{})}
	c.disp = newDispatcher(c)
	if s.Store != nil {
		if err := c.restore(); err != nil {
			c.disp.stop()
			return nil, err
		}
	}
	bo := newBackoff(s.Backoff)
	var cn *conn
	for attempt := 1; ; attempt++ {
		if s.ConnectRetry {
			c.event(Event{Kind: EventConnecting, Attempt: attempt})
		}
		cn, err = c.connect(ctx, attempt)
		if err == nil {
			break
		}
		c.s.Logger.Info("mqtt: connection attempt failed", "attempt", attempt, "err", err)
		if s.ConnectRetry {
			c.event(Event{Kind: EventConnectFailed, Attempt: attempt, Err: err})
		}
		if !s.ConnectRetry || ctx.Err() != nil {
			c.disp.stop()
			return nil, err
		}
		t := time.NewTimer(bo.next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.disp.stop()
			return nil, fmt.Errorf("mqtt: no connection before the context ended: %w (last attempt: %w)", ctx.Err(), err)
		}
	}
	c.install(cn, true) // nobody else has c yet
	if s.Reconnect {
		c.mu.Lock()
		c.supervising = true
		c.mu.Unlock()
		go c.supervise(cn, bo)
	} else {
		close(c.superDone)
	}
	return c, nil
}

// install makes cn the client's connection: it resumes the session, starts
// the connection's reader and reports the event.
// It reports false, and closes cn, if the client was closed meanwhile.
func (c *Client) install(cn *conn, first bool) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.nc.Close()
		return false
	}
	c.cn = cn
	if !first {
		c.reconnects++
	}
	c.resume(cn, first)
	c.mu.Unlock()
	cn.start()
	c.event(Event{Kind: EventConnected, Negotiated: c.Negotiated()})
	return true
}

// connect dials and performs the CONNECT/CONNACK handshake, falling back
// to older protocol versions when configured.
func (c *Client) connect(ctx context.Context, attempt int) (*conn, error) {
	c.mu.Lock()
	v0 := c.s.Version
	if c.neg.Version != 0 {
		v0 = c.neg.Version // what the broker took last time
	}
	c.mu.Unlock()
	versions := []packet.Version{v0}
	if c.s.Fallback {
		for _, v := range []packet.Version{packet.V311, packet.V31} {
			if v < v0 {
				versions = append(versions, v)
			}
		}
	}
	u := c.s.urls[(attempt-1)%len(c.s.urls)]
	for i, v := range versions {
		cp := c.connectPacket(v)
		bu := *u // the hook may change the attempt's URL in place
		a := Attempt{Number: attempt, Broker: &bu, Connect: cp, TLSConfig: c.s.BaseTLSConfig().Clone()}
		if f := c.s.BeforeConnect; f != nil {
			if err := f(ctx, &a); err != nil {
				return nil, fmt.Errorf("mqtt: BeforeConnect: %w", err)
			}
		}
		nc, err := c.dial(ctx, &a)
		if err != nil {
			return nil, err
		}
		cn, err := c.handshake(ctx, nc, v, cp)
		if err == nil {
			return cn, nil
		}
		nc.Close()
		if i < len(versions)-1 && versionRefused(err) {
			c.s.Logger.Info("mqtt: broker refused the protocol version; trying an older one", "version", v.String())
			continue
		}
		return nil, err
	}
	panic("unreachable")
}

// dial opens the network connection of attempt a, bounded by
// ConnectTimeout.
func (c *Client) dial(ctx context.Context, a *Attempt) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.ConnectTimeout)
	defer cancel()
	d := c.s.Dialer
	switch td := d.(type) {
	case nil:
		d = &transport.Dialer{TLSConfig: a.TLSConfig, Logger: c.s.Logger}
	case *transport.Dialer:
		if a.TLSConfig != nil {
			cp := *td
			cp.TLSConfig = a.TLSConfig
			d = &cp
		}
	}
	nc, err := d.Dial(ctx, a.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: dial %s: %w", transport.Redact(a.Broker), err)
	}
	return nc, nil
}

// versionRefused reports whether err is a broker's refusal of the protocol
// version: CONNACK 0x84 (3.x return code 1), or the connection closed in
// answer to CONNECT, which is how some brokers refuse a version they do
// not know.
func versionRefused(err error) bool {
	var rc *ReasonCodeError
	if errors.As(err, &rc) {
		return rc.Code == packet.ReasonUnsupportedProtocolVersion
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// handshake sends CONNECT over nc and reads the CONNACK.
func (c *Client) handshake(ctx context.Context, nc net.Conn, v packet.Version, cp *packet.Connect) (*conn, error) {
	deadline := time.Now().Add(c.s.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	buf, err := cp.Append(nil, v)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(buf); err != nil {
		return nil, c.handshakeErr(ctx, err)
	}
	br := newReadBuffer(nc)
	rv := v
	if v == packet.V5 {
		// A broker that only knows 3.1.1 answers a 5.0 CONNECT with a 3.1.1
		// CONNACK (return code 1): two bytes of body, no properties.
		if h, err := br.Peek(2); err == nil && h[0] == 0x20 && h[1] == 2 {
			rv = packet.V311
		}
	}
	r := packet.NewReader(br, int(c.s.MaximumPacketSize))
	ack, err := c.readConnack(ctx, nc, r, rv, cp)
	if err != nil {
		return nil, err
	}
	if ack.ReasonCode != packet.ReasonSuccess {
		return nil, &ReasonCodeError{Packet: packet.TypeConnack, Code: ack.ReasonCode,
			ReasonString: ack.Properties.ReasonString, ServerReference: ack.Properties.ServerReference,
			UserProperties: ack.Properties.User}
	}
	if ack.SessionPresent && cp.CleanStart {
		// MQTT-3.2.2-4: a client with no session state must close.
		return nil, ended(ErrBadPacket, errors.New("mqtt: CONNACK reports a session present after Clean Start"))
	}
	nc.SetDeadline(time.Time{})

	neg := c.negotiate(v, cp, ack)
	c.mu.Lock()
	c.neg = neg
	if neg.AssignedClientID != "" {
		c.assignedID = neg.AssignedClientID // to resume the session on reconnecting
	}
	c.maxFlight = min(c.s.MaxInflight, int(neg.ReceiveMaximum))
	c.inAliases = nil // aliases do not outlive a connection (MQTT-3.3.2-7)
	c.mu.Unlock()
	c.s.Logger.Info("mqtt: connected", "broker", transport.Redact(c.s.url), "version", v.String(),
		"client_id", neg.ClientID, "session_present", neg.SessionPresent)
	return newConn(c, nc, br, r, v, neg), nil
}

// readConnack reads packets until the CONNACK, answering AUTH challenges
// through Config.Authenticate (MQTT 5.0 section 4.12).
func (c *Client) readConnack(ctx context.Context, nc net.Conn, r *packet.Reader, v packet.Version, cp *packet.Connect) (*packet.Connack, error) {
	for {
		p, err := r.ReadPacket(v)
		if err != nil {
			return nil, c.handshakeErr(ctx, err)
		}
		switch p := p.(type) {
		case *packet.Connack:
			return p, nil
		case *packet.Auth:
			if cp.Properties.AuthMethod == "" || p.ReasonCode != packet.ReasonContinueAuthentication ||
				p.Properties.AuthMethod != cp.Properties.AuthMethod {
				return nil, ended(ErrBadPacket, fmt.Errorf("mqtt: unexpected AUTH %v during CONNECT", p.ReasonCode))
			}
			if c.s.Authenticate == nil {
				return nil, errors.New("mqtt: the broker sent an AUTH challenge and Config.Authenticate is nil")
			}
			data, err := c.s.Authenticate(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("mqtt: Authenticate: %w", err)
			}
			reply := &packet.Auth{ReasonCode: packet.ReasonContinueAuthentication,
				Properties: packet.Properties{AuthMethod: cp.Properties.AuthMethod, AuthData: data}}
			b, err := reply.Append(nil, v)
			if err != nil {
				return nil, err
			}
			if _, err := nc.Write(b); err != nil {
				return nil, c.handshakeErr(ctx, err)
			}
		default:
			return nil, ended(ErrBadPacket, fmt.Errorf("mqtt: %v before CONNACK", p.Type()))
		}
	}
}

func (c *Client) handshakeErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ended(ErrConnackTimeout, err)
	}
	var pe *packet.Error
	if errors.As(err, &pe) {
		return ended(ErrBadPacket, err)
	}
	return ended(ErrConnectionLost, err)
}

// negotiate applies the CONNACK's properties to what the client asked for.
func (c *Client) negotiate(v packet.Version, cp *packet.Connect, ack *packet.Connack) Negotiated {
	p := &ack.Properties
	n := Negotiated{
		Version: v, ClientID: cp.ClientID, SessionPresent: ack.SessionPresent,
		KeepAlive:      time.Duration(cp.KeepAlive) * time.Second,
		ReceiveMaximum: 65535, MaximumQoS: QoS2, RetainAvailable: true,
		WildcardSubAvailable: true, SubIDAvailable: v == packet.V5, SharedSubAvailable: v == packet.V5,
	}
	if v != packet.V5 {
		return n
	}
	if cp.Properties.SessionExpiryInterval != nil {
		n.SessionExpiry = time.Duration(*cp.Properties.SessionExpiryInterval) * time.Second
	}
	if p.SessionExpiryInterval != nil {
		n.SessionExpiry = time.Duration(*p.SessionExpiryInterval) * time.Second
	}
	if p.ServerKeepAlive != nil {
		n.KeepAlive = time.Duration(*p.ServerKeepAlive) * time.Second // MQTT-3.2.2-21
	}
	if p.ReceiveMaximum != 0 {
		n.ReceiveMaximum = p.ReceiveMaximum
	}
	if p.MaximumQoS != nil {
		n.MaximumQoS = *p.MaximumQoS
	}
	boolOr := func(b *bool) bool { return b == nil || *b }
	n.RetainAvailable = boolOr(p.RetainAvailable)
	n.WildcardSubAvailable = boolOr(p.WildcardSubAvailable)
	n.SubIDAvailable = boolOr(p.SubIDAvailable)
	n.SharedSubAvailable = boolOr(p.SharedSubAvailable)
	n.MaximumPacketSize = p.MaximumPacketSize
	n.TopicAliasMaximum = p.TopicAliasMaximum
	if p.AssignedClientID != "" {
		n.AssignedClientID = p.AssignedClientID
		n.ClientID = p.AssignedClientID
	}
	n.ResponseInfo = p.ResponseInfo
	n.ServerReference = p.ServerReference
	n.ReasonString = p.ReasonString
	n.UserProperties = p.User
	n.AuthData = p.AuthData
	return n
}

// Negotiated returns the settings of the current (or last) connection.
func (c *Client) Negotiated() *Negotiated {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.neg
	return &n
}

// State returns the client's state now.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return StateClosed
	case c.cn != nil:
		return StateConnected
	case c.reconnecting():
		return StateConnecting
	}
	return StateDisconnected
}

// reconnecting reports whether the client, now without a connection, is
// getting a new one. c.mu is held.
func (c *Client) reconnecting() bool { return c.supervising && !c.closed }

// limits returns the settings an operation is checked against: the
// connection's; while reconnecting, the last connection's (or, before the
// first, what the client asks for).
func (c *Client) limits() (*Negotiated, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.cn != nil:
		return &c.cn.neg, nil
	case !c.reconnecting():
		return nil, c.notConnected()
	case c.neg.Version != 0:
		n := c.neg
		return &n, nil
	}
	v := c.s.Version
	return &Negotiated{Version: v, ReceiveMaximum: 65535, MaximumQoS: QoS2, RetainAvailable: true,
		WildcardSubAvailable: true, SubIDAvailable: v == packet.V5, SharedSubAvailable: v == packet.V5}, nil
}

// Err returns why the client can no longer be used, or nil while it is
// connected or reconnecting.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopErr
}

// current returns the connection for an operation, or why there is none.
func (c *Client) current() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cn == nil {
		return nil, c.notConnected()
	}
	return c.cn, nil
}

// notConnected is the error for an operation without a connection. c.mu
// is held.
func (c *Client) notConnected() error {
	if c.closed || c.stopErr == nil {
		return ErrClosed
	}
	return ended(ErrNotConnected, c.stopErr)
}

// connEnded is called once, by the connection, when it ends with err.
// While the client reconnects, the open exchanges and the queue wait for
// the next connection; otherwise every waiter learns the cause.
func (c *Client) connEnded(cn *conn, err error) {
	c.mu.Lock()
	if c.cn == cn {
		c.cn = nil
	}
	c.lastErr = err
	ra := cn.reauth
	cn.reauth = nil
	if !c.reconnecting() {
		if c.stopErr == nil {
			c.stopErr = err
		}
		fail := err
		if c.closed {
			fail = ErrClosed
		}
		c.failAll(fail)
	} else if c.s.MaxRetries > 0 {
		c.countRetries(err)
	}
	c.mu.Unlock()
	if ra != nil {
		ra.o.finish(err)
	}
	c.s.Logger.Info("mqtt: connection ended", "err", err)
	c.event(Event{Kind: EventDisconnected, Err: err})
}

// countRetries counts a connection's end against Config.MaxRetries for
// every operation on the wire, and ends the wait of those at the limit.
// c.mu is held.
func (c *Client) countRetries(err error) {
	for _, e := range c.sess.Open() {
		o := e.Data.(*op)
		if o.tries++; o.tries < c.s.MaxRetries {
			continue
		}
		if !isPublish(e.Kind) {
			c.drop(e)
		}
		o.finish(ended(ErrRetryLimit, err))
	}
}

// markClosed marks the client closed and returns its connection (nil if
// none), and whether this call was the first to close it.
func (c *Client) markClosed() (*conn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, false
	}
	c.closed = true
	close(c.quit)
	if c.cn == nil {
		c.failAll(ErrClosed)
	}
	return c.cn, true
}

// Close closes the connection at once, without DISCONNECT: the broker
// publishes the Will, if any. Every waiting call returns ErrClosed, and so
// does every later call. Close waits for the connection's goroutines; a
// handler running on the dispatcher finishes on its own. Closing a closed
// client does nothing.
func (c *Client) Close() error {
	cn, first := c.markClosed()
	if !first {
		return nil
	}
	if cn != nil {
		cn.end(ErrClosed)
		cn.wait()
	}
	<-c.superDone
	c.disp.stop()
	c.syncStore()
	return nil
}

// syncStore makes the Store's last changes (deletions of completed
// exchanges) durable when the client stops, so that a next Client opened
// on it resends as little as possible.
func (c *Client) syncStore() {
	if c.st != nil {
		if err := c.st.s.Sync(); err != nil {
			c.s.Logger.Error("mqtt: the Store failed", "err", err)
		}
	}
}

// Disconnect ends the connection gracefully: it sends DISCONNECT with
// reason code Normal disconnection, so the broker discards the Will
// (MQTT-3.1.2-10), then closes. ctx bounds the wait for the DISCONNECT to
// be written; when it expires the connection is closed at once. It does not
// wait for outstanding publishes: wait for them first.
func (c *Client) Disconnect(ctx context.Context) error {
	return c.DisconnectWith(ctx, packet.Disconnect{})
}

// DisconnectWith is Disconnect with the MQTT 5.0 fields of the DISCONNECT:
// a reason code (for example ReasonDisconnectWithWill, to have the broker
// publish the Will), a new Session Expiry Interval, a Reason String, User
// Properties. In 3.x they are not sent.
func (c *Client) DisconnectWith(ctx context.Context, d packet.Disconnect) error {
	cn, first := c.markClosed()
	if !first {
		return ErrClosed
	}
	defer c.syncStore()
	defer c.disp.stop()
	defer func() { <-c.superDone }()
	if cn == nil {
		return nil
	}
	if cn.v != packet.V5 {
		d = packet.Disconnect{}
	}
	b, err := d.Append(nil, cn.v)
	if err != nil {
		cn.end(ErrClosed)
		cn.wait()
		return err
	}
	cn.closing.Store(true)
	cn.send(outItem{b: b, close: ErrClosed})
	select {
	case <-cn.done:
	case <-ctx.Done():
		cn.end(ErrClosed)
	}
	cn.wait()
	if err := cn.endErr(); !errors.Is(err, ErrClosed) {
		return err // the connection failed before the DISCONNECT went out
	}
	return ctx.Err()
}
