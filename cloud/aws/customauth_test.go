package aws

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/transport"
)

// authorizerHook plays a custom authorizer with token signing: it lets in a
// client whose user name carries the authorizer's name, the token and the
// token's signature, and whose password is the one expected.
type authorizerHook struct {
	mochi.HookBase
	authorizer, user, tokenKey, token, signature string
	password                                     []byte

	mu   sync.Mutex
	seen []url.Values // the query of each user name
}

func (h *authorizerHook) ID() string { return "custom-authorizer" }

func (h *authorizerHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *authorizerHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user, rawQuery, _ := strings.Cut(string(pk.Connect.Username), "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return false
	}
	h.mu.Lock()
	h.seen = append(h.seen, q)
	h.mu.Unlock()
	return user == h.user &&
		q.Get("x-amz-customauthorizer-name") == h.authorizer &&
		q.Get("x-amz-customauthorizer-signature") == h.signature &&
		q.Get(h.tokenKey) == h.token && len(q) == 3 &&
		bytes.Equal(pk.Connect.Password, h.password)
}

func (h *authorizerHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// TestCustomAuthorizer connects with a custom authorizer's signed token
// over TLS on 443 with ALPN "mqtt", server authentication only, to a broker
// that checks the user name's query string and the password.
func TestCustomAuthorizer(t *testing.T) {
	cs := newConns(t)
	hook := &authorizerHook{
		authorizer: "Tern Authorizer", // a space, to be encoded
		user:       "device-7",
		tokenKey:   "x-token",
		token:      "eyJhbGciOi.J9&x=1 2",
		signature:  "q1uVfk1ZFxXIsSzFpr+9g/Yi5X0nLq8q7dDO3w==",
		password:   []byte("passed through"),
	}
	ca := certtest.NewCA(t, "Tern test CA")
	front := startTLSFront(t, cs, &tls.Config{
		Certificates: []tls.Certificate{serverCert(t, ca)},
		NextProtos:   []string{ALPNCustomAuth},
	}, strings.TrimPrefix(brokertest.Mochi(t, hook).URL, "mqtt://"))
	px := startProxy(t, cs, front.addr)
	base := mqtt.Config{
		ClientID: "device-7",
		Dialer: &transport.Dialer{
			Proxy:     transport.ProxyURL(px.URL),
			TLSConfig: &tls.Config{RootCAs: ca.Pool()},
		},
	}
	o := CustomAuthorizer{
		Endpoint:       testEndpoint,
		Authorizer:     hook.authorizer,
		Username:       hook.user,
		Password:       hook.password,
		TokenKeyName:   hook.tokenKey,
		Token:          hook.token,
		TokenSignature: hook.signature,
	}
	cfg, err := o.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	client, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	roundTrip(t, client, "devices/device-7/echo")

	if got := px.Targets(); len(got) != 1 || got[0] != net.JoinHostPort(testEndpoint, "443") {
		t.Errorf("the proxy was asked for %q, want %s:443", got, testEndpoint)
	}
	states, errs := front.handshakes()
	if len(errs) > 0 || len(states) != 1 {
		t.Fatalf("TLS handshakes: %d, errors %v", len(states), errs)
	}
	if st := states[0]; st.ServerName != testEndpoint || st.NegotiatedProtocol != ALPNCustomAuth || len(st.PeerCertificates) != 0 {
		t.Errorf("TLS: SNI %q, ALPN %q, %d client certificates; want %q, %q, none",
			st.ServerName, st.NegotiatedProtocol, len(st.PeerCertificates), testEndpoint, ALPNCustomAuth)
	}

	// A wrong token is refused by the authorizer.
	o.Token = "forged"
	cfg, err = o.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mqtt.Dial(ctx, cfg)
	var rc *mqtt.ReasonCodeError
	if !errors.As(err, &rc) || rc.Code != packet.ReasonBadUsernameOrPassword {
		t.Errorf("with a forged token: %v, want a refusal with 0x86", err)
	}
	if strings.Contains(err.Error(), "forged") || strings.Contains(err.Error(), hook.signature) {
		t.Errorf("the error shows the token or its signature")
	}
}

func TestCustomAuthorizerUsername(t *testing.T) {
	for _, c := range []struct {
		user, authorizer, key, token, sig string
		want                              string
	}{
		{"device", "Auth", "tok", "v", "c2ln+/=",
			"device?x-amz-customauthorizer-name=Auth&x-amz-customauthorizer-signature=c2ln%2B%2F%3D&tok=v"},
		{"", "Auth", "", "", "", "?x-amz-customauthorizer-name=Auth"}, // unsigned
		{"device", "", "", "", "", "device"},                          // the default authorizer, unsigned
		{"u", "", "my key", "a&b=c", "s", "u?x-amz-customauthorizer-signature=s&my%20key=a%26b%3Dc"},
	} {
		if got := CustomAuthorizerUsername(c.user, c.authorizer, c.key, c.token, c.sig); got != c.want {
			t.Errorf("CustomAuthorizerUsername(%q, %q, %q, ...):%s", c.user, c.authorizer, c.key, mismatch(got, c.want))
		}
	}
}

func TestCustomAuthorizerConfig(t *testing.T) {
	base := mqtt.Config{ClientID: "d", Password: []byte("base")}
	cfg, err := CustomAuthorizer{Endpoint: testEndpoint, Authorizer: "A"}.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker != "mqtts://"+testEndpoint+":443" || cfg.Username != "?x-amz-customauthorizer-name=A" ||
		string(cfg.Password) != "base" || strings.Join(cfg.TLSConfig.NextProtos, ",") != "mqtt" {
		t.Errorf("Config: Broker %q, Username %q, Password kept %v, ALPN %q", cfg.Broker, cfg.Username, string(cfg.Password) == "base", cfg.TLSConfig.NextProtos)
	}
	for _, c := range []struct {
		name string
		o    CustomAuthorizer
	}{
		{"no endpoint", CustomAuthorizer{Authorizer: "A"}},
		{"'?' in user name", CustomAuthorizer{Endpoint: testEndpoint, Username: "a?b"}},
		{"token without signature", CustomAuthorizer{Endpoint: testEndpoint, TokenKeyName: "k", Token: "secret-token"}},
	} {
		_, err := c.o.Config(base)
		if err == nil || !strings.HasPrefix(err.Error(), "aws: ") {
			t.Errorf("%s: error %v, want one starting with \"aws: \"", c.name, err)
		} else if strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: the error shows the token", c.name)
		}
	}
}
