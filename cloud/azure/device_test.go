package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/packet"
)

func TestConfig(t *testing.T) {
	cert := certtest.NewCA(t, "test CA").Client(t, "dev-1").TLSCertificate()
	tests := []struct {
		name                       string
		d                          Device
		broker, clientID, username string
	}{
		{"device", Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: testKey},
			"mqtts://h.azure-devices.net:8883", "dev-1", "h.azure-devices.net/dev-1/?api-version=2021-04-12"},
		{"module", Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", ModuleID: "mod-1", Key: testKey},
			"mqtts://h.azure-devices.net:8883", "dev-1/mod-1", "h.azure-devices.net/dev-1/mod-1/?api-version=2021-04-12"},
		{"websocket", Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: testKey, WebSocket: true},
			"wss://h.azure-devices.net:443/$iothub/websocket", "dev-1", "h.azure-devices.net/dev-1/?api-version=2021-04-12"},
		{"gateway", Device{Hub: "h.azure-devices.net", Gateway: "edge.local", DeviceID: "leaf", Key: testKey},
			"mqtts://edge.local:8883", "leaf", "h.azure-devices.net/leaf/?api-version=2021-04-12"},
		{"model", Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: testKey, ModelID: "dtmi:com:example:Thermostat;1"},
			"mqtts://h.azure-devices.net:8883", "dev-1", "h.azure-devices.net/dev-1/?api-version=2021-04-12&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1"},
		{"x509", Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Certificate: &cert},
			"mqtts://h.azure-devices.net:8883", "dev-1", "h.azure-devices.net/dev-1/?api-version=2021-04-12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.d.Config(mqtt.Config{ClientIDPrefix: "x-", Version: packet.V5, Fallback: true, Password: []byte("stale"), KeepAlive: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Broker != tt.broker || cfg.ClientID != tt.clientID || cfg.Username != tt.username {
				t.Errorf("got broker %q, client ID %q, user name %q", cfg.Broker, cfg.ClientID, cfg.Username)
			}
			if _, err := url.Parse(cfg.Broker); err != nil {
				t.Error(err)
			}
			if cfg.Version != packet.V311 || cfg.Fallback || cfg.ClientIDPrefix != "" || cfg.Password != nil {
				t.Errorf("version %v, fallback %v, prefix %q, password set %v", cfg.Version, cfg.Fallback, cfg.ClientIDPrefix, cfg.Password != nil)
			}
			if cfg.KeepAlive != time.Minute {
				t.Error("base's KeepAlive lost")
			}
			if cfg.TLSConfig == nil {
				t.Fatal("no TLSConfig")
			}
			if tt.d.Certificate != nil {
				if len(cfg.TLSConfig.Certificates) != 1 || cfg.BeforeConnect != nil {
					t.Errorf("X.509: %d certificates, BeforeConnect set %v", len(cfg.TLSConfig.Certificates), cfg.BeforeConnect != nil)
				}
				return
			}
			if cfg.BeforeConnect == nil {
				t.Fatal("no BeforeConnect")
			}
			a := &mqtt.Attempt{Connect: &packet.Connect{}}
			before := time.Now()
			if err := cfg.BeforeConnect(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			f := tokenFields(t, string(a.Connect.Password))
			if want := url.QueryEscape(tt.d.ResourceURI()); f["sr"] != want {
				t.Errorf("sr = %s, want %s", f["sr"], want)
			}
			se := mustAtoi(t, f["se"])
			if lo, hi := before.Add(DefaultTokenTTL).Unix()-1, time.Now().Add(DefaultTokenTTL).Unix(); se < lo || se > hi {
				t.Errorf("se = %d, want between %d and %d (an hour from now)", se, lo, hi)
			}
		})
	}
}

// TestConfigKeepsBase: Config keeps base's TLS settings, adds the
// certificate to a copy, and calls base's BeforeConnect after its own.
func TestConfigKeepsBase(t *testing.T) {
	ca := certtest.NewCA(t, "test CA")
	other := ca.Client(t, "other").TLSCertificate()
	base := mqtt.Config{TLSConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{other}}}
	cert := ca.Client(t, "dev-1").TLSCertificate()
	d := &Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Certificate: &cert}
	cfg, err := d.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.TLSConfig
	if tc == base.TLSConfig || tc.RootCAs != base.TLSConfig.RootCAs || tc.MinVersion != tls.VersionTLS13 || len(tc.Certificates) != 2 {
		t.Errorf("TLSConfig: same %v, roots kept %v, min version %x, %d certificates", tc == base.TLSConfig, tc.RootCAs == base.TLSConfig.RootCAs, tc.MinVersion, len(tc.Certificates))
	}
	if len(base.TLSConfig.Certificates) != 1 {
		t.Error("Config changed base's TLSConfig")
	}

	// A SAS device: base's hook runs after the token is in place, and its
	// error fails the attempt.
	var sawToken bool
	hookErr := errors.New("hook says no")
	base = mqtt.Config{BeforeConnect: func(ctx context.Context, a *mqtt.Attempt) error {
		sawToken = strings.HasPrefix(string(a.Connect.Password), "SharedAccessSignature ")
		return hookErr
	}}
	key := append([]byte(nil), testKey...)
	d = &Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: key, TokenTTL: 5 * time.Second}
	if cfg, err = d.Config(base); err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // a later change to the Device does not reach the Config
	a := &mqtt.Attempt{Connect: &packet.Connect{}}
	if err := cfg.BeforeConnect(context.Background(), a); !errors.Is(err, hookErr) || !sawToken {
		t.Errorf("got %v, base hook saw the token %v", err, sawToken)
	}
	f := tokenFields(t, string(a.Connect.Password))
	se := mustAtoi(t, f["se"])
	if se > time.Now().Add(5*time.Second).Unix() || se < time.Now().Add(3*time.Second).Unix() {
		t.Errorf("TokenTTL 5s: se = %d, now %d", se, time.Now().Unix())
	}
	want, _ := SASToken(d.ResourceURI(), testKey, "", time.Unix(se, 0))
	if string(a.Connect.Password) != want {
		t.Error("the token is not signed with the key the Device had when Config was called")
	}
}

// TestConfigCertInBase: a client certificate in base's TLSConfig is X.509
// authentication too.
func TestConfigCertInBase(t *testing.T) {
	d := &Device{Hub: "h.azure-devices.net", DeviceID: "dev-1"}
	if _, err := d.Config(mqtt.Config{}); err == nil {
		t.Fatal("no credentials accepted")
	}
	base := mqtt.Config{TLSConfig: &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return nil, nil }}}
	cfg, err := d.Config(base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BeforeConnect != nil || cfg.Password != nil || cfg.TLSConfig.GetClientCertificate == nil {
		t.Error("X.509 from base: want no token, the certificate hook kept")
	}
}

func TestConfigErrors(t *testing.T) {
	cert := tls.Certificate{Certificate: [][]byte{{1}}, Leaf: &x509.Certificate{}}
	for _, tt := range []struct {
		name string
		d    Device
	}{
		{"no hub", Device{DeviceID: "d", Key: testKey}},
		{"no device", Device{Hub: "h", Key: testKey}},
		{"hub with scheme", Device{Hub: "mqtts://h", DeviceID: "d", Key: testKey}},
		{"gateway with port", Device{Hub: "h", Gateway: "g:8883", DeviceID: "d", Key: testKey}},
		{"slash in device", Device{Hub: "h", DeviceID: "a/b", Key: testKey}},
		{"plus in module", Device{Hub: "h", DeviceID: "d", ModuleID: "m+", Key: testKey}},
		{"space in device", Device{Hub: "h", DeviceID: "a b", Key: testKey}},
		{"no credentials", Device{Hub: "h", DeviceID: "d"}},
		{"both credentials", Device{Hub: "h", DeviceID: "d", Key: testKey, Certificate: &cert}},
		{"short TTL", Device{Hub: "h", DeviceID: "d", Key: testKey, TokenTTL: time.Millisecond}},
		{"negative TTL", Device{Hub: "h", DeviceID: "d", Key: testKey, TokenTTL: -time.Hour}},
	} {
		_, err := tt.d.Config(mqtt.Config{})
		if err == nil || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%s: got %v", tt.name, err)
		}
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int64(c-'0')
	}
	if s == "" {
		t.Fatal("empty number")
	}
	return n
}
