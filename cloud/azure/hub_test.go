package azure

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// fakeHub is a Mochi hook that plays IoT Hub's part in authentication, for
// one identity: it checks each CONNECT as the hub would (MQTT 3.1.1, the
// client ID, the user name, and a SAS token signed with the identity's key
// and not expired, or no password at all for X.509), refuses a bad one with
// CONNACK "not authorized", and closes a connection when its token
// expires, as the hub does. It recomputes the signature by itself, without
// this package's code. A client with the ID "service" passes without a
// token: it is the test's stand-in for the hub's cloud side.
type fakeHub struct {
	mochi.HookBase
	hub, deviceID, moduleID, policy string
	key                             []byte // nil for X.509: no password expected

	mu       sync.Mutex
	attempts []hubAttempt
	timers   []*time.Timer
	changed  chan struct{} // closed and replaced at each attempt
	stopped  bool
}

// hubAttempt is one CONNECT of the identity, as the hub saw it.
type hubAttempt struct {
	at  time.Time
	se  int64 // the token's expiry, in seconds; 0 for X.509
	err error // why the hub refused it; nil if accepted
}

var errTokenExpired = errors.New("fake hub: token expired")

// newFakeHub returns the hub hook for d's identity; d.Key is the key it
// checks signatures with.
func newFakeHub(t *testing.T, d *Device) *fakeHub {
	h := &fakeHub{hub: d.Hub, deviceID: d.DeviceID, moduleID: d.ModuleID, policy: d.PolicyName,
		key: append([]byte(nil), d.Key...), changed: make(chan struct{})}
	if len(d.Key) == 0 {
		h.key = nil
	}
	t.Cleanup(h.stop)
	return h
}

func (h *fakeHub) ID() string { return "fake-iot-hub" }

func (h *fakeHub) Provides(b byte) bool { return b == mochi.OnConnect }

func (h *fakeHub) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if pk.Connect.ClientIdentifier == "service" {
		return nil
	}
	now := time.Now()
	se, err := h.verify(pk, now)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts = append(h.attempts, hubAttempt{at: now, se: se, err: err})
	close(h.changed)
	h.changed = make(chan struct{})
	if err != nil {
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: packets.Err3NotAuthorized.Code})
		return err
	}
	if se > 0 && !h.stopped {
		h.timers = append(h.timers, time.AfterFunc(time.Until(time.Unix(se, 0)), func() { cl.Stop(errTokenExpired) }))
	}
	return nil
}

// verify checks a CONNECT and returns its token's expiry.
func (h *fakeHub) verify(pk packets.Packet, now time.Time) (int64, error) {
	c := pk.Connect
	if pk.ProtocolVersion != 4 {
		return 0, fmt.Errorf("protocol version %d, want 4 (MQTT 3.1.1)", pk.ProtocolVersion)
	}
	id, path, resource := h.deviceID, h.deviceID, h.hub+"/devices/"+h.deviceID
	if h.moduleID != "" {
		id += "/" + h.moduleID
		path += "/" + h.moduleID
		resource += "/modules/" + h.moduleID
	}
	if c.ClientIdentifier != id {
		return 0, fmt.Errorf("client ID %q, want %q", c.ClientIdentifier, id)
	}
	if want := h.hub + "/" + path + "/?api-version=2021-04-12"; string(c.Username) != want {
		return 0, fmt.Errorf("user name %q, want %q", c.Username, want)
	}
	if h.key == nil {
		if c.PasswordFlag {
			return 0, errors.New("a password with X.509 authentication")
		}
		return 0, nil
	}
	rest, ok := strings.CutPrefix(string(c.Password), "SharedAccessSignature ")
	if !ok {
		return 0, errors.New("the password is not a SAS token")
	}
	f := make(map[string]string)
	for _, kv := range strings.Split(rest, "&") {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	if want := url.QueryEscape(resource); f["sr"] != want {
		return 0, fmt.Errorf("sr %q, want %q", f["sr"], want)
	}
	if f["skn"] != h.policy || len(f) != 3+btoi(h.policy != "") {
		return 0, fmt.Errorf("token fields %d, skn %q; want skn %q", len(f), f["skn"], h.policy)
	}
	se, err := strconv.ParseInt(f["se"], 10, 64)
	if err != nil {
		return 0, errors.New("se is not a number")
	}
	if se <= now.Unix() {
		return se, errTokenExpired
	}
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(f["sr"] + "\n" + f["se"]))
	if want := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil))); !hmac.Equal([]byte(f["sig"]), []byte(want)) {
		return se, errors.New("bad signature")
	}
	return se, nil
}

// snapshot returns the attempts so far.
func (h *fakeHub) snapshot() []hubAttempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hubAttempt(nil), h.attempts...)
}

// waitAccepted waits until the hub has accepted n connections.
func (h *fakeHub) waitAccepted(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		h.mu.Lock()
		accepted := 0
		for _, a := range h.attempts {
			if a.err == nil {
				accepted++
			}
		}
		changed := h.changed
		h.mu.Unlock()
		if accepted >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the hub accepted %d connections, want %d", accepted, n)
		}
	}
}

// stop stops the expiry timers.
func (h *fakeHub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, tm := range h.timers {
		tm.Stop()
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inbox collects received messages.
type inbox chan *mqtt.Message

func (in inbox) handler(m *mqtt.Message) { in <- m }

// next returns the next message, failing the test after a while.
func (in inbox) next(t *testing.T) *mqtt.Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

// nextWith returns the next message whose payload is payload, skipping
// others (redeliveries of earlier ones, at QoS 1).
func (in inbox) nextWith(t *testing.T, payload string) *mqtt.Message {
	t.Helper()
	for {
		if m := in.next(t); string(m.Payload) == payload {
			return m
		}
	}
}

// ctxT returns a context that ends with the test, or after 30 seconds.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects with cfg and closes the client when the test ends.
func dial(t *testing.T, cfg mqtt.Config) *mqtt.Client {
	t.Helper()
	c, err := mqtt.Dial(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// service connects the test's stand-in for the hub's cloud side and
// subscribes it to filters.
func service(t *testing.T, broker string, filters ...string) (*mqtt.Client, inbox) {
	t.Helper()
	c := dial(t, mqtt.Config{Broker: broker, ClientID: "service", Version: packet.V311})
	in := make(inbox, 100)
	for _, f := range filters {
		if _, err := c.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: f, QoS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	return c, in
}

func publish(t *testing.T, c *mqtt.Client, topic, payload string) {
	t.Helper()
	if err := c.Publish(ctxT(t), &mqtt.Message{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}
