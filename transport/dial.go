// Package transport opens the network connection to an MQTT broker from its
// URL: TCP, TLS, WebSocket and secure WebSocket, unix sockets, directly or
// through an HTTP CONNECT or SOCKS5 proxy.
//
// A *Dialer is what mqtt.Config uses when its Dialer is nil; it is here, in
// a package of its own, for programs that dial themselves (to wrap the
// connection, to test) and for the options that have no place in
// mqtt.Config.
//
// # Schemes
//
//	mqtt, tcp          TCP, port 1883 by default
//	mqtts, ssl, tls    TLS over TCP, port 8883
//	ws                 WebSocket, port 80, path /mqtt by default
//	wss                WebSocket over TLS, port 443, path /mqtt
//	unix               a unix socket: unix:///run/broker.sock (no proxy)
//
// Hosts may be names, IPv4 or bracketed IPv6 literals (mqtts://[::1]:8883).
//
// # WebSocket
//
// WebSocket is github.com/coder/websocket rather than
// github.com/gorilla/websocket: its Dial takes a context, so a cancelled
// connection attempt stops in the HTTP handshake too; it has no dependencies;
// and it adapts a connection to a net.Conn (websocket.NetConn) whose reads
// run across message boundaries, which is exactly what MQTT over WebSocket
// needs: a packet may be split over several binary messages, and one message
// may hold several packets (MQTT 5.0 section 6.0). Every write is one binary
// message, and the subprotocol is "mqtt" (MQTT-6.0.0-3, MQTT-6.0.0-4).
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Dialer dials brokers by URL. Its zero value dials every scheme directly,
// verifying TLS servers against the system's roots. A Dialer is safe to use
// from several goroutines; do not change it while it dials.
type Dialer struct {
	// TLSConfig configures TLS to the broker (mqtts, ssl, tls, wss). It is
	// cloned for each connection. If nil, the system's roots verify the
	// server. If its ServerName is empty, the URL's host is used, for SNI
	// and verification; if its MinVersion is zero, TLS 1.2. See
	// TLSOptions to build one from files.
	TLSConfig *tls.Config
	// Proxy returns the proxy to reach a broker through, or nil to dial it
	// directly: http://[user:password@]host:port or https://... for HTTP
	// CONNECT (basic authentication; TLS to the proxy for https), and
	// socks5://[user:password@]host:port or socks5h://... for SOCKS5 (with
	// socks5h, the proxy resolves the broker's name). See ProxyURL and
	// ProxyFromEnvironment. If nil, no proxy.
	Proxy func(broker *url.URL) (*url.URL, error)
	// ProxyTLSConfig configures TLS to an https:// proxy. If nil, the
	// system's roots verify the proxy.
	ProxyTLSConfig *tls.Config
	// WebSocket configures ws and wss connections.
	WebSocket WebSocketOptions
	// NetDialer dials TCP and unix sockets (to the broker or the proxy).
	// If nil, a net.Dialer with its defaults.
	NetDialer *net.Dialer
	// Logger receives warnings (InsecureSkipVerify in use). If nil,
	// slog.Default().
	Logger *slog.Logger
}

// WebSocketOptions configure the WebSocket handshake.
type WebSocketOptions struct {
	// Header is sent with the handshake request (for example an
	// Authorization header).
	Header http.Header
	// Subprotocols offered. If nil, "mqtt" (MQTT-6.0.0-3); some older
	// brokers want "mqttv3.1".
	Subprotocols []string
}

// DefaultPort returns the port a scheme uses when its URL names none, or
// "" for a scheme this package does not know.
func DefaultPort(scheme string) string {
	switch scheme {
	case "mqtt", "tcp":
		return "1883"
	case "mqtts", "ssl", "tls":
		return "8883"
	case "ws":
		return "80"
	case "wss":
		return "443"
	}
	return ""
}

// IsTLS reports whether a scheme's connection is TLS.
func IsTLS(scheme string) bool {
	switch scheme {
	case "mqtts", "ssl", "tls", "wss":
		return true
	}
	return false
}

// ErrScheme is returned for a URL whose scheme the Dialer does not know.
var ErrScheme = errors.New("transport: unknown scheme (want mqtt, tcp, mqtts, ssl, tls, ws, wss or unix)")

// Dial connects to the broker at u.
func (d *Dialer) Dial(ctx context.Context, u *url.URL) (net.Conn, error) {
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, errors.New("transport: unix URL has no path (unix:///path/to/socket)")
		}
		return d.netDialer().DialContext(ctx, "unix", path)
	case "ws", "wss":
		return d.dialWebSocket(ctx, u)
	}
	port := DefaultPort(u.Scheme)
	if port == "" {
		return nil, fmt.Errorf("%w: %q", ErrScheme, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("transport: %s has no host", Redact(u))
	}
	nc, err := d.dialTCP(ctx, u, hostPort(u, port))
	if err != nil || !IsTLS(u.Scheme) {
		return nc, err
	}
	return d.handshake(ctx, nc, d.tlsConfig(u, nil))
}

// dialTCP opens a TCP connection to addr, u's host and port, directly or
// through the proxy Proxy gives for u.
func (d *Dialer) dialTCP(ctx context.Context, u *url.URL, addr string) (net.Conn, error) {
	if d.Proxy != nil {
		p, err := d.Proxy(u)
		if err != nil {
			return nil, fmt.Errorf("transport: proxy for %s: %w", Redact(u), err)
		}
		if p != nil {
			return d.dialProxy(ctx, p, addr)
		}
	}
	return d.netDialer().DialContext(ctx, "tcp", addr)
}

func (d *Dialer) netDialer() *net.Dialer {
	if d.NetDialer != nil {
		return d.NetDialer
	}
	return &net.Dialer{}
}

func (d *Dialer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// tlsConfig returns the TLS configuration for a connection to u: a clone of
// TLSConfig, with ServerName and MinVersion defaulted, and alpn as
// NextProtos when not nil.
func (d *Dialer) tlsConfig(u *url.URL, alpn []string) *tls.Config {
	var cfg *tls.Config
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if alpn != nil {
		cfg.NextProtos = alpn
	}
	if cfg.InsecureSkipVerify {
		d.logger().Warn("transport: TLS server verification is off (InsecureSkipVerify): the connection can be intercepted", "server", cfg.ServerName)
	}
	return cfg
}

// handshake runs the TLS client handshake over nc, bounded by ctx; nc is
// closed when it fails.
func (d *Dialer) handshake(ctx context.Context, nc net.Conn, cfg *tls.Config) (net.Conn, error) {
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("transport: TLS handshake with %s: %w", cfg.ServerName, err)
	}
	return tc, nil
}

// hostPort returns u's host and port, with def for a missing port.
func hostPort(u *url.URL, def string) string {
	port := u.Port()
	if port == "" {
		port = def
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// contextDeadline applies ctx's deadline to nc until the returned function
// is called, and interrupts nc when ctx ends meanwhile.
func contextDeadline(ctx context.Context, nc net.Conn) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	after := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		after()
		nc.SetDeadline(time.Time{})
	}
}

// ParseURL is url.Parse with errors that do not quote the URL, which may
// hold a password or a signature.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	return u, nil
}
