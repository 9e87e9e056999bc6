package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/coder/websocket"
)

// dialWebSocket opens a WebSocket connection to u (ws or wss) and returns it
// as a net.Conn carrying binary messages.
func (d *Dialer) dialWebSocket(ctx context.Context, u *url.URL) (net.Conn, error) {
	if u.Hostname() == "" {
		return nil, fmt.Errorf("transport: %s has no host", Redact(u))
	}
	port := DefaultPort(u.Scheme)
	addr := hostPort(u, port)
	// The URL the handshake asks for: http(s), the path (/mqtt if none),
	// the query (a presigned URL's signature), never the user info.
	hu := *u
	hu.User = nil
	hu.Fragment = ""
	hu.Scheme = "http"
	if u.Scheme == "wss" {
		hu.Scheme = "https"
	}
	if hu.Path == "" && hu.RawPath == "" && hu.Opaque == "" {
		hu.Path = "/mqtt"
	}
	tr := &http.Transport{
		Proxy: nil, // d.dialTCP applies d.Proxy
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.dialTCP(ctx, u, addr)
		},
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			nc, err := d.dialTCP(ctx, u, addr)
			if err != nil {
				return nil, err
			}
			// The handshake is HTTP/1.1: ALPN, if any, must say so.
			return d.handshake(ctx, nc, d.tlsConfig(u, []string{"http/1.1"}))
		},
		ForceAttemptHTTP2:  false,
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{NextProtos: []string{"http/1.1"}},
	}
	defer tr.CloseIdleConnections()
	protos := d.WebSocket.Subprotocols
	if protos == nil {
		protos = []string{"mqtt"}
	}
	c, resp, err := websocket.Dial(ctx, hu.String(), &websocket.DialOptions{
		// A redirect is not followed: the connection is dialled to u's
		// host, whatever the Location says; the 3xx is the error.
		HTTPClient: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		HTTPHeader:   d.WebSocket.Header,
		Subprotocols: protos,
	})
	if err != nil {
		// http.Client's errors quote the URL, query and all: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if resp != nil {
			return nil, fmt.Errorf("transport: WebSocket handshake with %s: %s: %w", Redact(u), resp.Status, err)
		}
		return nil, fmt.Errorf("transport: WebSocket handshake with %s: %w", Redact(u), err)
	}
	if c.Subprotocol() == "" && len(protos) > 0 {
		// MQTT-6.0.0-4: the server must choose one; some servers do not
		// answer at all and still speak MQTT, so this is tolerated.
		d.logger().Debug("transport: the WebSocket server chose no subprotocol", "server", u.Host)
	}
	return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
}

// Redact returns u as text for logs and errors: without its password, and
// with its query (a presigned URL's signature and session token) elided.
func Redact(u *url.URL) string {
	r := *u
	if r.RawQuery != "" {
		r.RawQuery = "…"
	}
	return r.Redacted()
}
