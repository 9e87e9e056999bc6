package azure

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/packet"
)

const testHub = "tern-test.azure-devices.net"

// fastBackoff reconnects at once, or nearly.
var fastBackoff = mqtt.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}

// checkNoSecrets fails the test if the log holds a key or a token.
func checkNoSecrets(t *testing.T, log string, key []byte) {
	t.Helper()
	for _, s := range []string{base64.StdEncoding.EncodeToString(key), "SharedAccessSignature", "sig=", "sig%3D"} {
		if strings.Contains(log, s) {
			t.Errorf("the log holds a secret (%.20s...)", s)
		}
	}
}

// TestTokenRenewedOnReconnect: a device whose tokens live two seconds stays
// connected to a hub that closes each connection when its token expires:
// every attempt carries a new token, signed right and valid for the TTL
// from then, and messages flow both ways after each reconnection. Nothing
// secret reaches the client's log.
func TestTokenRenewedOnReconnect(t *testing.T) {
	const ttl = 2 * time.Second
	dev := &Device{Hub: testHub, DeviceID: "dev-1", Key: testKey, TokenTTL: ttl}
	hub := newFakeHub(t, dev)
	b := brokertest.Mochi(t, hub)
	var log brokertest.SyncBuffer
	cfg, err := dev.Config(mqtt.Config{
		Reconnect: true, Persistent: true, Backoff: fastBackoff,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker = b.URL // the test's broker instead of the hub
	c := dial(t, cfg)
	c2d := make(inbox, 100)
	if _, err := c.Subscribe(ctxT(t), c2d.handler, mqtt.Subscription{Filter: dev.C2DFilter(), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	svc, telemetry := service(t, b.URL, "devices/dev-1/messages/events/#")

	const rounds = 3
	for round := 1; round <= rounds; round++ {
		hub.waitAccepted(t, round)
		n := fmt.Sprint(round)

		// Device to cloud, with properties.
		props := Properties{{Name: PropMessageID, Value: "d" + n}, {Name: PropContentType, Value: "application/json"}}
		publish(t, c, dev.TelemetryTopic(props), `{"round":`+n+`}`)
		m := telemetry.nextWith(t, `{"round":`+n+`}`)
		got, err := ParseProperties(strings.TrimPrefix(m.Topic, "devices/dev-1/messages/events/"))
		if err != nil {
			t.Fatal(err)
		}
		if mid, _ := got.Get(PropMessageID); mid != "d"+n {
			t.Errorf("round %d: telemetry topic %s", round, m.Topic)
		}

		// Cloud to device, as the hub sends it.
		publish(t, svc, "devices/dev-1/messages/devicebound/%24.mid=c"+n+"&%24.to=%2Fdevices%2Fdev-1%2Fmessages%2FdeviceBound&round="+n, "c2d "+n)
		m = c2d.nextWith(t, "c2d "+n)
		ct, err := ParseC2DTopic(m.Topic)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := ct.Properties.Get("round"); r != n || ct.DeviceID != "dev-1" {
			t.Errorf("round %d: C2D topic %s parsed as %+v", round, m.Topic, ct)
		}
	}

	attempts := hub.snapshot()
	if len(attempts) < rounds {
		t.Fatalf("%d attempts", len(attempts))
	}
	var last int64
	for i, a := range attempts {
		if a.err != nil {
			t.Errorf("attempt %d refused: %v", i+1, a.err)
			continue
		}
		// A token made for this attempt expires a TTL after it, less the
		// fraction of a second the expiry drops.
		if lo, hi := a.at.Add(ttl).Unix()-1, a.at.Add(ttl).Unix(); a.se < lo || a.se > hi {
			t.Errorf("attempt %d at %d: token expires at %d, want %d to %d", i+1, a.at.Unix(), a.se, lo, hi)
		}
		if a.se < last {
			t.Errorf("attempt %d: token older than the previous one's", i+1)
		}
		last = a.se
	}
	if s := c.Stats(); s.Reconnects < rounds-1 {
		t.Errorf("%d reconnections, want at least %d", s.Reconnects, rounds-1)
	}
	if err := c.Disconnect(ctxT(t)); err != nil {
		t.Error(err)
	}
	if log.Len() == 0 {
		t.Error("nothing logged: the secrets check means nothing")
	}
	checkNoSecrets(t, log.String(), testKey)
}

// TestWrongKeyRefused: a hub that refuses the token fails Dial with the
// CONNACK's code, and neither the error nor the log holds the key or the
// token.
func TestWrongKeyRefused(t *testing.T) {
	dev := &Device{Hub: testHub, DeviceID: "dev-1", Key: testKey}
	b := brokertest.Mochi(t, newFakeHub(t, dev))
	wrong := &Device{Hub: testHub, DeviceID: "dev-1", Key: []byte("not the device's key")}
	var log brokertest.SyncBuffer
	cfg, err := wrong.Config(mqtt.Config{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker = b.URL
	c, err := mqtt.Dial(ctxT(t), cfg)
	if err == nil {
		c.Close()
		t.Fatal("connected with the wrong key")
	}
	var rc *mqtt.ReasonCodeError
	if !errors.As(err, &rc) || rc.Code != packet.ReasonNotAuthorized {
		t.Errorf("got %v, want a CONNACK not authorized", err)
	}
	checkNoSecrets(t, err.Error()+log.String(), wrong.Key)
	checkNoSecrets(t, err.Error()+log.String(), testKey)
}

// TestModuleWithPolicy: a module identity signing with a shared access
// policy's key connects and sends telemetry on its module topic.
func TestModuleWithPolicy(t *testing.T) {
	policyKey := []byte("a shared access policy key, 32 b")
	conn := "HostName=" + testHub + ";DeviceId=dev-1;ModuleId=mod-1;SharedAccessKeyName=device;SharedAccessKey=" + base64.StdEncoding.EncodeToString(policyKey)
	dev, err := ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	hub := newFakeHub(t, dev)
	b := brokertest.Mochi(t, hub)
	cfg, err := dev.Config(mqtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker = b.URL
	c := dial(t, cfg)
	_, telemetry := service(t, b.URL, "devices/dev-1/modules/mod-1/messages/events/#")
	publish(t, c, dev.TelemetryTopic(Properties{{Name: "k", Value: "v w"}}), "from the module")
	if m := telemetry.next(t); m.Topic != "devices/dev-1/modules/mod-1/messages/events/k=v%20w" || string(m.Payload) != "from the module" {
		t.Errorf("got %s: %q", m.Topic, m.Payload)
	}
	if a := hub.snapshot(); len(a) != 1 || a[0].err != nil {
		t.Errorf("hub attempts: %+v", a)
	}
}

// TestX509: a device with a client certificate connects over TLS through a
// front that, as IoT Hub does, requires a certificate from the device's CA
// whose common name is the device ID; the CONNECT has the user name and no
// password. The base Config's roots verify the server.
func TestX509(t *testing.T) {
	ca := certtest.NewCA(t, "Tern test CA")
	dev := &Device{Hub: testHub, DeviceID: "dev-1"}
	hub := newFakeHub(t, dev)
	b := brokertest.Mochi(t, hub)
	front := tlsFront(t, ca, b.URL)

	for _, tt := range []struct {
		cn string
		ok bool
	}{{"dev-1", true}, {"someone-else", false}} {
		cert := ca.Client(t, tt.cn).TLSCertificate()
		d := *dev
		d.Certificate = &cert
		cfg, err := d.Config(mqtt.Config{TLSConfig: &tls.Config{RootCAs: ca.Pool()}, ConnectTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Broker = "mqtts://" + front
		c, err := mqtt.Dial(ctxT(t), cfg)
		if !tt.ok {
			if err == nil {
				c.Close()
				t.Errorf("connected with the certificate of %s", tt.cn)
			}
			continue
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_, telemetry := service(t, b.URL, "devices/dev-1/messages/events/#")
		publish(t, c, d.TelemetryTopic(nil), "x509")
		if m := telemetry.next(t); m.Topic != "devices/dev-1/messages/events/" {
			t.Errorf("telemetry on %s", m.Topic)
		}
		c.Close()
	}
	if a := hub.snapshot(); len(a) != 1 || a[0].err != nil || a[0].se != 0 {
		t.Errorf("hub attempts: %+v", a)
	}
}

// tlsFront listens for TLS on a free port of 127.0.0.1 with a server
// certificate from ca, requires a client certificate from ca whose common
// name is "dev-1", and relays accepted connections to the broker.
func tlsFront(t *testing.T, ca *certtest.CA, broker string) (addr string) {
	return brokertest.TLSFront(t, &tls.Config{
		Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cn := cs.PeerCertificates[0].Subject.CommonName; cn != "dev-1" {
				return fmt.Errorf("certificate for %q, not dev-1", cn)
			}
			return nil
		},
	}, broker).Addr
}

// TestTwinAndMethods: a device gets its twin, reports properties, receives
// a desired-properties change and answers a direct method, with the cloud
// side played by a second client publishing what the hub publishes. The
// device's handler dispatches with the parsers, as an application would.
func TestTwinAndMethods(t *testing.T) {
	dev := &Device{Hub: testHub, DeviceID: "dev-1", Key: testKey}
	b := brokertest.Mochi(t, newFakeHub(t, dev))
	cfg, err := dev.Config(mqtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker = b.URL
	c := dial(t, cfg)

	type event struct {
		twin    *TwinResponse
		desired int64
		method  *MethodRequest
		err     error
		payload string
	}
	events := make(chan event, 10)
	route := func(m *mqtt.Message) {
		e := event{payload: string(m.Payload)}
		if r, err := ParseTwinResponseTopic(m.Topic); !errors.Is(err, ErrNoMatch) {
			e.twin, e.err = &r, err
		} else if v, err := ParseTwinDesiredTopic(m.Topic); !errors.Is(err, ErrNoMatch) {
			e.desired, e.err = v, err
		} else if r, err := ParseMethodTopic(m.Topic); !errors.Is(err, ErrNoMatch) {
			e.method, e.err = &r, err
		} else {
			e.err = fmt.Errorf("unexpected topic %s", m.Topic)
		}
		events <- e
	}
	for _, f := range []string{TwinResponseFilter, TwinDesiredFilter, MethodFilter} {
		if _, err := c.Subscribe(ctxT(t), route, mqtt.Subscription{Filter: f, QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	svc, cloud := service(t, b.URL, "$iothub/twin/GET/#", "$iothub/twin/PATCH/properties/reported/#", "$iothub/methods/res/#")
	next := func() event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(15 * time.Second):
			t.Fatal("the device received nothing")
			return event{}
		}
	}

	// GET the twin, with a request ID that needs escaping.
	publish(t, c, TwinGetTopic("get 1/a"), "")
	m := cloud.next(t)
	rawRID, ok := strings.CutPrefix(m.Topic, "$iothub/twin/GET/?$rid=")
	if !ok || rawRID != "get%201%2Fa" {
		t.Fatalf("twin GET on %s", m.Topic)
	}
	publish(t, svc, "$iothub/twin/res/200/?$rid="+rawRID, `{"desired":{"$version":1},"reported":{"$version":1}}`)
	if e := next(); e.err != nil || e.twin == nil || *e.twin != (TwinResponse{Status: 200, RequestID: "get 1/a"}) || !strings.HasPrefix(e.payload, `{"desired"`) {
		t.Errorf("twin GET answer: %+v", e)
	}

	// PATCH the reported properties.
	publish(t, c, TwinReportedTopic("2"), `{"battery":60}`)
	if m := cloud.next(t); m.Topic != "$iothub/twin/PATCH/properties/reported/?$rid=2" || string(m.Payload) != `{"battery":60}` {
		t.Fatalf("reported PATCH on %s: %s", m.Topic, m.Payload)
	}
	publish(t, svc, "$iothub/twin/res/204/?$rid=2&$version=7", "")
	if e := next(); e.err != nil || e.twin == nil || *e.twin != (TwinResponse{Status: 204, RequestID: "2", Version: 7}) {
		t.Errorf("reported PATCH answer: %+v", e)
	}

	// A desired-properties change.
	publish(t, svc, "$iothub/twin/PATCH/properties/desired/?$version=8", `{"fan":true,"$version":8}`)
	if e := next(); e.err != nil || e.desired != 8 || e.payload != `{"fan":true,"$version":8}` {
		t.Errorf("desired change: %+v", e)
	}

	// A direct method call and its answer.
	publish(t, svc, "$iothub/methods/POST/reboot/?$rid=42", `{"delay":1}`)
	e := next()
	if e.err != nil || e.method == nil || *e.method != (MethodRequest{Name: "reboot", RequestID: "42"}) {
		t.Fatalf("method call: %+v", e)
	}
	publish(t, c, MethodResponseTopic(200, e.method.RequestID), `{"ok":true}`)
	if m := cloud.next(t); m.Topic != "$iothub/methods/res/200/?$rid=42" || string(m.Payload) != `{"ok":true}` {
		t.Errorf("method answer on %s: %s", m.Topic, m.Payload)
	}

	// A malformed call is a clear error, not ErrNoMatch.
	publish(t, svc, "$iothub/methods/POST/reboot", "")
	if e := next(); e.err == nil || errors.Is(e.err, ErrNoMatch) || !strings.Contains(e.err.Error(), "no request ID") {
		t.Errorf("malformed call: %+v", e)
	}
}
