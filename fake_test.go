package mqtt

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/mqtttest"
	"github.com/ternmq/mqtt/packet"
)

// fakeDial dials a scripted broker: script plays the broker's side of the
// handshake (it must send the CONNACK) and Dial's result is returned.
func fakeDial(t *testing.T, cfg Config, script func(c *mqtttest.Conn)) (*Client, *mqtttest.Conn, error) {
	t.Helper()
	b := mqtttest.NewBroker(t)
	cfg.Broker = b.URL
	type result struct {
		c   *Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := Dial(ctxT(t), cfg)
		ch <- result{c, err}
	}()
	fc := b.Accept()
	script(fc)
	r := <-ch
	if r.c != nil {
		t.Cleanup(func() { r.c.Close() })
	}
	return r.c, fc, r.err
}

// connected dials a scripted broker that accepts with props.
func connected(t *testing.T, cfg Config, props packet.Properties) (*Client, *mqtttest.Conn) {
	t.Helper()
	c, fc, err := fakeDial(t, cfg, func(fc *mqtttest.Conn) { fc.AcceptConnect(props) })
	if err != nil {
		t.Fatal(err)
	}
	return c, fc
}

func TestConnectFields(t *testing.T) {
	noLeaks(t)
	expiry := uint32(60)
	cfg := Config{
		ClientID: "dev-1", Username: "user", Password: []byte("secret"), KeepAlive: 45 * time.Second,
		Persistent: true, SessionExpiry: time.Hour,
		Will: &Message{Topic: "dev/1/status", Payload: []byte("offline"), QoS: QoS1, Retain: true,
			Properties: packet.Properties{WillDelayInterval: 5, MessageExpiryInterval: &expiry, ContentType: "text/plain",
				ResponseTopic: "r", CorrelationData: []byte{1}, PayloadFormat: 1, User: []packet.UserProperty{{Key: "k", Value: "v"}}}},
		ReceiveMaximum: 10, MaximumPacketSize: 4096, TopicAliasMaximum: 8, RequestResponseInfo: true, NoProblemInfo: true,
		UserProperties: []packet.UserProperty{{Key: "model", Value: "x"}},
	}
	var got *packet.Connect
	_, _, err := fakeDial(t, cfg, func(fc *mqtttest.Conn) { got = fc.AcceptConnect(packet.Properties{}) })
	if err != nil {
		t.Fatal(err)
	}
	p := got.Properties
	switch {
	case got.Version != packet.V5 || got.ClientID != "dev-1" || got.Username != "user" || string(got.Password) != "secret":
		t.Errorf("identity: %+v", got)
	case got.KeepAlive != 45 || got.CleanStart:
		t.Errorf("keep alive %d, clean start %v", got.KeepAlive, got.CleanStart)
	case got.Will == nil || got.Will.Topic != "dev/1/status" || !got.Will.Retain || got.Will.QoS != QoS1 ||
		got.Will.Properties.WillDelayInterval != 5 || got.Will.Properties.ContentType != "text/plain" || len(got.Will.Properties.User) != 1:
		t.Errorf("will: %+v", got.Will)
	case p.SessionExpiryInterval == nil || *p.SessionExpiryInterval != 3600 || p.ReceiveMaximum != 10 ||
		p.MaximumPacketSize != 4096 || p.TopicAliasMaximum != 8 || !p.RequestResponseInfo ||
		p.RequestProblemInfo == nil || *p.RequestProblemInfo || len(p.User) != 1:
		t.Errorf("properties: %+v", p)
	}
}

func TestConnackRefused(t *testing.T) {
	noLeaks(t)
	for _, c := range []struct {
		v    packet.Version
		code packet.ReasonCode
	}{
		{packet.V311, packet.ReasonUnsupportedProtocolVersion},
		{packet.V311, packet.ReasonClientIDNotValid},
		{packet.V311, packet.ReasonServerUnavailable},
		{packet.V311, packet.ReasonBadUsernameOrPassword},
		{packet.V311, packet.ReasonNotAuthorized},
		{packet.V31, packet.ReasonNotAuthorized},
		{packet.V5, packet.ReasonBanned},
		{packet.V5, packet.ReasonQuotaExceeded},
		{packet.V5, packet.ReasonUseAnotherServer},
	} {
		t.Run(c.v.String()+"/"+c.code.String(), func(t *testing.T) {
			props := packet.Properties{}
			if c.v == packet.V5 {
				props.ReasonString = "go away"
				props.ServerReference = "other:1883"
			}
			cl, _, err := fakeDial(t, Config{Version: c.v}, func(fc *mqtttest.Conn) {
				fc.ExpectConnect()
				fc.Send(&packet.Connack{ReasonCode: c.code, Properties: props})
			})
			var rc *ReasonCodeError
			if cl != nil || !errors.As(err, &rc) || rc.Packet != packet.TypeConnack || rc.Code != c.code {
				t.Fatalf("Dial = %v, %v; want a CONNACK refusal %v", cl, err, c.code)
			}
			if c.v == packet.V5 && (rc.ReasonString != "go away" || rc.ServerReference != "other:1883" || !strings.Contains(err.Error(), "go away")) {
				t.Fatalf("refusal details: %+v", rc)
			}
		})
	}
}

func TestFallback(t *testing.T) {
	noLeaks(t)
	b := mqtttest.NewBroker(t)
	done := make(chan error, 1)
	var c *Client
	go func() {
		var err error
		c, err = Dial(ctxT(t), Config{Broker: b.URL, Fallback: true})
		done <- err
	}()
	// A 3.1.1 broker answers a 5.0 CONNECT with a 3.1.1 CONNACK, code 1.
	fc := b.Accept()
	if cp := fc.ExpectConnect(); cp.Version != packet.V5 {
		t.Fatalf("first CONNECT is %v", cp.Version)
	}
	fc.SendBytes([]byte{0x20, 0x02, 0x00, 0x01})
	// Another closes the connection on 3.1.1.
	fc = b.Accept()
	if cp := fc.ExpectConnect(); cp.Version != packet.V311 {
		t.Fatalf("second CONNECT is %v", cp.Version)
	}
	fc.Close()
	fc = b.Accept()
	if cp := fc.ExpectConnect(); cp.Version != packet.V31 || len(cp.ClientID) > 23 {
		t.Fatalf("third CONNECT: %v %q", cp.Version, cp.ClientID)
	}
	fc.Send(&packet.Connack{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v := c.Negotiated().Version; v != packet.V31 {
		t.Fatalf("negotiated %v", v)
	}
}

func TestNoFallback(t *testing.T) {
	noLeaks(t)
	_, _, err := fakeDial(t, Config{}, func(fc *mqtttest.Conn) {
		fc.ExpectConnect()
		fc.Send(&packet.Connack{ReasonCode: packet.ReasonUnsupportedProtocolVersion})
	})
	var rc *ReasonCodeError
	if !errors.As(err, &rc) || rc.Code != packet.ReasonUnsupportedProtocolVersion {
		t.Fatalf("Dial: %v", err)
	}
}

func TestServerAssignedClientID(t *testing.T) {
	noLeaks(t)
	var sent string
	c, _, err := fakeDial(t, Config{}, func(fc *mqtttest.Conn) {
		sent = fc.AcceptConnect(packet.Properties{AssignedClientID: "auto-7", ServerKeepAlive: u16(5)}).ClientID
	})
	if err != nil {
		t.Fatal(err)
	}
	n := c.Negotiated()
	if sent != "" || n.ClientID != "auto-7" || n.AssignedClientID != "auto-7" || n.KeepAlive != 5*time.Second {
		t.Fatalf("sent %q, negotiated %+v", sent, n)
	}
}

func TestSessionPresentAfterCleanStart(t *testing.T) {
	noLeaks(t)
	_, _, err := fakeDial(t, Config{}, func(fc *mqtttest.Conn) {
		fc.ExpectConnect()
		fc.Send(&packet.Connack{SessionPresent: true})
	})
	if !errors.Is(err, ErrBadPacket) {
		t.Fatalf("Dial: %v, want ErrBadPacket (MQTT-3.2.2-4)", err)
	}
}

func TestPublishRefusedByBroker(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	done := c.PublishAsync(&Message{Topic: "t", QoS: QoS1})
	pub := fc.Expect(packet.TypePublish).(*packet.Publish)
	fc.Send(&packet.Puback{PacketID: pub.PacketID, ReasonCode: packet.ReasonQuotaExceeded, Properties: packet.Properties{ReasonString: "slow down"}})
	var rc *ReasonCodeError
	if err := done.Wait(ctxT(t)); !errors.As(err, &rc) || rc.Packet != packet.TypePuback || rc.Code != packet.ReasonQuotaExceeded || rc.ReasonString != "slow down" {
		t.Fatalf("QoS 1: %v", err)
	}
	done = c.PublishAsync(&Message{Topic: "t", QoS: QoS2})
	pub = fc.Expect(packet.TypePublish).(*packet.Publish)
	fc.Send(&packet.Pubrec{PacketID: pub.PacketID, ReasonCode: packet.ReasonNotAuthorized})
	if err := done.Wait(ctxT(t)); !errors.As(err, &rc) || rc.Packet != packet.TypePubrec || rc.Code != packet.ReasonNotAuthorized {
		t.Fatalf("QoS 2: %v", err)
	}
	// A successful QoS 2 exchange: PUBREC, PUBREL, PUBCOMP.
	done = c.PublishAsync(&Message{Topic: "t", QoS: QoS2})
	pub = fc.Expect(packet.TypePublish).(*packet.Publish)
	fc.Send(&packet.Pubrec{PacketID: pub.PacketID})
	rel := fc.Expect(packet.TypePubrel).(*packet.Pubrel)
	if rel.PacketID != pub.PacketID {
		t.Fatalf("PUBREL %d for PUBLISH %d", rel.PacketID, pub.PacketID)
	}
	select {
	case <-done.Done():
		t.Fatal("QoS 2 publish done before PUBCOMP")
	default:
	}
	fc.Send(&packet.Pubcomp{PacketID: pub.PacketID})
	if err := done.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribePartialFailure(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	type result struct {
		res []SubResult
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := c.Subscribe(ctxT(t), func(*Message) {}, Subscription{Filter: "ok/#", QoS: QoS2}, Subscription{Filter: "secret/#"})
		ch <- result{res, err}
	}()
	sub := fc.Expect(packet.TypeSubscribe).(*packet.Subscribe)
	if len(sub.Subscriptions) != 2 || len(sub.Properties.SubscriptionIDs) != 1 {
		t.Fatalf("SUBSCRIBE %+v", sub)
	}
	fc.Send(&packet.Suback{PacketID: sub.PacketID, ReasonCodes: []packet.ReasonCode{packet.ReasonGrantedQoS1, packet.ReasonNotAuthorized}})
	r := <-ch
	var se *SubscribeError
	if !errors.As(r.err, &se) || len(r.res) != 2 || !r.res[0].OK() || r.res[0].Code != packet.ReasonGrantedQoS1 || r.res[1].OK() {
		t.Fatalf("Subscribe = %+v, %v", r.res, r.err)
	}
	if !strings.Contains(r.err.Error(), "secret/#") {
		t.Fatalf("error does not name the refused filter: %v", r.err)
	}
}

func TestPingTimeout(t *testing.T) {
	noLeaks(t)
	events := make(chan Event, 4)
	c, fc := connected(t, Config{KeepAlive: time.Second, PingTimeout: 300 * time.Millisecond,
		OnEvent: func(e Event) { events <- e }}, packet.Properties{})
	fc.Expect(packet.TypePingreq) // and say nothing
	for e := range events {
		if e.Kind != EventDisconnected {
			continue
		}
		if !errors.Is(e.Err, ErrPingTimeout) {
			t.Fatalf("disconnected: %v, want ErrPingTimeout", e.Err)
		}
		break
	}
	err := c.Publish(ctxT(t), &Message{Topic: "t"})
	if !errors.Is(err, ErrNotConnected) || !errors.Is(err, ErrPingTimeout) {
		t.Fatalf("Publish after the broker went silent: %v", err)
	}
	if c.State() != StateDisconnected || !errors.Is(c.Err(), ErrPingTimeout) {
		t.Fatalf("State %v, Err %v", c.State(), c.Err())
	}
}

func TestPingAnswered(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{KeepAlive: time.Second, PingTimeout: 2 * time.Second}, packet.Properties{})
	for i := 0; i < 2; i++ {
		fc.Expect(packet.TypePingreq)
		fc.Send(&packet.Pingresp{})
	}
	if c.State() != StateConnected {
		t.Fatalf("State %v after answered pings: %v", c.State(), c.Err())
	}
}

// TestBadPacketFromBroker sends packets a client must refuse and checks the
// DISCONNECT with the right reason code (MQTT 5.0 section 4.13) and the
// error.
func TestBadPacketFromBroker(t *testing.T) {
	noLeaks(t)
	for _, c := range []struct {
		name string
		cfg  Config
		send []byte
		code packet.ReasonCode
	}{
		{"QoS 3", Config{}, []byte{0x36, 0x05, 0, 1, 't', 0, 1}, packet.ReasonMalformedPacket},
		{"remaining length too long", Config{}, []byte{0x40, 0x05, 0, 1, 0, 0, 0}, packet.ReasonMalformedPacket},
		{"DUP on QoS 0", Config{}, []byte{0x38, 0x04, 0, 1, 't', 0}, packet.ReasonProtocolError},
		{"SUBSCRIBE to a client", Config{}, []byte{0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0}, packet.ReasonProtocolError},
		{"topic alias over our maximum", Config{TopicAliasMaximum: 2}, []byte{0x30, 0x07, 0, 1, 't', 3, 0x23, 0, 3}, packet.ReasonTopicAliasInvalid},
		{"unknown topic alias", Config{TopicAliasMaximum: 2}, []byte{0x30, 0x06, 0, 0, 3, 0x23, 0, 1}, packet.ReasonTopicAliasInvalid},
		{"packet over our maximum size", Config{MaximumPacketSize: 64}, append([]byte{0x30, 0x44, 0, 1, 't', 0}, make([]byte, 64)...), packet.ReasonPacketTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			events := make(chan Event, 4)
			c.cfg.OnEvent = func(e Event) { events <- e }
			_, fc := connected(t, c.cfg, packet.Properties{})
			fc.SendBytes(c.send)
			got := fc.ExpectClosed()
			if len(got) != 1 || got[0].(*packet.Disconnect).ReasonCode != c.code {
				t.Fatalf("the client sent %+v before closing, want DISCONNECT %v", got, c.code)
			}
			for e := range events {
				if e.Kind == EventDisconnected {
					var pe *packet.Error
					if !errors.Is(e.Err, ErrBadPacket) || !errors.As(e.Err, &pe) || pe.Code != c.code {
						t.Fatalf("event error %v", e.Err)
					}
					break
				}
			}
		})
	}
	t.Run("3.1.1 closes without DISCONNECT", func(t *testing.T) {
		_, fc := connected(t, Config{Version: packet.V311}, packet.Properties{})
		fc.SendBytes([]byte{0x36, 0x05, 0, 1, 't', 0, 1})
		if got := fc.ExpectClosed(); len(got) != 0 {
			t.Fatalf("the client sent %+v", got)
		}
	})
}

func TestServerDisconnect(t *testing.T) {
	noLeaks(t)
	events := make(chan Event, 4)
	c, fc := connected(t, Config{OnEvent: func(e Event) { events <- e }}, packet.Properties{})
	fc.Send(&packet.Disconnect{ReasonCode: packet.ReasonServerShuttingDown, Properties: packet.Properties{ReasonString: "maintenance"}})
	for e := range events {
		if e.Kind != EventDisconnected {
			continue
		}
		var de *DisconnectError
		if !errors.As(e.Err, &de) || !de.Remote || de.Code != packet.ReasonServerShuttingDown || de.ReasonString != "maintenance" {
			t.Fatalf("event error %v", e.Err)
		}
		break
	}
	if err := c.Publish(ctxT(t), &Message{Topic: "t"}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Publish: %v", err)
	}
}

func TestConnectionLost(t *testing.T) {
	noLeaks(t)
	events := make(chan Event, 4)
	c, fc := connected(t, Config{OnEvent: func(e Event) { events <- e }}, packet.Properties{})
	pending := c.PublishAsync(&Message{Topic: "t", QoS: QoS1})
	fc.Expect(packet.TypePublish)
	fc.Close()
	if err := pending.Wait(ctxT(t)); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("pending publish: %v, want ErrConnectionLost", err)
	}
	n := 0
	for e := range events {
		if e.Kind == EventDisconnected {
			n++
			if !errors.Is(e.Err, ErrConnectionLost) {
				t.Fatalf("event %v", e.Err)
			}
			break
		}
	}
	c.Close()
	if n != 1 {
		t.Fatalf("%d disconnected events", n)
	}
}

// TestInboundQoS2ExactlyOnce resends a QoS 2 PUBLISH before PUBREL: it must
// not be delivered twice (MQTT 5.0 section 4.3.3).
func TestInboundQoS2ExactlyOnce(t *testing.T) {
	noLeaks(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			in := newInbox()
			_, fc := connected(t, Config{Version: v, DefaultHandler: in.handler}, packet.Properties{})
			pub := &packet.Publish{QoS: QoS2, Topic: "once", PacketID: 5, Payload: []byte("1")}
			fc.Send(pub)
			if m := in.next(t); string(m.Payload) != "1" {
				t.Fatal(m)
			}
			fc.Expect(packet.TypePubrec)
			pub.Dup = true
			fc.Send(pub) // a resend: answered, not delivered
			fc.Expect(packet.TypePubrec)
			fc.Send(&packet.Pubrel{PacketID: 5})
			if comp := fc.Expect(packet.TypePubcomp).(*packet.Pubcomp); comp.PacketID != 5 || comp.ReasonCode != 0 {
				t.Fatalf("PUBCOMP %+v", comp)
			}
			// After PUBREL the identifier starts a new message.
			fc.Send(&packet.Publish{QoS: QoS2, Topic: "once", PacketID: 5, Payload: []byte("2")})
			if m := in.next(t); string(m.Payload) != "2" {
				t.Fatalf("got %q: the first message was delivered twice", m.Payload)
			}
		})
	}
}

func TestReceiveMaximumEnforced(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	defer close(release)
	_, fc := connected(t, Config{ReceiveMaximum: 2, DefaultHandler: func(*Message) { <-release }}, packet.Properties{})
	for id := uint16(1); id <= 3; id++ {
		fc.Send(&packet.Publish{QoS: QoS1, Topic: "flood", PacketID: id})
	}
	got := fc.ExpectClosed()
	if len(got) != 1 || got[0].(*packet.Disconnect).ReasonCode != packet.ReasonReceiveMaximumExceeded {
		t.Fatalf("the client sent %+v, want DISCONNECT 0x93", got)
	}
}

func TestTopicAliasInbound(t *testing.T) {
	noLeaks(t)
	in := newInbox()
	_, fc := connected(t, Config{TopicAliasMaximum: 4, DefaultHandler: in.handler}, packet.Properties{})
	fc.Send(&packet.Publish{Topic: "long/topic/name", Properties: packet.Properties{TopicAlias: 3}, Payload: []byte("a")},
		&packet.Publish{Properties: packet.Properties{TopicAlias: 3}, Payload: []byte("b")})
	for _, want := range []string{"a", "b"} {
		if m := in.next(t); m.Topic != "long/topic/name" || string(m.Payload) != want {
			t.Fatalf("got %s %q", m.Topic, m.Payload)
		}
	}
}

// TestBrokerLimitsObeyed checks that what the CONNACK forbids is refused
// before anything is sent.
func TestBrokerLimitsObeyed(t *testing.T) {
	noLeaks(t)
	no := false
	q1 := QoS1
	c, fc := connected(t, Config{}, packet.Properties{MaximumQoS: &q1, RetainAvailable: &no, MaximumPacketSize: 64,
		WildcardSubAvailable: &no, SharedSubAvailable: &no})
	ctx := ctxT(t)
	for name, err := range map[string]error{
		"QoS 2":         c.Publish(ctx, &Message{Topic: "t", QoS: QoS2}),
		"retain":        c.Publish(ctx, &Message{Topic: "t", Retain: true}),
		"too large":     c.Publish(ctx, &Message{Topic: "t", Payload: make([]byte, 64)}),
		"wildcard":      errOf(c.Subscribe(ctx, nil, Subscription{Filter: "a/+"})),
		"shared":        errOf(c.Subscribe(ctx, nil, Subscription{Filter: "$share/g/a"})),
		"bad topic":     c.Publish(ctx, &Message{Topic: "a/#"}),
		"bad filter":    errOf(c.Subscribe(ctx, nil, Subscription{Filter: "a#"})),
		"no filters":    errOf(c.Subscribe(ctx, nil)),
		"bad QoS":       c.Publish(ctx, &Message{Topic: "t", QoS: 3}),
		"alias too big": c.Publish(ctx, &Message{Topic: "t", Properties: packet.Properties{TopicAlias: 1}}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Nothing was sent: the next packet the broker reads is this one.
	done := c.PublishAsync(&Message{Topic: "fine", QoS: QoS1})
	pub := fc.Expect(packet.TypePublish).(*packet.Publish)
	if pub.Topic != "fine" {
		t.Fatalf("the broker got %q first", pub.Topic)
	}
	fc.Send(&packet.Puback{PacketID: pub.PacketID})
	if err := done.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func errOf(_ []SubResult, err error) error { return err }

func u16(v uint16) *uint16 { return &v }

func TestSubackCountMismatch(t *testing.T) {
	noLeaks(t)
	c, fc := connected(t, Config{}, packet.Properties{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctxT(t), nil, Subscription{Filter: "a"}, Subscription{Filter: "b"})
		errc <- err
	}()
	sub := fc.Expect(packet.TypeSubscribe).(*packet.Subscribe)
	fc.Send(&packet.Suback{PacketID: sub.PacketID, ReasonCodes: []packet.ReasonCode{0}})
	if err := <-errc; !errors.Is(err, ErrBadPacket) {
		t.Fatalf("Subscribe: %v", err)
	}
	if got := fc.ExpectClosed(); len(got) != 1 || got[0].(*packet.Disconnect).ReasonCode != packet.ReasonProtocolError {
		t.Fatalf("the client sent %+v", got)
	}
}

// TestEnhancedAuth plays a challenge-response exchange before CONNACK
// (MQTT 5.0 section 4.12).
func TestEnhancedAuth(t *testing.T) {
	noLeaks(t)
	var challenges []string
	cfg := Config{AuthMethod: "SCRAM-SHA-1", AuthData: []byte("client-first"),
		Authenticate: func(ctx context.Context, ch *packet.Auth) ([]byte, error) {
			challenges = append(challenges, string(ch.Properties.AuthData))
			return []byte("client-final"), nil
		}}
	c, _, err := fakeDial(t, cfg, func(fc *mqtttest.Conn) {
		cp := fc.ExpectConnect()
		if cp.Properties.AuthMethod != "SCRAM-SHA-1" || string(cp.Properties.AuthData) != "client-first" {
			t.Errorf("CONNECT auth: %+v", cp.Properties)
		}
		fc.Send(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication,
			Properties: packet.Properties{AuthMethod: "SCRAM-SHA-1", AuthData: []byte("server-first")}})
		a := fc.Expect(packet.TypeAuth).(*packet.Auth)
		if a.ReasonCode != packet.ReasonContinueAuthentication || a.Properties.AuthMethod != "SCRAM-SHA-1" || string(a.Properties.AuthData) != "client-final" {
			t.Errorf("client AUTH: %+v", a)
		}
		fc.Send(&packet.Connack{Properties: packet.Properties{AuthMethod: "SCRAM-SHA-1", AuthData: []byte("server-final")}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(challenges) != 1 || challenges[0] != "server-first" || string(c.Negotiated().AuthData) != "server-final" {
		t.Fatalf("challenges %q, final %q", challenges, c.Negotiated().AuthData)
	}
}

func TestAuthChallengeWithoutHook(t *testing.T) {
	noLeaks(t)
	_, _, err := fakeDial(t, Config{AuthMethod: "X"}, func(fc *mqtttest.Conn) {
		fc.ExpectConnect()
		fc.Send(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication, Properties: packet.Properties{AuthMethod: "X"}})
		fc.ExpectClosed()
	})
	if err == nil || !strings.Contains(err.Error(), "Authenticate") {
		t.Fatalf("Dial: %v", err)
	}
}

// TestReauthenticate plays a re-authentication with one challenge on a
// connected client (MQTT 5.0 section 4.12.1), then one the client cannot
// answer: it ends the connection with DISCONNECT 0x80.
func TestReauthenticate(t *testing.T) {
	noLeaks(t)
	fail := false
	events := make(chan Event, 4)
	cfg := Config{AuthMethod: "TOKEN", AuthData: []byte("t1"), OnEvent: func(e Event) { events <- e },
		Authenticate: func(ctx context.Context, ch *packet.Auth) ([]byte, error) {
			if fail {
				return nil, errors.New("token service down")
			}
			return append([]byte("answer to "), ch.Properties.AuthData...), nil
		}}
	c, fc := connected(t, cfg, packet.Properties{AuthMethod: "TOKEN"})
	done := make(chan error, 1)
	go func() { done <- c.Reauthenticate(ctxT(t), []byte("t2")) }()
	a := fc.Expect(packet.TypeAuth).(*packet.Auth)
	if a.ReasonCode != packet.ReasonReauthenticate || a.Properties.AuthMethod != "TOKEN" || string(a.Properties.AuthData) != "t2" {
		t.Fatalf("first AUTH %+v", a)
	}
	// The connection carries on meanwhile.
	if err := c.Publish(ctxT(t), &Message{Topic: "during"}); err != nil {
		t.Fatal(err)
	}
	fc.Expect(packet.TypePublish)
	if err := c.Reauthenticate(ctxT(t), nil); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Fatalf("second Reauthenticate: %v", err)
	}
	fc.Send(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication, Properties: packet.Properties{AuthMethod: "TOKEN", AuthData: []byte("nonce")}})
	a = fc.Expect(packet.TypeAuth).(*packet.Auth)
	if a.ReasonCode != packet.ReasonContinueAuthentication || string(a.Properties.AuthData) != "answer to nonce" {
		t.Fatalf("answer AUTH %+v", a)
	}
	fc.Send(&packet.Auth{Properties: packet.Properties{AuthMethod: "TOKEN", AuthData: []byte("ok")}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := c.Negotiated().AuthData; string(d) != "ok" {
		t.Fatalf("AuthData %q", d)
	}

	fail = true
	go func() { done <- c.Reauthenticate(ctxT(t), []byte("t3")) }()
	fc.Expect(packet.TypeAuth)
	fc.Send(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication, Properties: packet.Properties{AuthMethod: "TOKEN"}})
	if err := <-done; err == nil || !strings.Contains(err.Error(), "token service down") {
		t.Fatalf("Reauthenticate with a failing hook: %v", err)
	}
	d := fc.Expect(packet.TypeDisconnect).(*packet.Disconnect)
	if d.ReasonCode != packet.ReasonUnspecifiedError {
		t.Fatalf("DISCONNECT %v", d.ReasonCode)
	}
	fc.ExpectClosed()
	for e := range events {
		if e.Kind == EventDisconnected {
			if !errors.Is(e.Err, ErrAuth) {
				t.Fatalf("disconnected: %v", e.Err)
			}
			break
		}
	}
}

// An AUTH the client did not ask for is a protocol error (MQTT-4.12.1-1):
// DISCONNECT 0x82.
func TestUnaskedAuth(t *testing.T) {
	noLeaks(t)
	_, fc := connected(t, Config{}, packet.Properties{})
	fc.Send(&packet.Auth{ReasonCode: packet.ReasonContinueAuthentication, Properties: packet.Properties{AuthMethod: "X"}})
	if d := fc.Expect(packet.TypeDisconnect).(*packet.Disconnect); d.ReasonCode != packet.ReasonProtocolError {
		t.Fatalf("DISCONNECT %v", d.ReasonCode)
	}
}

func TestReauthenticateNeeds(t *testing.T) {
	noLeaks(t)
	c, _ := connected(t, Config{}, packet.Properties{})
	if err := c.Reauthenticate(ctxT(t), nil); err == nil || !strings.Contains(err.Error(), "AuthMethod") {
		t.Fatalf("without enhanced authentication: %v", err)
	}
	c3, _ := connected(t, Config{Version: packet.V311, AuthMethod: "X"}, packet.Properties{})
	if err := c3.Reauthenticate(ctxT(t), nil); err == nil || !strings.Contains(err.Error(), "5.0") {
		t.Fatalf("in 3.1.1: %v", err)
	}
}
