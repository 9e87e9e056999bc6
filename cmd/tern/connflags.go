package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/transport"
)

// connFlags are the flags that say how to reach a broker: TLS, proxy,
// WebSocket headers. Every command that connects has them, under the
// names mosquitto_pub and mosquitto_sub use where they have one.
type connFlags struct {
	cafile, cert, key   string
	pkcs12, pkcs12Pass  string
	insecure            bool
	alpn, tlsVersion    string
	ciphers, serverName string
	proxy               string
	noEnvProxy          bool
	wsHeaders           headerList
}

// headerList is a repeatable "Name: value" flag.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(s string) error { *h = append(*h, s); return nil }

// define adds the flags to f.
func (c *connFlags) define(f *flagSet) {
	f.stringVar(&c.cafile, "cafile", "", "verify the broker with the CA certificates in this PEM `file` (default: the system's)")
	f.stringVar(&c.cert, "cert", "", "the client certificate, a PEM `file`, for mutual TLS (with --key)")
	f.stringVar(&c.key, "key", "", "the client certificate's private key, a PEM `file`")
	f.stringVar(&c.pkcs12, "pkcs12", "", "the client certificate and key in a PKCS#12 `file` (.p12, .pfx)")
	f.stringVar(&c.pkcs12Pass, "pkcs12-password", "", "the `password` of --pkcs12 (default: $TERN_PKCS12_PASSWORD; never printed)")
	f.boolVar(&c.insecure, "insecure", "do not verify the broker's certificate (tests only: anyone can intercept)")
	f.stringVar(&c.alpn, "tls-alpn", "", "the ALPN `protocols` to offer, comma-separated (x-amzn-mqtt-ca for AWS IoT on 443)")
	f.stringVar(&c.tlsVersion, "tls-version", "", "the lowest TLS `version`: tlsv1.2 (default) or tlsv1.3")
	f.stringVar(&c.ciphers, "ciphers", "", "the TLS 1.2 cipher `suites`, comma-separated, IANA or OpenSSL names")
	f.stringVar(&c.serverName, "sni", "", "the server `name` to send and verify (default: the URL's host)")
	f.stringVar(&c.proxy, "proxy", "", "reach the broker through this proxy `URL`: http://[user:pass@]host:port, https://, socks5://, socks5h:// (default: $ALL_PROXY, $HTTPS_PROXY, $HTTP_PROXY by scheme)")
	f.boolVar(&c.noEnvProxy, "no-proxy-env", "ignore the *_PROXY environment variables")
	f.add("ws-header", "", func(n string) {
		f.fs.Var(&c.wsHeaders, n, "send this `\"Name: value\"` header in the WebSocket handshake (repeatable)")
	})
}

// apply sets cfg's TLSConfig and Dialer from the flags, for the broker's
// URL u. Errors name the flag at fault.
func (c *connFlags) apply(cfg *mqtt.Config, u *url.URL, getenv func(string) string) error {
	opts := transport.TLSOptions{
		CAFile: c.cafile, CertFile: c.cert, KeyFile: c.key, PKCS12File: c.pkcs12,
		PKCS12Password: c.pkcs12Pass, ServerName: c.serverName, InsecureSkipVerify: c.insecure,
	}
	if opts.PKCS12Password == "" && getenv != nil {
		opts.PKCS12Password = getenv("TERN_PKCS12_PASSWORD")
	}
	if c.alpn != "" {
		opts.ALPN = strings.Split(c.alpn, ",")
	}
	switch strings.ToLower(c.tlsVersion) {
	case "", "tlsv1.2", "1.2":
	case "tlsv1.3", "1.3":
		opts.MinVersion = tls.VersionTLS13
	default:
		return fmt.Errorf("--tls-version %q: give tlsv1.2 or tlsv1.3", c.tlsVersion)
	}
	if c.ciphers != "" {
		for _, name := range strings.Split(c.ciphers, ",") {
			id, err := transport.CipherSuite(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("--ciphers: %v", err)
			}
			opts.CipherSuites = append(opts.CipherSuites, id)
		}
	}
	tlsFlags := c.cafile != "" || c.cert != "" || c.key != "" || c.pkcs12 != "" || c.insecure ||
		c.alpn != "" || c.tlsVersion != "" || c.ciphers != "" || c.serverName != ""
	if tlsFlags && !transport.IsTLS(u.Scheme) {
		return fmt.Errorf("TLS flags given for %s://, which is not TLS: use mqtts:// (or wss://)", u.Scheme)
	}
	if tlsFlags {
		tc, err := opts.Config()
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "transport: "))
		}
		cfg.TLSConfig = tc
	}
	d := &transport.Dialer{Logger: cfg.Logger}
	switch {
	case c.proxy != "":
		p, err := transport.ParseURL(c.proxy)
		if err != nil || p.Host == "" {
			return errors.New("--proxy is not a URL: try http://host:3128 or socks5h://host:1080")
		}
		d.Proxy = transport.ProxyURL(p)
	case !c.noEnvProxy:
		d.Proxy = transport.ProxyFromEnvironment
	}
	for _, h := range c.wsHeaders {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("--ws-header %q: give \"Name: value\"", h)
		}
		if d.WebSocket.Header == nil {
			d.WebSocket.Header = make(map[string][]string)
		}
		d.WebSocket.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	cfg.Dialer = d
	return nil
}

// parseBrokerURL checks a broker URL given as flag: one of the schemes the
// client dials, with a host (or a path for unix://).
func parseBrokerURL(flagName, s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("%s %q is not a URL: try mqtt://%s", flagName, s, s)
	}
	u, err := transport.ParseURL(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flagName, err)
	}
	if u.Scheme == "unix" {
		if u.Path == "" {
			return nil, fmt.Errorf("%s %s: give the socket's path, as unix:///run/mosquitto.sock", flagName, u.Redacted())
		}
		return u, nil
	}
	if transport.DefaultPort(u.Scheme) == "" {
		return nil, fmt.Errorf("%s %s: unknown scheme %q; use mqtt://, mqtts://, ws://, wss:// or unix://", flagName, u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%s %s has no host: try %s://localhost", flagName, u.Redacted(), u.Scheme)
	}
	ws := u.Scheme == "ws" || u.Scheme == "wss"
	if !ws && ((u.Path != "" && u.Path != "/") || u.RawQuery != "") {
		return nil, fmt.Errorf("%s %s: the URL names only the broker (no path, no query); the topic is -t", flagName, u.Redacted())
	}
	if !ws {
		u.Path = ""
	}
	return u, nil
}
