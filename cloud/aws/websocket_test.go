package aws

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

// issuer is a CredentialsProvider handing out new temporary credentials at
// every call, as an STS client would after each expiry.
type issuer struct {
	mu     sync.Mutex
	issued map[string]Credentials // by access key ID
	order  []string
	fail   bool // hand out credentials the server does not know
}

func (is *issuer) provide(ctx context.Context) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	secret := make([]byte, 20)
	rand.Read(secret)
	is.mu.Lock()
	defer is.mu.Unlock()
	n := len(is.order) + 1
	c := Credentials{
		AccessKeyID:     fmt.Sprintf("ASIATERNTEST%08d", n),
		SecretAccessKey: hex.EncodeToString(secret),
		SessionToken:    fmt.Sprintf("IQoJb3JpZ2luX2Vj/%d+token==", n), // '/', '+' and '=' to encode
	}
	is.order = append(is.order, c.AccessKeyID)
	if !is.fail {
		is.issued[c.AccessKeyID] = c
	}
	return c, nil
}

func (is *issuer) lookup(akid string) (Credentials, bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	c, ok := is.issued[akid]
	return c, ok
}

// wsGateway plays the AWS IoT Core WebSocket gateway: it checks the
// presigned URL of each handshake (recomputing the signature with
// aws-sdk-go-v2's signer), then bridges binary messages to a broker.
type wsGateway struct {
	srv    *httptest.Server
	issuer *issuer
	broker string
	cs     *conns // the bridged connections, to cut them

	mu       sync.Mutex
	accepted []string // the access key ID of each accepted handshake
	refused  []string // why each refused handshake was refused
}

func (g *wsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	akid, err := g.verify(r)
	g.mu.Lock()
	if err != nil {
		g.refused = append(g.refused, err.Error())
	} else {
		g.accepted = append(g.accepted, akid)
	}
	g.mu.Unlock()
	if err != nil {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		return
	}
	up, err := net.Dial("tcp", g.broker)
	if err != nil {
		c.CloseNow()
		return
	}
	g.cs.pipe(websocket.NetConn(context.Background(), c, websocket.MessageBinary), up)
}

// verify checks a handshake's presigned URL as AWS IoT Core would, and
// returns its access key ID. Its errors never show a secret.
func (g *wsGateway) verify(r *http.Request) (string, error) {
	if r.TLS == nil || r.TLS.ServerName != testEndpoint || r.Host != testEndpoint || r.URL.Path != "/mqtt" {
		return "", errors.New("not wss://endpoint/mqtt, or another SNI")
	}
	q := r.URL.Query()
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
		if len(q[k]) != 1 {
			return "", fmt.Errorf("%s: %d values, want 1", k, len(q[k]))
		}
	}
	if len(q) != 6 {
		return "", fmt.Errorf("%d query parameters, want 6", len(q))
	}
	if q.Get("X-Amz-Algorithm") != sigAlgorithm || q.Get("X-Amz-SignedHeaders") != "host" {
		return "", errors.New("wrong algorithm or signed headers")
	}
	at, err := time.Parse(amzDate, q.Get("X-Amz-Date"))
	if err != nil {
		return "", errors.New("bad X-Amz-Date")
	}
	if d := time.Since(at); d < -5*time.Minute || d > 5*time.Minute {
		return "", fmt.Errorf("X-Amz-Date %s is %v away from now", at, d)
	}
	parts := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(parts) != 5 || parts[1] != at.Format(amzDay) || parts[2] != testRegion || parts[3] != iotService || parts[4] != "aws4_request" {
		return "", fmt.Errorf("X-Amz-Credential scope %q", strings.Join(parts[1:], "/"))
	}
	creds, ok := g.issuer.lookup(parts[0])
	if !ok {
		return "", fmt.Errorf("unknown access key %s", parts[0])
	}
	if q.Get("X-Amz-Security-Token") != creds.SessionToken {
		return "", errors.New("wrong session token")
	}
	// The token comes last, after the signature, unsigned and URL-encoded.
	if !strings.HasSuffix(r.URL.RawQuery, "&X-Amz-Security-Token="+url.QueryEscape(creds.SessionToken)) {
		return "", errors.New("the session token is not last, or not URL-encoded")
	}
	unsigned := creds
	unsigned.SessionToken = ""
	want, err := url.Parse(sdkPresignAt(r.Host, unsigned, at))
	if err != nil {
		return "", err
	}
	if want.Query().Get("X-Amz-Signature") != q.Get("X-Amz-Signature") {
		return "", errors.New("signature mismatch")
	}
	return creds.AccessKeyID, nil
}

func (g *wsGateway) result() (accepted, refused []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.accepted...), append([]string(nil), g.refused...)
}

func startWSGateway(t *testing.T, ca *certtest.CA, is *issuer, broker string) *wsGateway {
	g := &wsGateway{issuer: is, broker: broker, cs: newConns(t)}
	g.srv = httptest.NewUnstartedServer(g)
	g.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert(t, ca)}}
	g.srv.StartTLS()
	t.Cleanup(func() {
		g.cs.closeAll(true) // hijacked connections are not the server's to close
		g.srv.Close()
	})
	return g
}

// TestWebSocket connects over wss with a presigned URL, and checks that the
// first connection and every reconnection (forced by cutting the
// connection at the gateway) used a URL signed anew, with new credentials
// from the provider.
func TestWebSocket(t *testing.T) {
	cs := newConns(t)
	ca := certtest.NewCA(t, "Tern test CA")
	is := &issuer{issued: map[string]Credentials{}}
	broker := brokertest.Mochi(t)
	gw := startWSGateway(t, ca, is, hostPort(t, broker.URL))
	px := startProxy(t, cs, gw.srv.Listener.Addr().String())

	connected := make(chan struct{}, 16)
	var userHookSaw []string // what a BeforeConnect of the base saw
	var hookMu sync.Mutex
	cfg, err := WebSocket{Endpoint: testEndpoint, Credentials: is.provide}.Config(mqtt.Config{
		ClientID:  "thing-ws",
		Reconnect: true,
		Backoff:   mqtt.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond, Jitter: mqtt.JitterNone},
		Dialer: &transport.Dialer{
			Proxy:     transport.ProxyURL(px.URL),
			TLSConfig: &tls.Config{RootCAs: ca.Pool()},
		},
		BeforeConnect: func(ctx context.Context, a *mqtt.Attempt) error {
			hookMu.Lock()
			defer hookMu.Unlock()
			userHookSaw = append(userHookSaw, a.Broker.Query().Get("X-Amz-Credential"))
			return nil
		},
		OnEvent: func(e mqtt.Event) {
			if e.Kind == mqtt.EventConnected {
				connected <- struct{}{}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker != "wss://"+testEndpoint+"/mqtt" {
		t.Errorf("Broker %q", cfg.Broker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	client, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitConnected := func() {
		t.Helper()
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatal("no connection")
		}
	}
	waitConnected()
	roundTrip(t, client, "things/thing-ws/echo")
	const cuts = 2
	for i := 0; i < cuts; i++ {
		gw.cs.closeAll(false)
		waitConnected()
		roundTrip(t, client, fmt.Sprintf("things/thing-ws/echo/%d", i))
	}

	accepted, refused := gw.result()
	if len(refused) > 0 {
		t.Errorf("the gateway refused handshakes: %q", refused)
	}
	is.mu.Lock()
	issued := append([]string(nil), is.order...)
	is.mu.Unlock()
	if len(accepted) != cuts+1 || strings.Join(accepted, " ") != strings.Join(issued, " ") {
		t.Errorf("handshakes signed by %q; the provider issued %q: want one new access key per connection", accepted, issued)
	}
	hookMu.Lock()
	if len(userHookSaw) != len(issued) || !strings.HasPrefix(userHookSaw[len(userHookSaw)-1], issued[len(issued)-1]+"/") {
		t.Errorf("the base's BeforeConnect saw %q, want the presigned URL of each attempt", userHookSaw)
	}
	hookMu.Unlock()
	for _, target := range px.Targets() {
		if target != testEndpoint+":443" {
			t.Errorf("the proxy was asked for %q, want %s:443", target, testEndpoint)
		}
	}
}

// TestWebSocketRefused checks that the gateway's verification refuses a
// URL signed with a secret key it does not know, and that the client's
// error shows no secret.
func TestWebSocketRefused(t *testing.T) {
	cs := newConns(t)
	ca := certtest.NewCA(t, "Tern test CA")
	is := &issuer{issued: map[string]Credentials{}}
	broker := brokertest.Mochi(t)
	gw := startWSGateway(t, ca, is, hostPort(t, broker.URL))
	px := startProxy(t, cs, gw.srv.Listener.Addr().String())

	var last Credentials
	provide := func(ctx context.Context) (Credentials, error) {
		c, err := is.provide(ctx)
		// The server knows the access key, with another secret.
		last = c
		c.SecretAccessKey = "not-" + c.SecretAccessKey
		return c, err
	}
	cfg, err := WebSocket{Endpoint: testEndpoint, Region: testRegion, Credentials: provide}.Config(mqtt.Config{
		Dialer: &transport.Dialer{Proxy: transport.ProxyURL(px.URL), TLSConfig: &tls.Config{RootCAs: ca.Pool()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = mqtt.Dial(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Dial: %v, want a 403 refusal", err)
	}
	if _, refused := gw.result(); len(refused) != 1 || refused[0] != "signature mismatch" {
		t.Errorf("the gateway refused for %q, want a signature mismatch", refused)
	}
	for _, secret := range []string{last.SecretAccessKey, last.SessionToken, uriEncode(last.SessionToken, false), "X-Amz-Signature"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows a secret or a signature")
		}
	}

	// A provider's failure fails the attempt, wrapped.
	boom := errors.New("no credentials today")
	cfg, _ = WebSocket{Endpoint: testEndpoint, Credentials: func(context.Context) (Credentials, error) { return Credentials{}, boom }}.Config(mqtt.Config{})
	if _, err := mqtt.Dial(ctx, cfg); !errors.Is(err, boom) || !strings.Contains(err.Error(), "aws: credentials") {
		t.Errorf("Dial with a failing provider: %v", err)
	}
}

func TestWebSocketConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		o    WebSocket
	}{
		{"no endpoint", WebSocket{Credentials: StaticCredentials(Credentials{})}},
		{"no region", WebSocket{Endpoint: "mqtt.example.com", Credentials: StaticCredentials(Credentials{})}},
		{"no credentials", WebSocket{Endpoint: testEndpoint}},
	} {
		if _, err := c.o.Config(mqtt.Config{}); err == nil || !strings.HasPrefix(err.Error(), "aws: ") {
			t.Errorf("%s: error %v, want one starting with \"aws: \"", c.name, err)
		}
	}
	for host, want := range map[string]string{
		testEndpoint: testRegion,
		"abc-ats.iot.cn-north-1.amazonaws.com.cn": "cn-north-1",
		"abc.iot.us-gov-west-1.amazonaws.com":     "us-gov-west-1",
		"example.com":                             "",
		"iot.amazonaws.com":                       "",
	} {
		if got, _ := regionOf(host); got != want {
			t.Errorf("regionOf(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCredentialsHideSecrets(t *testing.T) {
	c := Credentials{AccessKeyID: "AKIDVISIBLE", SecretAccessKey: "wJalrXUtnFEMI/SECRET", SessionToken: "TOKEN/secret"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		s := fmt.Sprintf(verb, c)
		if strings.Contains(s, "SECRET") || strings.Contains(s, "secret") || !strings.Contains(s, "AKIDVISIBLE") {
			t.Errorf("Sprintf(%q) = %s", verb, s)
		}
	}
	if s := fmt.Sprint(struct{ C Credentials }{c}); strings.Contains(s, "SECRET") {
		t.Errorf("inside a struct: %s", s)
	}
}
