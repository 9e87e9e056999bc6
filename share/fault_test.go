package share

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// rawConnect opens the socket and sends a CONNECT of version v with user
// name; it returns the connection and the CONNACK.
func rawConnect(t *testing.T, path, name string, v packet.Version) (net.Conn, *packet.Reader, *packet.Connack) {
	t.Helper()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	b, err := (&packet.Connect{ClientID: "raw", CleanStart: true, Username: name, UsernameFlag: name != ""}).Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write(b)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := packet.NewReader(nc, 0)
	p, err := r.ReadPacket(v)
	if err != nil {
		t.Fatal(err)
	}
	return nc, r, p.(*packet.Connack)
}

// TestHungSecondary: a secondary that subscribes and never reads fills
// its queue and is disconnected; another on the same filter gets every
// message.
func TestHungSecondary(t *testing.T) {
	b := brokertest.Mochi(t)
	gone := make(chan error, 1)
	srv, path, _ := primary(t, b.URL, Options{MaxQueued: 20, OnDisconnect: func(s SecondaryStats, err error) {
		if s.ClientID == "raw" {
			gone <- err
		}
	}})
	obs := dialBroker(t, b.URL, mqtt.Config{})
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "h/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	nc, r, ack := rawConnect(t, path, "", packet.V5)
	if ack.ReasonCode != 0 {
		t.Fatal(ack.ReasonCode)
	}
	sb, _ := (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "h/#", QoS: 1}}}).Append(nil, packet.V5)
	nc.Write(sb)
	if p, err := r.ReadPacket(packet.V5); err != nil || p.Type() != packet.TypeSuback {
		t.Fatal(p, err)
	}
	// From now on it never reads.
	const total = 300
	payload := bytes.Repeat([]byte("h"), 8<<10)
	// In lockstep with the healthy secondary, whose queue stays short:
	// the bound is for the one that does not read.
	for i := 0; i < total; i++ {
		obs.PublishAsync(&mqtt.Message{Topic: "h/x", Payload: append([]byte(strconv.Itoa(i)+":"), payload...), QoS: 1})
		m := in.next(t, 5*time.Second)
		if !strings.HasPrefix(string(m.Payload), strconv.Itoa(i)+":") {
			t.Fatalf("message %d: %.10q", i, m.Payload)
		}
	}
	select {
	case err := <-gone:
		if !errors.Is(err, ErrQuota) {
			t.Errorf("hung secondary ended with %v, want ErrQuota", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hung secondary is still connected")
	}
	eventually(t, "its subscription released", func() bool { return srv.holders("", "h/#") == 1 })
}

// TestMalformed: garbage, a broken packet, and an unknown connection name
// each end only their own connection, with a clear answer; a secondary
// carries on.
func TestMalformed(t *testing.T) {
	b := brokertest.Mochi(t)
	_, path, _ := primary(t, b.URL, Options{})
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "m/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}

	// Garbage instead of CONNECT: closed.
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(nc).ReadByte(); err == nil {
		t.Error("garbage got an answer")
	}
	nc.Close()

	// A PUBLISH with a bad remaining length after CONNECT: DISCONNECT 0x81.
	nc, r, _ := rawConnect(t, path, "", packet.V5)
	nc.Write([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f})
	p, err := r.ReadPacket(packet.V5)
	if d, ok := p.(*packet.Disconnect); !ok || d.ReasonCode != packet.ReasonMalformedPacket {
		t.Errorf("after a malformed packet: %v %v, want DISCONNECT 0x81", p, err)
	}

	// Unknown connection name: CONNACK 0x86 (5.0) / 4 (3.1.1).
	for _, v := range []packet.Version{packet.V5, packet.V311} {
		_, _, ack := rawConnect(t, path, "nosuch", v)
		if ack.ReasonCode != packet.ReasonBadUsernameOrPassword {
			t.Errorf("v%d unknown name: CONNACK %v", v, ack.ReasonCode)
		}
	}
	_, err = Dial(ctxT(t), path, "nosuch", mqtt.Config{})
	var rc *mqtt.ReasonCodeError
	if !errors.As(err, &rc) || rc.Code != packet.ReasonBadUsernameOrPassword {
		t.Errorf("Dial unknown name: %v", err)
	}

	if err := s.Publish(ctxT(t), &mqtt.Message{Topic: "m/ok", Payload: []byte("ok"), QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t, 5*time.Second); m.Topic != "m/ok" {
		t.Error(m.Topic)
	}
}

// TestSocketSecurity: the socket is 0600 by default, 0660 with a group,
// and a peer outside the allow-list is refused.
func TestSocketSecurity(t *testing.T) {
	b := brokertest.Mochi(t)
	_, path, _ := primary(t, b.URL, Options{})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v %v, want 0600", fi.Mode(), err)
	}
	_, path, _ = primary(t, b.URL, Options{Group: strconv.Itoa(os.Getgid())})
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode with a group %v %v, want 0660", fi.Mode(), err)
	}
	_, path, _ = primary(t, b.URL, Options{AllowUIDs: []int{os.Getuid() + 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Dial(ctx, path, "", mqtt.Config{ConnectTimeout: time.Second}); err == nil {
		t.Error("a peer outside the allow-list got in")
	}
	_, path, _ = primary(t, b.URL, Options{AllowUIDs: []int{os.Getuid()}})
	secondary(t, path, mqtt.Config{})
}

// TestMosquittoClients: mosquitto_sub and mosquitto_pub, over the unix
// socket, are secondaries too (3.1.1 and 5.0).
func TestMosquittoClients(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	b := brokertest.Mosquitto(t)
	srv, path, _ := primary(t, b.URL, Options{})
	s := secondary(t, path, mqtt.Config{})
	in := newInbox()
	if _, err := s.Subscribe(ctxT(t), in.handler, mqtt.Subscription{Filter: "mq/#", QoS: 2}); err != nil {
		t.Fatal(err)
	}
	var out brokertest.SyncBuffer
	sub := exec.Command("mosquitto_sub", "--unix", path, "-u", "main", "-V", "mqttv311", "-q", "1", "-t", "mq/#", "-C", "2", "-v")
	sub.Stdout = &out
	brokertest.OrphanProof(sub)
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })
	eventually(t, "mosquitto_sub subscribed", func() bool {
		for _, st := range srv.Secondaries() {
			if st.Version == packet.V311 && st.Subscriptions == 1 {
				return true
			}
		}
		return false
	})
	for i, v := range []string{"mqttv5", "mqttv311"} {
		pub := exec.Command("mosquitto_pub", "--unix", path, "-V", v, "-q", strconv.Itoa(i+1), "-t", "mq/"+v, "-m", v)
		if b, err := pub.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub %s: %v %s", v, err, b)
		}
		if m := in.next(t, 5*time.Second); string(m.Payload) != v {
			t.Errorf("got %q, want %q", m.Payload, v)
		}
	}
	done := make(chan error, 1)
	go func() { done <- sub.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("mosquitto_sub got %q", out.String())
	}
	if got := out.String(); got != "mq/mqttv5 mqttv5\nmq/mqttv311 mqttv311\n" {
		t.Errorf("mosquitto_sub got %q", got)
	}
}
