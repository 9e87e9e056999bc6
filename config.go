package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
	"github.com/ternmq/mqtt/transport"
)

// Dialer opens the network connection to a broker. It is how the client is
// separated from the network stack: any net.Conn will do. The built-in one
// is a *transport.Dialer.
type Dialer interface {
	Dial(ctx context.Context, u *url.URL) (net.Conn, error)
}

// DialerFunc adapts a function to a Dialer.
type DialerFunc func(ctx context.Context, u *url.URL) (net.Conn, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, u *url.URL) (net.Conn, error) { return f(ctx, u) }

// Config configures a Client. Its zero value works but for Broker; each
// field's comment gives its default.
type Config struct {
	// Broker is the server's URL: mqtt:// or tcp:// (TCP, port 1883 if
	// none), mqtts://, ssl:// or tls:// (TLS, 8883), ws:// (WebSocket, 80,
	// path /mqtt if none), wss:// (WebSocket over TLS, 443), unix:///path.
	// IPv6 literals go in brackets: mqtt://[::1]:1883. See the package
	// transport. A custom Dialer may accept other schemes. User
	// information in the URL (mqtt://user:password@host) is the Username
	// and Password when those fields are empty.
	Broker string
	// TLSConfig configures TLS for the TLS schemes (mqtts, ssl, tls, wss):
	// roots, client certificate (any crypto.Signer as its key), ALPN,
	// versions, cipher suites. It is cloned for each attempt (see
	// Attempt.TLSConfig). If nil, the system's roots verify the broker.
	// ServerName defaults to the URL's host, MinVersion to TLS 1.2. See
	// transport.TLSOptions to build one from files or a PKCS#12 bundle.
	// InsecureSkipVerify is logged as a warning at each connection.
	TLSConfig *tls.Config
	// Dialer opens the network connection. If nil, a *transport.Dialer
	// with TLSConfig and Logger. Set a *transport.Dialer to use a proxy
	// (transport.ProxyFromEnvironment for HTTP_PROXY and the like) or
	// WebSocket headers: TLSConfig, if set, replaces its own.
	Dialer Dialer

	// Version is the protocol: packet.V31, packet.V311 or packet.V5. If
	// zero, 5.0.
	Version packet.Version
	// Fallback retries with the next older version (5.0, then 3.1.1, then
	// 3.1) when the broker refuses the protocol version or closes the
	// connection in answer to CONNECT.
	Fallback bool

	// ClientID identifies the client to the broker. If empty: in 5.0 the
	// broker assigns one (see Negotiated.AssignedClientID); in 3.x a
	// unique one is made from ClientIDPrefix (default "tern-") and the
	// time, as the seed demo's GENERATE_UNIQUE_CLIENT_ID does.
	ClientID string
	// ClientIDPrefix, if set and ClientID is empty, makes the client ID
	// the prefix followed by the current time in microseconds, in every
	// version.
	ClientIDPrefix string

	// Username and Password authenticate the client. Password is sent
	// when not nil, Username when not empty. Neither is ever logged.
	Username string
	Password []byte

	// KeepAlive is the longest time the client stays silent: it sends
	// PINGREQ when it has sent nothing for this long (MQTT-3.1.2-20). A
	// Server Keep Alive in CONNACK replaces it (MQTT-3.1.2-21). If zero,
	// 60 seconds; negative turns keep-alive off. Whole seconds, at most
	// 65,535.
	KeepAlive time.Duration
	// PingTimeout is how long the client waits, after a PINGREQ, for the
	// broker to send anything before it declares the connection dead
	// (ErrPingTimeout). If zero, 10 seconds.
	PingTimeout time.Duration
	// ConnectTimeout bounds each connection attempt: the dial (TCP, proxy,
	// TLS, WebSocket) and then the wait for CONNACK, each. If zero, 30
	// seconds.
	ConnectTimeout time.Duration
	// WriteTimeout bounds each write to the network (ErrWriteTimeout). If
	// zero, 30 seconds.
	WriteTimeout time.Duration

	// Persistent asks the broker to keep the session between connections
	// (Clean Start / Clean Session 0). If false, every connection starts a
	// new session. In 5.0 the session outlives the connection only for
	// SessionExpiry.
	Persistent bool
	// SessionExpiry is the MQTT 5.0 Session Expiry Interval: how long the
	// broker keeps the session after the connection ends. If zero, the
	// session ends with the connection; math.MaxUint32 seconds or more
	// means never.
	SessionExpiry time.Duration

	// Will is the Last Will: the message the broker publishes when the
	// connection ends without a normal DISCONNECT. Its Properties carry the
	// 5.0 Will Properties (WillDelayInterval, MessageExpiryInterval,
	// ContentType, ResponseTopic, CorrelationData, PayloadFormat, User).
	Will *Message

	// ReceiveMaximum is how many QoS 1 and 2 messages the broker may send
	// before this client acknowledges them (MQTT 5.0; in 3.x it is only
	// enforced). A broker that exceeds it is disconnected with 0x93. If
	// zero, 65,535 (not sent).
	ReceiveMaximum uint16
	// MaximumPacketSize is the largest packet this client accepts; a
	// larger one ends the connection (5.0: DISCONNECT 0x95). If zero, no
	// limit is announced and packets up to 268,435,460 bytes are read.
	MaximumPacketSize uint32
	// TopicAliasMaximum is how many topic aliases the broker may use when
	// sending to this client (MQTT 5.0). If zero, none.
	TopicAliasMaximum uint16
	// RequestResponseInfo asks the broker for Response Information
	// (MQTT 5.0 section 3.1.2.11.6).
	RequestResponseInfo bool
	// NoProblemInfo asks the broker not to send Reason Strings and User
	// Properties on errors (Request Problem Information 0, MQTT 5.0).
	NoProblemInfo bool
	// UserProperties are sent in CONNECT (MQTT 5.0).
	UserProperties []packet.UserProperty
	// AuthMethod and AuthData start MQTT 5.0 enhanced authentication
	// (section 4.12): they are sent in CONNECT, and each AUTH challenge the
	// broker sends before CONNACK is given to Authenticate.
	AuthMethod string
	AuthData   []byte
	// Authenticate answers an AUTH challenge (reason code Continue
	// authentication) with the data of the client's next AUTH: during
	// CONNECT on the goroutine of Dial, bounded by Dial's context; during
	// Client.Reauthenticate on a goroutine of its own, bounded by that
	// call's context. If nil, a challenge fails the connection.
	Authenticate func(ctx context.Context, challenge *packet.Auth) (data []byte, err error)

	// AutoTopicAlias lets the client give topics aliases by itself (MQTT
	// 5.0): the first PUBLISH to a topic carries the topic and an alias,
	// later ones the alias alone, within the broker's Topic Alias Maximum
	// (at most 1,024); when all are taken, the least recently used is
	// reassigned. Without it, aliases may be set by hand in
	// Message.Properties.TopicAlias; with it, they may not.
	AutoTopicAlias bool

	// MaxInflight is how many QoS 1 and 2 publishes may await their
	// acknowledgement at once; a publish beyond it waits in the queue. The
	// broker's Receive Maximum lowers it (MQTT 5.0). If zero, 65,535.
	MaxInflight int

	// Reconnect keeps the client connected until Close or Disconnect: when
	// a connection ends, for whatever cause, the client dials again after a
	// delay from Backoff, resumes the session (see Persistent) and sends
	// what waited. Operations wait for the next connection by the Offline
	// policy, each bounded by its context; an open QoS 1 or 2 exchange is
	// never failed by the loss of a connection. Events report every
	// attempt. If false, the client is done when its connection ends, and
	// every waiting operation fails with the cause.
	Reconnect bool
	// ConnectRetry makes Dial retry a failed first connection on the
	// Backoff schedule until its context ends, instead of failing at once.
	ConnectRetry bool
	// Backoff is the schedule of delays between attempts; see Backoff for
	// its defaults.
	Backoff Backoff
	// Servers are more broker URLs, tried in turn after Broker, one per
	// attempt.
	Servers []string
	// BeforeConnect, if not nil, is called before each connection attempt
	// (bounded by its context; it may call Close) and may change
	// the Attempt: the broker's URL, the CONNECT packet (credentials, Will,
	// properties), for example to refresh a token. An error fails the
	// attempt.
	BeforeConnect func(ctx context.Context, a *Attempt) error
	// NoResubscribe turns off restoring subscriptions after a reconnection
	// that found no session on the broker: the handlers stay, but the
	// broker sends nothing until the application subscribes again.
	NoResubscribe bool
	// Offline says which operations wait in the queue while the client is
	// reconnecting; the default queues QoS 1 and 2 publishes, subscribes
	// and unsubscribes, and fails QoS 0 publishes.
	Offline OfflinePolicy
	// MaxQueued and MaxQueuedBytes bound the queue of operations waiting
	// to be sent (while reconnecting, or while the in-flight window is
	// full); an operation over them fails with ErrQueueFull. If zero,
	// 10,000 operations and 64 MiB (topic and payload bytes, plus 16 per
	// message).
	MaxQueued      int
	MaxQueuedBytes int
	// MaxRetries bounds how many connection ends an operation on the wire
	// (sent, not yet answered) waits through while the client reconnects.
	// At the limit its call returns an error wrapping ErrRetryLimit and
	// the last connection's end, as when the call's context expires: a
	// QoS 1 or 2 publish stays in the session and is still resent, as the
	// protocol requires (MQTT-4.4.0-1), so the broker may yet get it; a
	// subscribe or unsubscribe is abandoned, and the broker may or may not
	// have applied it. Operations still in the queue are not counted. If
	// zero, there is no limit: only the call's context bounds its wait
	// (like the CY_MQTT_MAX_RETRY_VALUE of Infineon's MQTT library, but
	// counted in connections, not send attempts).
	MaxRetries int
	// Limits, if not nil, are the broker's own limits, checked before
	// anything is sent; see Limits.
	Limits *Limits

	// Store, if not nil, keeps the session's outgoing QoS 1 and 2 messages
	// (in flight or queued) and inbound QoS 2 state, so that they survive
	// the end of the process: Dial loads what it holds, and the client
	// resumes the session (with the same ClientID and a persistent
	// session) or sends the messages again as new ones. See Store and the
	// package store for a crash-safe file store. With a Store:
	//
	//   - a QoS 1 or 2 message is recorded before Publish or PublishAsync
	//     sends or queues it; PublishAsync returns once the record is
	//     durable (Store.Sync), so a message it accepted survives a crash;
	//   - a packet identifier, a PUBREL owed, an inbound QoS 2 identifier
	//     are recorded, durably, before the packet that depends on them is
	//     written;
	//   - a message that ends with the connection or Close (ErrClosed,
	//     ErrConnectionLost, ...) stays in the Store and is sent by the next
	//     Client opened on it; one the broker refuses, or the queue's bounds
	//     or the Offline policy refuse, is deleted.
	//
	// An inbound QoS 2 message whose handler returned just before a crash,
	// before its PUBREC was recorded, is delivered again after the restart:
	// MQTT's exactly once ends at the client library, and a handler that
	// must not see a message twice across crashes needs its own record.
	// The client does not close the Store.
	Store Store

	// MaxUndelivered bounds the bytes (topic and payload) of received
	// messages waiting for their handlers. A QoS 0 message that would go
	// over it is dropped and counted in Stats().Dropped. QoS 1 and 2
	// messages are never dropped: each is acknowledged only when its
	// handler returns, so the broker's flow control bounds them (set
	// ReceiveMaximum to choose how many, in MQTT 5.0). If zero, 64 MiB.
	MaxUndelivered int

	// DefaultHandler receives messages that match no subscription's
	// handler. If nil, such messages are acknowledged and dropped.
	DefaultHandler Handler
	// OnEvent receives connection events, on the dispatcher goroutine, in
	// order with message deliveries. It may call any method of the Client.
	OnEvent func(Event)
	// Logger receives the client's log records. If nil, nothing is
	// logged. Passwords, authentication data and payloads are never logged.
	Logger *slog.Logger
}

const (
	defaultKeepAlive      = 60 * time.Second
	defaultPingTimeout    = 10 * time.Second
	defaultConnectTimeout = 30 * time.Second
	defaultWriteTimeout   = 30 * time.Second
)

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// settings is a Config checked and with its defaults applied.
type settings struct {
	Config
	url       *url.URL
	urls      []*url.URL // url, then Servers
	keepAlive uint16     // seconds
	idTime    time.Time  // the time a generated client identifier is made of
}

// Attempt is one connection attempt, given to Config.BeforeConnect, which
// may change or replace any of its fields for this attempt only.
type Attempt struct {
	Number  int             // 1 for the first attempt of Dial, counting on across reconnections
	Broker  *url.URL        // the broker to dial (a fresh presigned URL, another server)
	Connect *packet.Connect // the CONNECT to send (credentials, Will, properties)
	// TLSConfig is the TLS configuration of this attempt: a clone of
	// Config.TLSConfig (or of the TLSConfig of a *transport.Dialer given
	// as Config.Dialer), nil if neither is set. Setting it (a renewed
	// client certificate, other roots) applies to the built-in dialer and
	// to a *transport.Dialer; another Dialer does not see it.
	TLSConfig *tls.Config
}

// check validates cfg and applies defaults; it refuses what would be
// refused by the broker or the specification before anything is sent.
func (cfg Config) check() (*settings, error) {
	s := &settings{Config: cfg}
	if cfg.Broker == "" {
		return nil, errors.New("mqtt: Config.Broker is empty")
	}
	u, err := transport.ParseURL(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: Config.Broker: %w", err)
	}
	s.url = s.takeUser(u)
	s.urls = []*url.URL{s.url}
	for _, srv := range cfg.Servers {
		u, err := transport.ParseURL(srv)
		if err != nil {
			return nil, fmt.Errorf("mqtt: Config.Servers: %w", err)
		}
		s.urls = append(s.urls, s.takeUser(u))
	}
	s.idTime = time.Now()
	if s.MaxQueued <= 0 {
		s.MaxQueued = 10000
	}
	if s.MaxQueuedBytes <= 0 {
		s.MaxQueuedBytes = 64 << 20
	}
	if s.Version == 0 {
		s.Version = packet.V5
	}
	if !s.Version.Valid() {
		return nil, fmt.Errorf("mqtt: Config.Version %v is not 3 (3.1), 4 (3.1.1) or 5 (5.0)", s.Version)
	}
	switch ka := cfg.KeepAlive; {
	case ka == 0:
		s.keepAlive = uint16(defaultKeepAlive / time.Second)
	case ka < 0:
		s.keepAlive = 0
	case ka > math.MaxUint16*time.Second:
		return nil, fmt.Errorf("mqtt: Config.KeepAlive %v is over 65,535 seconds", ka)
	default:
		s.keepAlive = uint16((ka + time.Second - 1) / time.Second)
	}
	s.PingTimeout = orDefault(cfg.PingTimeout, defaultPingTimeout)
	s.ConnectTimeout = orDefault(cfg.ConnectTimeout, defaultConnectTimeout)
	s.WriteTimeout = orDefault(cfg.WriteTimeout, defaultWriteTimeout)
	if s.MaxUndelivered <= 0 {
		s.MaxUndelivered = 64 << 20
	}
	if s.MaxInflight <= 0 || s.MaxInflight > 65535 {
		s.MaxInflight = 65535
	}
	if w := cfg.Will; w != nil {
		if err := topic.CheckName(w.Topic); err != nil {
			return nil, fmt.Errorf("mqtt: Config.Will: %w", err)
		}
		if !w.QoS.Valid() {
			return nil, fmt.Errorf("mqtt: Config.Will: %v", w.QoS)
		}
	}
	if s.Logger == nil {
		s.Logger = slog.New(discardHandler{})
	}
	if l := s.Limits; l != nil {
		if err := l.checkConfig(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// takeUser returns u without its user information, which becomes the
// Username and Password where the Config has none.
func (s *settings) takeUser(u *url.URL) *url.URL {
	if u.User == nil {
		return u
	}
	if s.Username == "" {
		s.Username = u.User.Username()
	}
	if p, ok := u.User.Password(); ok && s.Password == nil {
		s.Password = []byte(p)
	}
	r := *u
	r.User = nil
	return &r
}

// BaseTLSConfig returns the TLS configuration connection attempts start
// from (Attempt.TLSConfig is a clone of it): TLSConfig, or else the
// TLSConfig of a *transport.Dialer given as Dialer; nil if neither is
// set. Packages that fill a Config (cloud/aws, cloud/azure) start from it.
func (cfg *Config) BaseTLSConfig() *tls.Config {
	if cfg.TLSConfig != nil {
		return cfg.TLSConfig
	}
	if td, ok := cfg.Dialer.(*transport.Dialer); ok {
		return td.TLSConfig
	}
	return nil
}

// clientID returns the client identifier to send for version v.
func (s *settings) clientID(v packet.Version, now time.Time) string {
	if s.ClientID != "" {
		return s.ClientID
	}
	prefix := s.ClientIDPrefix
	if prefix == "" {
		if v == packet.V5 {
			return "" // the server assigns one (MQTT-3.2.2-16)
		}
		prefix = "tern-"
	}
	id := prefix + strconv.FormatInt(now.UnixMicro(), 10)
	if v == packet.V31 && len(id) > 23 {
		id = id[len(id)-23:] // MQTT 3.1 allows at most 23 characters
	}
	return id
}

// connectPacket builds the CONNECT for version v.
func (s *settings) connectPacket(v packet.Version, now time.Time) *packet.Connect {
	c := &packet.Connect{
		ClientID:   s.clientID(v, now),
		CleanStart: !s.Persistent,
		KeepAlive:  s.keepAlive,
		Username:   s.Username,
		Password:   s.Password,
	}
	if w := s.Will; w != nil {
		c.Will = &packet.Will{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain, Properties: w.Properties}
	}
	if v == packet.V5 {
		p := &c.Properties
		if s.SessionExpiry > 0 {
			secs := uint32(math.MaxUint32)
			if s.SessionExpiry < math.MaxUint32*time.Second {
				secs = uint32(s.SessionExpiry / time.Second)
			}
			p.SessionExpiryInterval = &secs
		}
		p.ReceiveMaximum = s.ReceiveMaximum
		p.MaximumPacketSize = s.MaximumPacketSize
		p.TopicAliasMaximum = s.TopicAliasMaximum
		p.RequestResponseInfo = s.RequestResponseInfo
		if s.NoProblemInfo {
			no := false
			p.RequestProblemInfo = &no
		}
		p.User = s.UserProperties
		p.AuthMethod = s.AuthMethod
		p.AuthData = s.AuthData
	}
	return c
}

// discardHandler is an slog.Handler that drops everything (slog's own
// DiscardHandler needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

func itoa(n int) string { return strconv.Itoa(n) }
