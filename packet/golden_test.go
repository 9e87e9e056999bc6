package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// golden is a packet and its encoding, derived by hand from the figures of
// the specification cited in ref.
type golden struct {
	name     string
	ref      string // where in the specifications the layout comes from
	versions []Version
	p        Packet
	hex      string // spaces are ignored
}

func u32p(v uint32) *uint32 { return &v }
func u16p(v uint16) *uint16 { return &v }
func boolp(v bool) *bool    { return &v }
func qosp(v QoS) *QoS       { return &v }

var (
	v3x  = []Version{V31, V311}
	only = func(v Version) []Version { return []Version{v} }
	all  = []Version{V31, V311, V5}
)

var goldens = []golden{
	{
		name: "CONNECT 3.1 MQIsdp", ref: "MQTT 3.1 section 3.1 (protocol name MQIsdp, level 3)", versions: only(V31),
		p:   &Connect{Version: V31, ClientID: "tern", CleanStart: true, KeepAlive: 60},
		hex: "10 12 0006 4d5149736470 03 02 003c 0004 7465726e",
	},
	{
		name: "CONNECT 3.1.1 spec flags 0xCE", ref: "3.1.1 section 3.1.2.10, Figure 3.6 (flags CE, keep alive 10)", versions: only(V311),
		p: &Connect{Version: V311, ClientID: "c1", CleanStart: true, KeepAlive: 10,
			Username: "u", UsernameFlag: true, Password: []byte("p"),
			Will: &Will{Topic: "w", Payload: []byte("bye"), QoS: QoS1}},
		hex: "10 1c 0004 4d515454 04 ce 000a 0002 6331 0001 77 0003 627965 0001 75 0001 70",
	},
	{
		name: "CONNECT 3.1.1 empty user name, retained will QoS 2", ref: "3.1.1 section 3.1.2.3 (Connect Flags), 3.1.3.4", versions: only(V311),
		p: &Connect{Version: V311, ClientID: "", KeepAlive: 0, UsernameFlag: true,
			Will: &Will{Topic: "w", QoS: QoS2, Retain: true}},
		// flags: user 0x80 | will retain 0x20 | will QoS 2 0x10 | will 0x04 = 0xb4
		hex: "10 13 0004 4d515454 04 b4 0000 0000 0001 77 0000 0000",
	},
	{
		name: "CONNECT 5.0 spec example", ref: "5.0 section 3.1.2.12, Figure 3-7 (flags C2, keep alive 10, Session Expiry 10)", versions: only(V5),
		p: &Connect{Version: V5, ClientID: "c5", CleanStart: true, KeepAlive: 10,
			Username: "u", UsernameFlag: true, Password: []byte("pw"),
			Properties: Properties{SessionExpiryInterval: u32p(10)}},
		hex: "10 1b 0004 4d515454 05 c2 000a 05 11 0000000a 0002 6335 0001 75 0002 7077",
	},
	{
		name: "CONNECT 5.0 all properties and will properties", ref: "5.0 sections 3.1.2.11 and 3.1.3.2, Table 2-4", versions: only(V5),
		p: &Connect{Version: V5, ClientID: "x", KeepAlive: 30, Password: []byte{},
			Properties: Properties{
				SessionExpiryInterval: u32p(3600), AuthMethod: "m", AuthData: []byte{1},
				RequestProblemInfo: boolp(false), RequestResponseInfo: true,
				ReceiveMaximum: 20, TopicAliasMaximum: 10,
				User:              []UserProperty{{"a", "1"}, {"a", "2"}},
				MaximumPacketSize: 1024,
			},
			Will: &Will{Topic: "w/t", Payload: []byte{0xff}, QoS: QoS1, Properties: Properties{
				PayloadFormat: PayloadFormatBytes, MessageExpiryInterval: u32p(0), ContentType: "c",
				ResponseTopic: "r", CorrelationData: []byte{}, WillDelayInterval: 5,
				User: []UserProperty{{"k", "v"}},
			}},
		},
		// flags: password 0x40 | will QoS 1 0x08 | will 0x04 = 0x4c
		hex: "10 5f 0004 4d515454 05 4c 001e" +
			" 2a 11 00000e10 15 0001 6d 16 0001 01 17 00 19 01 21 0014 22 000a" +
			" 26 0001 61 0001 31 26 0001 61 0001 32 27 00000400" +
			" 0001 78" +
			" 1c 02 00000000 03 0001 63 08 0001 72 09 0000 18 00000005 26 0001 6b 0001 76" +
			" 0003 772f74 0001 ff 0000",
	},
	{
		name: "CONNACK 3.1", ref: "MQTT 3.1 section 3.2 (first byte unused)", versions: only(V31),
		p:   &Connack{ReasonCode: ReasonSuccess},
		hex: "20 02 00 00",
	},
	{
		name: "CONNACK 3.1.1 session present", ref: "3.1.1 section 3.2.2, Figure 3.9", versions: only(V311),
		p:   &Connack{SessionPresent: true},
		hex: "20 02 01 00",
	},
	{
		name: "CONNACK 3.x not authorized", ref: "3.1.1 Table 3.1 (return code 5)", versions: v3x,
		p:   &Connack{ReasonCode: ReasonNotAuthorized},
		hex: "20 02 00 05",
	},
	{
		name: "CONNACK 3.x bad protocol version", ref: "3.1.1 Table 3.1 (return code 1)", versions: v3x,
		p:   &Connack{ReasonCode: ReasonUnsupportedProtocolVersion},
		hex: "20 02 00 01",
	},
	{
		name: "CONNACK 5.0 no properties", ref: "5.0 section 3.2.2 (Property Length 0 is required, MQTT-2.2.2-1)", versions: only(V5),
		p:   &Connack{},
		hex: "20 03 00 00 00",
	},
	{
		name: "CONNACK 5.0 server settings", ref: "5.0 section 3.2.2.3", versions: only(V5),
		p: &Connack{SessionPresent: true, Properties: Properties{
			AssignedClientID: "id", ServerKeepAlive: u16p(60), ReceiveMaximum: 10,
			MaximumQoS: qosp(QoS1), RetainAvailable: boolp(false)}},
		hex: "20 12 01 00 0f 12 0002 6964 13 003c 21 000a 24 01 25 00",
	},
	{
		name: "CONNACK 5.0 refused", ref: "5.0 section 3.2.2.2, 3.2.2.3.9, 3.2.2.3.16", versions: only(V5),
		p: &Connack{ReasonCode: ReasonUseAnotherServer, Properties: Properties{
			ReasonString: "go", ServerReference: "b:1", WildcardSubAvailable: boolp(true),
			SubIDAvailable: boolp(false), SharedSubAvailable: boolp(true), SessionExpiryInterval: u32p(0)}},
		hex: "20 19 00 9c 16 11 00000000 1c 0003 623a31 1f 0002 676f 28 01 29 00 2a 01",
	},
	{
		name: "PUBLISH QoS 0", ref: "3.1.1 section 3.3, Figure 3.10 and 3.11", versions: v3x,
		p:   &Publish{Topic: "a/b", Payload: []byte("hi")},
		hex: "30 07 0003 612f62 6869",
	},
	{
		name: "PUBLISH QoS 1 DUP RETAIN", ref: "3.1.1 section 3.3.1 (flags), 3.3.2.2", versions: v3x,
		p:   &Publish{Dup: true, QoS: QoS1, Retain: true, Topic: "a/b", PacketID: 10, Payload: []byte("hi")},
		hex: "3b 09 0003 612f62 000a 6869",
	},
	{
		name: "PUBLISH QoS 2 empty payload", ref: "3.1.1 section 3.3.3 (zero-length payload)", versions: v3x,
		p:   &Publish{QoS: QoS2, Topic: "a/b", PacketID: 0x1234},
		hex: "34 07 0003 612f62 1234",
	},
	{
		name: "PUBLISH 5.0 QoS 0 no properties", ref: "5.0 section 3.3.2.3.1", versions: only(V5),
		p:   &Publish{Topic: "a/b", Payload: []byte("hi")},
		hex: "30 08 0003 612f62 00 6869",
	},
	{
		name: "PUBLISH 5.0 all publish properties", ref: "5.0 section 3.3.2.3", versions: only(V5),
		p: &Publish{QoS: QoS1, Topic: "t", PacketID: 1, Payload: []byte("p"), Properties: Properties{
			PayloadFormat: PayloadFormatUTF8, MessageExpiryInterval: u32p(60), ContentType: "c",
			ResponseTopic: "r", CorrelationData: []byte("x"), TopicAlias: 5,
			User: []UserProperty{{"k", "v"}}}},
		hex: "32 24 0001 74 0001 1d 01 01 02 0000003c 03 0001 63 08 0001 72 09 0001 78 23 0005 26 0001 6b 0001 76 70",
	},
	{
		name: "PUBLISH 5.0 subscription identifiers", ref: "5.0 section 3.3.2.3.8 (may repeat), 1.5.5 (300 = ac 02)", versions: only(V5),
		p:   &Publish{Topic: "t", Properties: Properties{SubscriptionIDs: []uint32{1, 300}}},
		hex: "30 09 0001 74 05 0b 01 0b ac02",
	},
	{
		name: "PUBLISH 5.0 topic alias, empty topic", ref: "5.0 section 3.3.2.3.4", versions: only(V5),
		p:   &Publish{Properties: Properties{TopicAlias: 7}, Payload: []byte("z")},
		hex: "30 07 0000 03 23 0007 7a",
	},
	{
		name: "PUBACK", ref: "3.1.1 section 3.4, Figure 3.12", versions: v3x,
		p:   &Puback{PacketID: 10},
		hex: "40 02 000a",
	},
	{
		name: "PUBACK 5.0 success, short form", ref: "5.0 section 3.4.2.1 (Remaining Length 2)", versions: only(V5),
		p:   &Puback{PacketID: 10},
		hex: "40 02 000a",
	},
	{
		name: "PUBACK 5.0 reason code only", ref: "5.0 section 3.4.2.2.1 (Property Length left out)", versions: only(V5),
		p:   &Puback{PacketID: 10, ReasonCode: ReasonNoMatchingSubscribers},
		hex: "40 03 000a 10",
	},
	{
		name: "PUBACK 5.0 error with reason string", ref: "5.0 section 3.4.2.2.2", versions: only(V5),
		p:   &Puback{PacketID: 10, ReasonCode: ReasonQuotaExceeded, Properties: Properties{ReasonString: "qe"}},
		hex: "40 09 000a 97 05 1f 0002 7165",
	},
	{
		name: "PUBREC", ref: "3.1.1 section 3.5", versions: v3x,
		p:   &Pubrec{PacketID: 1},
		hex: "50 02 0001",
	},
	{
		name: "PUBREC 5.0 error", ref: "5.0 section 3.5.2.1", versions: only(V5),
		p:   &Pubrec{PacketID: 1, ReasonCode: ReasonUnspecifiedError},
		hex: "50 03 0001 80",
	},
	{
		name: "PUBREL", ref: "3.1.1 section 3.6, fixed header flags 0010", versions: v3x,
		p:   &Pubrel{PacketID: 1},
		hex: "62 02 0001",
	},
	{
		name: "PUBREL 5.0 not found", ref: "5.0 section 3.6.2.1", versions: only(V5),
		p:   &Pubrel{PacketID: 1, ReasonCode: ReasonPacketIDNotFound},
		hex: "62 03 0001 92",
	},
	{
		name: "PUBCOMP", ref: "3.1.1 section 3.7", versions: v3x,
		p:   &Pubcomp{PacketID: 1},
		hex: "70 02 0001",
	},
	{
		name: "PUBCOMP 5.0 success with user property", ref: "5.0 section 3.7.2.2", versions: only(V5),
		p:   &Pubcomp{PacketID: 1, Properties: Properties{User: []UserProperty{{"k", "v"}}}},
		hex: "70 0b 0001 00 07 26 0001 6b 0001 76",
	},
	{
		name: "SUBSCRIBE spec example", ref: "3.1.1 section 3.8.3, Table 3.5 (a/b QoS 1, c/d QoS 2)", versions: v3x,
		p:   &Subscribe{PacketID: 10, Subscriptions: []Subscription{{Filter: "a/b", QoS: QoS1}, {Filter: "c/d", QoS: QoS2}}},
		hex: "82 0e 000a 0003 612f62 01 0003 632f64 02",
	},
	{
		name: "SUBSCRIBE 5.0 options and identifier", ref: "5.0 section 3.8.3.1, Figure 3-21", versions: only(V5),
		p: &Subscribe{PacketID: 1, Properties: Properties{SubscriptionIDs: []uint32{5}}, Subscriptions: []Subscription{
			{Filter: "a/+", QoS: QoS1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Filter: "$share/g/x"},
		}},
		hex: "82 18 0001 02 0b 05 0003 612f2b 2d 000a 2473686172652f672f78 00",
	},
	{
		name: "SUBACK", ref: "3.1.1 section 3.9.3, Table 3.6", versions: v3x,
		p:   &Suback{PacketID: 10, ReasonCodes: []ReasonCode{ReasonGrantedQoS0, ReasonGrantedQoS2, ReasonUnspecifiedError}},
		hex: "90 05 000a 00 02 80",
	},
	{
		name: "SUBACK 5.0", ref: "5.0 section 3.9.3", versions: only(V5),
		p:   &Suback{PacketID: 10, ReasonCodes: []ReasonCode{0, 1, 2, 0x80, ReasonWildcardSubsNotSupported}},
		hex: "90 08 000a 00 00 01 02 80 a2",
	},
	{
		name: "UNSUBSCRIBE", ref: "3.1.1 section 3.10, flags 0010, Figure 3.30", versions: v3x,
		p:   &Unsubscribe{PacketID: 2, Filters: []string{"a/b", "c"}},
		hex: "a2 0a 0002 0003 612f62 0001 63",
	},
	{
		name: "UNSUBSCRIBE 5.0", ref: "5.0 section 3.10.2", versions: only(V5),
		p:   &Unsubscribe{PacketID: 2, Filters: []string{"a/b"}},
		hex: "a2 08 0002 00 0003 612f62",
	},
	{
		name: "UNSUBACK", ref: "3.1.1 section 3.11", versions: v3x,
		p:   &Unsuback{PacketID: 2},
		hex: "b0 02 0002",
	},
	{
		name: "UNSUBACK 5.0", ref: "5.0 section 3.11.3", versions: only(V5),
		p:   &Unsuback{PacketID: 2, ReasonCodes: []ReasonCode{ReasonSuccess, ReasonNoSubscriptionExisted}},
		hex: "b0 05 0002 00 00 11",
	},
	{name: "PINGREQ", ref: "section 3.12", versions: all, p: &Pingreq{}, hex: "c0 00"},
	{name: "PINGRESP", ref: "section 3.13", versions: all, p: &Pingresp{}, hex: "d0 00"},
	{name: "DISCONNECT", ref: "3.1.1 section 3.14; 5.0 section 3.14.2.1 (Remaining Length 0)", versions: all, p: &Disconnect{}, hex: "e0 00"},
	{
		name: "DISCONNECT 5.0 with will", ref: "5.0 section 3.14.2.1 (Remaining Length 1)", versions: only(V5),
		p:   &Disconnect{ReasonCode: ReasonDisconnectWithWill},
		hex: "e0 01 04",
	},
	{
		name: "DISCONNECT 5.0 session taken over", ref: "5.0 section 3.14.2.2", versions: only(V5),
		p:   &Disconnect{ReasonCode: ReasonSessionTakenOver, Properties: Properties{ReasonString: "x"}},
		hex: "e0 06 8e 04 1f 0001 78",
	},
	{
		name: "DISCONNECT 5.0 session expiry 0", ref: "5.0 section 3.14.2.2.2", versions: only(V5),
		p:   &Disconnect{Properties: Properties{SessionExpiryInterval: u32p(0)}},
		hex: "e0 07 00 05 11 00000000",
	},
	{name: "AUTH 5.0 success", ref: "5.0 section 3.15.2.1 (Remaining Length 0)", versions: only(V5), p: &Auth{}, hex: "f0 00"},
	{
		name: "AUTH 5.0 continue", ref: "5.0 section 3.15.2.2", versions: only(V5),
		p:   &Auth{ReasonCode: ReasonContinueAuthentication, Properties: Properties{AuthMethod: "SCRAM", AuthData: []byte{1, 2}}},
		hex: "f0 0f 18 0d 15 0005 5343524 14d 16 0002 0102",
	},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// withVersion returns p with the Version field a decoder sets.
func withVersion(p Packet, v Version) Packet {
	if c, ok := p.(*Connect); ok {
		cc := *c
		cc.Version = v
		return &cc
	}
	return p
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		for _, v := range g.versions {
			t.Run(g.name+"/"+v.String(), func(t *testing.T) {
				want := unhex(t, g.hex)
				got, err := g.p.Append(nil, v)
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("Append (%s)\n got %x\nwant %x", g.ref, got, want)
				}
				// Appending after existing bytes keeps them.
				got2, err := g.p.Append([]byte("xy"), v)
				if err != nil || string(got2[:2]) != "xy" || !bytes.Equal(got2[2:], want) {
					t.Fatalf("Append after a prefix: %x, %v", got2, err)
				}

				expect := withVersion(g.p, v)
				p, n, err := Decode(want, v)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if n != len(want) {
					t.Fatalf("Decode took %d bytes, want %d", n, len(want))
				}
				if !reflect.DeepEqual(p, expect) {
					t.Fatalf("Decode\n got %#v\nwant %#v", p, expect)
				}

				// The typed Decode method agrees.
				typed := reflect.New(reflect.TypeOf(g.p).Elem()).Interface().(Packet)
				if n, err := typed.Decode(want, v); err != nil || n != len(want) || !reflect.DeepEqual(typed, expect) {
					t.Fatalf("%T.Decode = %d, %v\n got %#v", typed, n, err, typed)
				}

				// The Reader agrees, and finds two packets in a row.
				r := NewReader(bytes.NewReader(append(append([]byte{}, want...), want...)), 0)
				for i := 0; i < 2; i++ {
					p, err := r.ReadPacket(v)
					if err != nil || !reflect.DeepEqual(p, expect) {
						t.Fatalf("ReadPacket #%d = %#v, %v", i, p, err)
					}
				}
				if _, err := r.ReadPacket(v); err != io.EOF {
					t.Fatalf("ReadPacket at the end: %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestTruncated checks that every proper prefix of every golden packet fails
// cleanly: an error, never a panic or a packet.
func TestTruncated(t *testing.T) {
	for _, g := range goldens {
		for _, v := range g.versions {
			full := unhex(t, g.hex)
			for i := 0; i < len(full); i++ {
				prefix := full[:i:i]
				if p, _, err := Decode(prefix, v); err == nil {
					t.Errorf("%s/%s: Decode of %d of %d bytes = %v, want an error", g.name, v, i, len(full), p)
				} else if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("%s/%s: Decode of %d bytes: %v, want io.ErrUnexpectedEOF", g.name, v, i, err)
				}
				r := NewReader(bytes.NewReader(prefix), 0)
				_, err := r.ReadPacket(v)
				if want := io.ErrUnexpectedEOF; i == 0 {
					want = io.EOF
					if err != want {
						t.Errorf("%s/%s: ReadPacket of nothing: %v, want %v", g.name, v, err, want)
					}
				} else if err != want {
					t.Errorf("%s/%s: ReadPacket of %d bytes: %v, want %v", g.name, v, i, err, want)
				}
			}
		}
	}
}
