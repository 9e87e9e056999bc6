package packet

import (
	"errors"
	"strings"
	"testing"

	"github.com/ternmq/mqtt/topic"
)

func TestAppendRefuses(t *testing.T) {
	long := strings.Repeat("a", 65536)
	bad := string([]byte{0xc3, 0x28})
	cases := []struct {
		name string
		v    Version
		p    Packet
		code ReasonCode
		says string
	}{
		{"unknown version", 6, &Pingreq{}, ReasonUnsupportedProtocolVersion, "version"},
		{"topic over 65,535 bytes", V311, &Publish{Topic: long}, 0x90, "longer than 65535"},
		{"client identifier over 65,535 bytes", V311, &Connect{ClientID: long}, 0x81, "65,535"},
		{"user property over 65,535 bytes", V5, &Puback{PacketID: 1, Properties: Properties{User: []UserProperty{{"k", long}}}}, 0x81, "65,535"},
		{"correlation data over 65,535 bytes", V5, &Publish{Topic: "t", Properties: Properties{CorrelationData: []byte(long)}}, 0x81, "65,535"},
		{"ill-formed UTF-8 client identifier", V5, &Connect{ClientID: bad}, 0x81, "UTF-8"},
		{"U+0000 in user name", V311, &Connect{ClientID: "c", Username: "a\x00"}, 0x81, "U+0000"},
		{"QoS 0 with a Packet Identifier", V311, &Publish{Topic: "t", PacketID: 1}, 0x82, "Packet Identifier on a QoS 0"},
		{"QoS 0 with DUP", V5, &Publish{Topic: "t", Dup: true}, 0x82, "DUP"},
		{"QoS 1 without a Packet Identifier", V5, &Publish{Topic: "t", QoS: QoS1}, 0x82, "Identifier 0"},
		{"QoS 3", V5, &Publish{Topic: "t", QoS: 3, PacketID: 1}, 0x81, "QoS(3)"},
		{"wildcard in topic", V311, &Publish{Topic: "a/#"}, 0x90, "wildcard"},
		{"empty topic in 3.1.1", V311, &Publish{}, 0x90, "empty"},
		{"empty topic, no alias", V5, &Publish{}, 0x90, "empty"},
		{"property not allowed in PUBLISH", V5, &Publish{Topic: "t", Properties: Properties{SessionExpiryInterval: u32p(1)}}, 0x81, "not allowed in PUBLISH"},
		{"property not allowed in Will", V5, &Connect{Will: &Will{Topic: "w", Properties: Properties{TopicAlias: 1}}}, 0x81, "not allowed in Will Properties"},
		{"property not allowed in CONNACK", V5, &Connack{Properties: Properties{ContentType: "x"}}, 0x81, "not allowed in CONNACK"},
		{"two Subscription Identifiers in SUBSCRIBE", V5, &Subscribe{PacketID: 1, Properties: Properties{SubscriptionIDs: []uint32{1, 2}}, Subscriptions: []Subscription{{Filter: "a"}}}, 0x82, "more than one"},
		{"Subscription Identifier 0", V5, &Publish{Topic: "t", Properties: Properties{SubscriptionIDs: []uint32{0}}}, 0x82, "out of range"},
		{"Payload Format Indicator 2", V5, &Publish{Topic: "t", Properties: Properties{PayloadFormat: 2}}, 0x82, "0 or 1"},
		{"wildcard in Response Topic", V5, &Publish{Topic: "t", Properties: Properties{ResponseTopic: "r/+"}}, 0x82, "Response Topic"},
		{"Authentication Data without Method", V5, &Auth{ReasonCode: ReasonContinueAuthentication, Properties: Properties{AuthData: []byte{1}}}, 0x82, "Authentication Method"},
		{"Maximum QoS 2", V5, &Connack{Properties: Properties{MaximumQoS: qosp(2)}}, 0x82, "Maximum QoS"},
		{"empty SUBSCRIBE", V311, &Subscribe{PacketID: 1}, 0x82, "no topic filters"},
		{"empty UNSUBSCRIBE", V5, &Unsubscribe{PacketID: 1}, 0x82, "no topic filters"},
		{"invalid topic filter", V311, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a/#/b"}}}, 0x8f, "wildcard"},
		{"invalid shared subscription", V5, &Unsubscribe{PacketID: 1, Filters: []string{"$share//a"}}, 0x8f, "share"},
		{"subscription options in 3.1.1", V311, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a", NoLocal: true}}}, 0x82, "options of MQTT 5.0"},
		{"Retain Handling 3", V5, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a", RetainHandling: 3}}}, 0x82, "Retain Handling"},
		{"No Local on a shared subscription", V5, &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "$share/g/a", NoLocal: true}}}, 0x82, "No Local"},
		{"SUBSCRIBE Packet Identifier 0", V5, &Subscribe{Subscriptions: []Subscription{{Filter: "a"}}}, 0x82, "Identifier 0"},
		{"PUBACK Packet Identifier 0", V311, &Puback{}, 0x82, "Identifier 0"},
		{"reason code in a 3.1.1 PUBACK", V311, &Puback{PacketID: 1, ReasonCode: ReasonQuotaExceeded}, 0x82, "reason code in MQTT 3.1.1"},
		{"reason code not for PUBCOMP", V5, &Pubcomp{PacketID: 1, ReasonCode: ReasonQuotaExceeded}, 0x82, "not valid in PUBCOMP"},
		{"CONNACK code 3.1.1 lacks", V311, &Connack{ReasonCode: ReasonBanned}, 0x82, "no return code"},
		{"Session Present with a refusal", V5, &Connack{SessionPresent: true, ReasonCode: ReasonBanned}, 0x82, "Session Present"},
		{"SUBACK code 3.1.1 lacks", V311, &Suback{PacketID: 1, ReasonCodes: []ReasonCode{ReasonQuotaExceeded}}, 0x82, "not valid in SUBACK"},
		{"UNSUBACK reason codes in 3.1.1", V311, &Unsuback{PacketID: 1, ReasonCodes: []ReasonCode{0}}, 0x82, "reason codes in MQTT"},
		{"DISCONNECT reason code in 3.1", V31, &Disconnect{ReasonCode: ReasonServerBusy}, 0x82, "reason code in MQTT 3.1"},
		{"AUTH in 3.1.1", V311, &Auth{}, 0x82, "AUTH in MQTT"},
		{"Will QoS 3", V311, &Connect{Will: &Will{Topic: "w", QoS: 3}}, 0x81, "Will QoS"},
		{"wildcard in Will Topic", V5, &Connect{Will: &Will{Topic: "w/+"}}, 0x90, "Will Topic"},
		{"password without user name in 3.1.1", V311, &Connect{Password: []byte("p")}, 0x81, "password without a user name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := c.p.Append(dst, c.v)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Append = %x, %v; want an *Error", out, err)
			}
			if e.Code != c.code || !strings.Contains(e.Error(), c.says) || !e.Encode {
				t.Fatalf("Append: %v (code 0x%02x, Encode %v), want code 0x%02x saying %q", e, byte(e.Code), e.Encode, byte(c.code), c.says)
			}
			if !strings.HasPrefix(e.Error(), "mqtt: cannot encode") {
				t.Errorf("message %q", e.Error())
			}
			if string(out) != "keep" {
				t.Errorf("Append changed dst to %q on error", out)
			}
		})
	}
}

// TestAppendTooLarge checks the 268,435,455-byte limit on the Remaining
// Length (5.0 section 1.5.5). The payload's pages are never written, so the
// test costs address space, not memory.
func TestAppendTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB of address space")
	}
	payload := make([]byte, MaxRemainingLength-4) // + topic "t" (3) + 2 = one over
	_, err := (&Publish{Topic: "t", QoS: QoS1, PacketID: 1, Payload: payload}).Append(nil, V311)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of %d bytes: %v, want ErrTooLarge", MaxRemainingLength+1, err)
	}
	// One byte less fits: check the size without building it.
	w := newWriter(TypePublish, V311)
	(&Publish{Topic: "t", QoS: QoS1, PacketID: 1, Payload: payload[:len(payload)-1]}).write(&w)
	if w.err != nil || w.n != MaxRemainingLength {
		t.Fatalf("largest packet: body %d, err %v", w.n, w.err)
	}
}

// TestSubscribeFilterLeftToReceiver checks that decoding does not refuse a
// SUBSCRIBE whose filter misplaces a wildcard: the server answers that one
// filter with 0x8F in SUBACK (5.0 section 3.9.3).
func TestSubscribeFilterLeftToReceiver(t *testing.T) {
	b := unhex(t, "82 08 0001 0003 612f23 00") // "a/#" is fine; now "#/a":
	b[6], b[7], b[8] = '#', '/', 'a'
	p, _, err := Decode(b, V311)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := p.(*Subscribe).Subscriptions[0].Filter; got != "#/a" {
		t.Fatalf("filter %q", got)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{TypePubrel.String(), "PUBREL"},
		{TypeAuth.String(), "AUTH"},
		{Type(0).String(), "Type(0)"},
		{QoS2.String(), "QoS 2"},
		{QoS(3).String(), "QoS(3)"},
		{V31.String(), "3.1"},
		{V311.String(), "3.1.1"},
		{V5.String(), "5.0"},
		{ReasonQuotaExceeded.String(), "Quota exceeded"},
		{ReasonSuccess.Name(TypeDisconnect), "Normal disconnection"},
		{ReasonSuccess.Name(TypeSuback), "Granted QoS 0"},
		{ReasonSuccess.Name(TypePuback), "Success"},
		{ReasonCode(0x03).String(), "ReasonCode(0x3)"},
		{PropTopicAlias.String(), "Topic Alias"},
		{PropUser.DataType().String(), "UTF-8 String Pair"},
		{PropertyID(0x04).String(), "PropertyID(0x4)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// Every defined type, reason code and property has a name.
	for ty := TypeConnect; ty <= TypeAuth; ty++ {
		if strings.HasPrefix(ty.String(), "Type(") {
			t.Errorf("type %d has no name", ty)
		}
	}
	for c := range reasons {
		if strings.HasPrefix(c.String(), "ReasonCode(") {
			t.Errorf("reason 0x%02x has no name", byte(c))
		}
	}
	n := 0
	for id := PropertyID(0); id <= maxPropertyID; id++ {
		if _, ok := id.info(); ok {
			n++
			if id.DataType() == 0 || strings.HasPrefix(id.String(), "PropertyID(") {
				t.Errorf("property 0x%02x lacks a name or type", byte(id))
			}
		}
	}
	if n != 27 || len(reasons) != 43 {
		t.Errorf("%d properties and %d reason codes, want the 27 and 43 of MQTT 5.0", n, len(reasons))
	}
}

func TestPropertyTable(t *testing.T) {
	for _, c := range []struct {
		id      PropertyID
		t       Type
		allowed bool
	}{
		{PropUser, TypeAuth, true},
		{PropUser, TypePingreq, false},
		{PropSubscriptionID, TypeSubscribe, true},
		{PropSubscriptionID, TypeSuback, false},
		{PropSessionExpiry, TypeDisconnect, true},
		{PropServerReference, TypeConnect, false},
		{PropReasonString, TypePubrel, true},
		{PropWillDelay, TypeConnect, false},
	} {
		if got := c.id.AllowedIn(c.t); got != c.allowed {
			t.Errorf("%v.AllowedIn(%v) = %v", c.id, c.t, got)
		}
	}
	if !PropWillDelay.AllowedInWill() || PropSessionExpiry.AllowedInWill() {
		t.Error("AllowedInWill is wrong for Will Delay Interval or Session Expiry Interval")
	}
	if c, ok := ReasonNotAuthorized.ReturnCodeV3(); !ok || c != 5 {
		t.Errorf("ReturnCodeV3(Not authorized) = %d, %v", c, ok)
	}
	if _, ok := ReasonBanned.ReturnCodeV3(); ok {
		t.Error("Banned has a 3.x return code")
	}
}

func TestErrorUnwrapsTopic(t *testing.T) {
	_, err := (&Publish{Topic: "a/+"}).Append(nil, V5)
	if !errors.Is(err, topic.ErrWildcard) {
		t.Errorf("encoding: %v does not wrap topic.ErrWildcard", err)
	}
	_, _, err = Decode(unhex(t, "30 05 0003 612f23"), V311)
	if !errors.Is(err, topic.ErrWildcard) || !errors.Is(err, ErrProtocol) {
		t.Errorf("decoding: %v does not wrap topic.ErrWildcard and match ErrProtocol", err)
	}
	_, err = (&Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a#"}}}).Append(nil, V311)
	if !errors.Is(err, topic.ErrBadWildcard) {
		t.Errorf("SUBSCRIBE: %v does not wrap topic.ErrBadWildcard", err)
	}
}
