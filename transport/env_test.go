package transport_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

// proxyVars are the variables ProxyFromEnvironment reads, in both cases.
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "all_proxy", "no_proxy"}

// setProxyEnv clears every proxy variable, then sets env, for the test.
func setProxyEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, v := range proxyVars {
		t.Setenv(v, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// TestProxyFromEnvironmentSchemes: which variable each broker scheme
// reads, upper or lower case, and the value without a scheme.
func TestProxyFromEnvironmentSchemes(t *testing.T) {
	all := map[string]string{"HTTP_PROXY": "http://h:1", "HTTPS_PROXY": "http://s:2", "ALL_PROXY": "socks5h://a:3"}
	lower := map[string]string{"http_proxy": "http://h:1", "https_proxy": "http://s:2", "all_proxy": "socks5h://a:3"}
	onlyAll := map[string]string{"ALL_PROXY": "socks5://a:3"}
	onlyHTTP := map[string]string{"HTTP_PROXY": "http://h:1"}
	onlyHTTPS := map[string]string{"HTTPS_PROXY": "http://s:2"}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		broker string
		want   string // "" for no proxy
	}{
		{"ws", all, "ws://broker/mqtt", "http://h:1"},
		{"wss", all, "wss://broker/mqtt", "http://s:2"},
		{"mqtts", all, "mqtts://broker", "http://s:2"},
		{"ssl", all, "ssl://broker", "http://s:2"},
		{"tls", all, "tls://broker", "http://s:2"},
		{"mqtt", all, "mqtt://broker", "socks5h://a:3"},
		{"tcp", all, "tcp://broker", "socks5h://a:3"},
		{"unix", all, "unix:///run/broker.sock", ""},

		{"lower ws", lower, "ws://broker", "http://h:1"},
		{"lower wss", lower, "wss://broker", "http://s:2"},
		{"lower mqtt", lower, "mqtt://broker", "socks5h://a:3"},

		{"ws falls back to ALL_PROXY", onlyAll, "ws://broker", "socks5://a:3"},
		{"wss falls back to ALL_PROXY", onlyAll, "wss://broker", "socks5://a:3"},
		{"mqtts falls back to ALL_PROXY", onlyAll, "mqtts://broker", "socks5://a:3"},
		{"mqtt ignores HTTP_PROXY", onlyHTTP, "mqtt://broker", ""},
		{"mqtt ignores HTTPS_PROXY", onlyHTTPS, "mqtt://broker", ""},
		{"mqtts ignores HTTP_PROXY", onlyHTTP, "mqtts://broker", ""},
		{"ws ignores HTTPS_PROXY", onlyHTTPS, "ws://broker", ""},
		{"unknown scheme", all, "quic://broker", ""},

		{"no scheme", map[string]string{"ALL_PROXY": "proxy.example:3128"}, "mqtt://broker", "http://proxy.example:3128"},
		{"no scheme with user", map[string]string{"HTTPS_PROXY": "u:p@proxy.example:3128"}, "mqtts://broker", "http://u:p@proxy.example:3128"},
		{"https proxy", map[string]string{"HTTPS_PROXY": "https://proxy.example"}, "wss://broker", "https://proxy.example"},
		{"nothing set", nil, "mqtts://broker", ""},
		// Unlike net/http, loopback is not exempt by itself.
		{"loopback IP", onlyAll, "mqtt://127.0.0.1:1883", "socks5://a:3"},
		{"localhost", onlyAll, "mqtt://localhost", "socks5://a:3"},
		{"IPv6 loopback", onlyAll, "mqtt://[::1]:1883", "socks5://a:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setProxyEnv(t, tc.env)
			p, err := transport.ProxyFromEnvironment(mustURL(t, tc.broker))
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if p != nil {
				got = p.String()
			}
			if got != tc.want {
				t.Fatalf("proxy for %s: %q, want %q", tc.broker, got, tc.want)
			}
		})
	}
}

// TestProxyFromEnvironmentNoProxy: the entries of NO_PROXY.
func TestProxyFromEnvironmentNoProxy(t *testing.T) {
	for _, tc := range []struct {
		noProxy string
		broker  string
		direct  bool
	}{
		{"example.com", "mqtt://example.com", true},
		{"example.com", "mqtt://a.example.com", true},
		{"example.com", "mqtt://a.b.example.com:1884", true},
		{"example.com", "mqtt://badexample.com", false},
		{"example.com", "mqtt://example.com.evil", false},
		{"example.com", "mqtt://example.org", false},
		{".example.com", "mqtt://a.example.com", true},
		{".example.com", "mqtt://example.com", true},
		{"*.example.com", "mqtt://a.example.com", true},
		{"EXAMPLE.com", "mqtt://a.Example.COM", true},
		{"example.com.", "mqtt://a.example.com", true},
		{"example.com", "mqtt://a.example.com.", true},
		{"*", "mqtt://anything", true},
		{"*", "mqtt://10.1.2.3", true},
		{"other.org, example.com ,x.net", "mqtt://example.com", true},
		{"other.org,,x.net", "mqtt://example.com", false},
		{"", "mqtt://example.com", false},

		{"10.1.2.3", "mqtt://10.1.2.3", true},
		{"10.1.2.3", "mqtt://10.1.2.4", false},
		{"10.0.0.0/8", "mqtt://10.200.0.1", true},
		{"10.0.0.0/8", "mqtt://11.0.0.1", false},
		{"10.0.0.0/8", "mqtt://ten.example", false},
		{"127.0.0.1", "mqtt://127.0.0.1", true},
		{"127.0.0.1", "mqtt://localhost", false}, // names are not resolved
		// An IP address matches IP and CIDR entries only, not name suffixes.
		{"1.2.3", "mqtt://10.1.2.3", false},
		{"2.3", "mqtt://1.2.3", true}, // not an address: a name, of digits

		{"example.com:8883", "mqtts://example.com", true},
		{"example.com:8883", "mqtts://a.example.com:8883", true},
		{"example.com:8883", "mqtt://example.com", false},
		{"example.com:8883", "mqtts://example.com:8884", false},
		{"10.0.0.0/8:1883", "mqtt://10.1.1.1", true},
		{"10.0.0.0/8:1883", "mqtt://10.1.1.1:1884", false},
		{"broker:443", "wss://broker/mqtt", true},
		{"broker:80", "ws://broker/mqtt", true},

		{"::1", "mqtt://[::1]:1883", true},
		{"[::1]", "mqtt://[::1]:1883", true},
		{"[::1]:1883", "mqtt://[::1]", true},
		{"[::1]:1883", "mqtt://[::1]:1884", false},
		{"fd00::/8", "mqtt://[fd12:3456::1]", true},
		{"fd00::/8", "mqtt://[fe80::1]", false},
		{"2001:db8::1", "mqtt://[2001:DB8::1]", true},
		{"::1", "mqtt://127.0.0.1", false},
	} {
		t.Run(tc.noProxy+" "+tc.broker, func(t *testing.T) {
			for _, name := range []string{"NO_PROXY", "no_proxy"} {
				setProxyEnv(t, map[string]string{"ALL_PROXY": "http://proxy:3128", "HTTPS_PROXY": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128", name: tc.noProxy})
				p, err := transport.ProxyFromEnvironment(mustURL(t, tc.broker))
				if err != nil {
					t.Fatal(err)
				}
				if direct := p == nil; direct != tc.direct {
					t.Errorf("%s=%q: %s direct: %v, want %v", name, tc.noProxy, tc.broker, direct, tc.direct)
				}
			}
		})
	}
}

// TestProxyFromEnvironmentBadValue: a value that is not a URL is an error
// that does not quote it (it may hold a password).
func TestProxyFromEnvironmentBadValue(t *testing.T) {
	setProxyEnv(t, map[string]string{"ALL_PROXY": "http://user:pa%zzss@proxy:3128"})
	_, err := transport.ProxyFromEnvironment(mustURL(t, "mqtt://broker"))
	noSecret(t, err, "pa%zzss", "user")
}

// TestProxyFromEnvironmentTinyproxy: with HTTPS_PROXY and ALL_PROXY naming
// tinyproxy and a Dialer{Proxy: ProxyFromEnvironment}, mqtts and mqtt go
// through the proxy (tinyproxy logs the CONNECTs); with NO_PROXY naming
// the broker they go directly; with the variables unset, directly too.
func TestProxyFromEnvironmentTinyproxy(t *testing.T) {
	ca := certtest.NewCA(t, "Tern broker CA")
	mqtts := mosquittoTLS(t, ca, false)
	b := brokertest.Mochi(t)
	tp := startTinyproxy(t, tinyproxyOptions{ConnectPorts: []string{portOf(t, mqtts), portOf(t, b.URL)}})
	d := &transport.Dialer{Proxy: transport.ProxyFromEnvironment, TLSConfig: &tls.Config{RootCAs: ca.Pool()}}
	tlsHost, tcpHost := mustURL(t, mqtts).Host, mustURL(t, b.URL).Host
	check := func(t *testing.T, wantTLS, wantTCP int) {
		t.Helper()
		if n := tp.connects(t, tlsHost); n != wantTLS {
			t.Errorf("tinyproxy logged %d CONNECT %s, want %d", n, tlsHost, wantTLS)
		}
		if n := tp.connects(t, tcpHost); n != wantTCP {
			t.Errorf("tinyproxy logged %d CONNECT %s, want %d", n, tcpHost, wantTCP)
		}
	}

	setProxyEnv(t, map[string]string{"HTTPS_PROXY": "http://" + tp.Addr, "all_proxy": tp.Addr})
	roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d})
	roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
	check(t, 1, 1)

	// The environment is read at each connection.
	t.Setenv("NO_PROXY", "localhost, 127.0.0.0/8")
	roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d})
	roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
	check(t, 1, 1)

	// A port entry exempts only that port.
	t.Setenv("NO_PROXY", tcpHost)
	roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d})
	roundTrip(t, mqtt.Config{Broker: b.URL, Dialer: d})
	check(t, 2, 1)

	setProxyEnv(t, nil)
	roundTrip(t, mqtt.Config{Broker: mqtts, Dialer: d})
	roundTrip(t, mqtt.Config{Broker: "mqtt://" + strings.Replace(tcpHost, "127.0.0.1", "localhost", 1), Dialer: d})
	check(t, 2, 1)
}

// TestProxyFromEnvironmentCGI: in a CGI program (REQUEST_METHOD set),
// HTTP_PROXY may come from a request's Proxy header, so ws:// ignores it
// and falls back to ALL_PROXY, as net/http does ("httpoxy").
func TestProxyFromEnvironmentCGI(t *testing.T) {
	setProxyEnv(t, map[string]string{"HTTP_PROXY": "http://evil:1", "ALL_PROXY": "socks5h://a:3", "REQUEST_METHOD": "GET"})
	p, err := transport.ProxyFromEnvironment(mustURL(t, "ws://broker/mqtt"))
	if err != nil {
		t.Fatal(err)
	}
	if p == nil || p.String() != "socks5h://a:3" {
		t.Fatalf("proxy %v; want socks5h://a:3", p)
	}
}
