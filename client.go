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
)

// Client is an MQTT client over one network connection. Every method is
// safe for concurrent use by any number of goroutines.
type Client struct {
	s    *settings
	disp *dispatcher

	mu sync.Mutex // guards the fields below
	cn *conn      // the connection; nil once it ended
	// stopErr is why the client can no longer be used: ErrClosed after
	// Close or Disconnect, or the connection's end.
	stopErr   error
	closed    bool
	neg       Negotiated
	sess      session.State
	routes    router
	inflight  int           // QoS 1 and 2 publishes awaiting acknowledgement
	maxFlight int           // the limit on inflight
	room      chan struct{} // closed and replaced when an identifier or in-flight slot frees up
	roomWaits int           // how many callers wait on room
	inUnacked int           // inbound QoS 1/2 messages not yet acknowledged (our Receive Maximum)
	inAliases map[uint16]string

	received atomic.Uint64 // messages received
	dropped  atomic.Uint64 // QoS 0 messages dropped at Config.MaxUndelivered
}

// Stats are counters of a client's traffic.
type Stats struct {
	InFlight         int    // QoS 1 and 2 publishes awaiting their acknowledgement
	Undelivered      int    // received messages waiting for their handlers
	UndeliveredBytes int    // their topic and payload bytes
	Received         uint64 // messages received
	Dropped          uint64 // QoS 0 messages dropped because handlers were Config.MaxUndelivered bytes behind
}

// Stats returns the client's counters now.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	s := Stats{InFlight: c.inflight}
	c.mu.Unlock()
	s.Undelivered, s.UndeliveredBytes = c.disp.pending()
	s.Received = c.received.Load()
	s.Dropped = c.dropped.Load()
	return s
}

// State is where a client is in its life.
type State uint8

// Client states.
const (
	StateConnected    State = iota + 1 // connected and usable
	StateDisconnected                  // the connection ended; see Err
	StateClosed                        // closed by Close or Disconnect
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
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{s: s, room: make(chan struct{})}
	c.disp = newDispatcher(c)
	cn, err := c.connect(ctx)
	if err != nil {
		c.disp.stop()
		return nil, err
	}
	c.mu.Lock()
	c.cn = cn
	c.mu.Unlock()
	cn.start()
	c.event(Event{Kind: EventConnected, Negotiated: c.Negotiated()})
	return c, nil
}

// connect dials and performs the CONNECT/CONNACK handshake, falling back
// to older protocol versions when configured.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	versions := []packet.Version{c.s.Version}
	if c.s.Fallback {
		for _, v := range []packet.Version{packet.V311, packet.V31} {
			if v < c.s.Version {
				versions = append(versions, v)
			}
		}
	}
	for i, v := range versions {
		nc, err := c.s.Dialer.Dial(ctx, c.s.url)
		if err != nil {
			return nil, fmt.Errorf("mqtt: dial %s: %w", c.s.url.Redacted(), err)
		}
		cn, err := c.handshake(ctx, nc, v)
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
func (c *Client) handshake(ctx context.Context, nc net.Conn, v packet.Version) (*conn, error) {
	deadline := time.Now().Add(c.s.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	cp := c.s.connectPacket(v, time.Now())
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
	if !ack.SessionPresent {
		c.sess.Clear() // MQTT-3.2.2-5
	}
	c.maxFlight = min(c.s.MaxInflight, int(neg.ReceiveMaximum))
	c.inAliases = nil // aliases do not outlive a connection (MQTT-3.3.2-7)
	// Our Receive Maximum counts this connection's unacknowledged messages:
	// the inbound QoS 2 exchanges the session still holds.
	c.inUnacked = c.sess.InboundQoS2()
	c.mu.Unlock()
	c.s.Logger.Info("mqtt: connected", "broker", c.s.url.Redacted(), "version", v.String(),
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
	case c.cn == nil:
		return StateDisconnected
	}
	return StateConnected
}

// Err returns why the client can no longer be used, or nil while it is
// connected.
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
func (c *Client) connEnded(cn *conn, err error) {
	c.mu.Lock()
	if c.cn == cn {
		c.cn = nil
	}
	if c.stopErr == nil {
		c.stopErr = err
	}
	// Every waiter learns the cause. The exchanges stay in the session: a
	// resumed session resends them.
	for _, e := range c.sess.Open() {
		e.Data.(*op).finish(err)
	}
	ra := cn.reauth
	cn.reauth = nil
	c.wakeRoom()
	c.mu.Unlock()
	if ra != nil {
		ra.o.finish(err)
	}
	c.s.Logger.Info("mqtt: connection ended", "err", err)
	c.event(Event{Kind: EventDisconnected, Err: err})
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
	c.disp.stop()
	return nil
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
	defer c.disp.stop()
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
