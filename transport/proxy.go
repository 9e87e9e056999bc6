package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/proxy"
)

// ProxyURL returns a Proxy function that always gives p.
func ProxyURL(p *url.URL) func(*url.URL) (*url.URL, error) {
	return func(*url.URL) (*url.URL, error) { return p, nil }
}

// ProxyFromEnvironment gives the proxy the usual environment variables
// name for a broker URL, as curl reads them (upper or lower case):
//
//	ws                       HTTP_PROXY, else ALL_PROXY
//	wss, mqtts, ssl, tls     HTTPS_PROXY, else ALL_PROXY
//	mqtt, tcp                ALL_PROXY
//	unix                     never
//
// NO_PROXY lists hosts to reach directly, separated by commas: a name
// matches itself and its subdomains (".example.com" and "example.com" both
// match "a.example.com"), an IP address or a CIDR block matches the
// addresses in it, a ":port" suffix limits an entry to that port, and "*"
// matches every host. Unlike net/http, loopback addresses are not exempt
// by themselves: list them in NO_PROXY. A proxy value without a scheme is
// taken as http://.
//
// Upper case wins over lower case, as in net/http; and as there, HTTP_PROXY
// is ignored in a CGI program (REQUEST_METHOD set), where a request could
// have set it. The environment is read on every call, so a change applies
// at the next connection attempt.
func ProxyFromEnvironment(broker *url.URL) (*url.URL, error) {
	var names []string
	switch broker.Scheme {
	case "ws":
		names = []string{"HTTP_PROXY", "ALL_PROXY"}
	case "wss", "mqtts", "ssl", "tls":
		names = []string{"HTTPS_PROXY", "ALL_PROXY"}
	case "mqtt", "tcp":
		names = []string{"ALL_PROXY"}
	default:
		return nil, nil
	}
	var val string
	for _, n := range names {
		if n == "HTTP_PROXY" && os.Getenv("REQUEST_METHOD") != "" {
			// Under CGI, HTTP_PROXY may come from a request's Proxy header
			// ("httpoxy"): net/http ignores it there, and so do we.
			continue
		}
		if val = getenv(n); val != "" {
			break
		}
	}
	if val == "" || noProxy(getenv("NO_PROXY"), broker.Hostname(), portOf(broker)) {
		return nil, nil
	}
	if !strings.Contains(val, "://") {
		val = "http://" + val
	}
	p, err := ParseURL(val)
	if err != nil {
		return nil, fmt.Errorf("transport: the proxy variable: %w", err)
	}
	return p, nil
}

func getenv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return os.Getenv(strings.ToLower(name))
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return DefaultPort(u.Scheme)
}

// noProxy reports whether list (NO_PROXY's value) exempts host:port.
func noProxy(list, host, port string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	ip := net.ParseIP(host)
	for _, e := range strings.Split(list, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if e == "*" {
			return true
		}
		if h, p, err := net.SplitHostPort(e); err == nil {
			if p != port {
				continue
			}
			e = h
		}
		e = strings.Trim(e, "[]")
		if _, block, err := net.ParseCIDR(e); err == nil {
			if ip != nil && block.Contains(ip) {
				return true
			}
			continue
		}
		if eip := net.ParseIP(e); eip != nil {
			if ip != nil && eip.Equal(ip) {
				return true
			}
			continue
		}
		if ip != nil {
			continue // an address matches addresses and blocks only
		}
		e = strings.TrimPrefix(strings.TrimSuffix(e, "."), "*")
		e = strings.TrimPrefix(e, ".")
		if host == e || strings.HasSuffix(host, "."+e) {
			return true
		}
	}
	return false
}

// dialProxy opens a tunnel to addr through the proxy p.
func (d *Dialer) dialProxy(ctx context.Context, p *url.URL, addr string) (net.Conn, error) {
	switch p.Scheme {
	case "http", "https":
		return d.dialConnect(ctx, p, addr)
	case "socks5", "socks5h":
		return d.dialSOCKS5(ctx, p, addr)
	}
	return nil, fmt.Errorf("transport: proxy scheme %q is not http, https, socks5 or socks5h", p.Scheme)
}

// dialConnect opens a tunnel with HTTP CONNECT (RFC 9110 section 9.3.6).
func (d *Dialer) dialConnect(ctx context.Context, p *url.URL, addr string) (net.Conn, error) {
	def := "80"
	if p.Scheme == "https" {
		def = "443"
	}
	nc, err := d.netDialer().DialContext(ctx, "tcp", hostPort(p, def))
	if err != nil {
		return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), err)
	}
	if p.Scheme == "https" {
		var cfg *tls.Config
		if d.ProxyTLSConfig != nil {
			cfg = d.ProxyTLSConfig.Clone()
		} else {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = p.Hostname()
		}
		if cfg.MinVersion == 0 {
			cfg.MinVersion = tls.VersionTLS12
		}
		if nc, err = d.handshake(ctx, nc, cfg); err != nil {
			return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), err)
		}
	}
	stop := contextDeadline(ctx, nc)
	defer stop()
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: make(http.Header),
	}
	if u := p.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), ctxErr(ctx, err))
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("transport: proxy %s: reading the answer to CONNECT: %w", p.Redacted(), ctxErr(ctx, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		nc.Close()
		return nil, &ProxyError{Proxy: p.Redacted(), Target: addr, Status: resp.Status}
	}
	if br.Buffered() > 0 {
		// The broker spoke before the client did; keep what was read.
		return &bufferedConn{Conn: nc, r: br}, nil
	}
	return nc, nil
}

// ProxyError is an HTTP proxy's refusal of a CONNECT.
type ProxyError struct {
	Proxy  string // the proxy's URL, without its password
	Target string // host:port asked for
	Status string // for example "407 Proxy Authentication Required"
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("transport: proxy %s refused CONNECT %s: %s", e.Proxy, e.Target, e.Status)
}

// bufferedConn is a net.Conn whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialSOCKS5 opens a tunnel through a SOCKS5 proxy (RFC 1928), with
// username and password authentication (RFC 1929) when p has them.
func (d *Dialer) dialSOCKS5(ctx context.Context, p *url.URL, addr string) (net.Conn, error) {
	var auth *proxy.Auth
	if u := p.User; u != nil {
		pw, _ := u.Password()
		auth = &proxy.Auth{User: u.Username(), Password: pw}
	}
	sd, err := proxy.SOCKS5("tcp", hostPort(p, "1080"), auth, d.netDialer())
	if err != nil {
		return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), err)
	}
	targets := []string{addr}
	if host, port, _ := net.SplitHostPort(addr); p.Scheme == "socks5" && net.ParseIP(host) == nil {
		// socks5: the client resolves the name, and tries its addresses
		// in turn; socks5h: the proxy resolves it.
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), err)
		}
		targets = targets[:0]
		for _, ip := range ips {
			targets = append(targets, net.JoinHostPort(ip.IP.String(), port))
		}
		if len(targets) == 0 {
			return nil, fmt.Errorf("transport: no address for %s", host)
		}
	}
	for _, t := range targets {
		var nc net.Conn
		nc, err = sd.(proxy.ContextDialer).DialContext(ctx, "tcp", t)
		if err == nil {
			return nc, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("transport: proxy %s: %w", p.Redacted(), err)
}

// ctxErr returns ctx's error when ctx has ended (the cause of an I/O error
// on an interrupted connection), else err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
