package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// testMessage is a message with every property a subscriber sees.
func testMessage() *mqtt.Message {
	exp := uint32(60)
	return &mqtt.Message{
		Topic: "a/b", Payload: []byte("hi"), QoS: 1, Retain: true, PacketID: 7,
		Properties: packet.Properties{
			PayloadFormat: 1, MessageExpiryInterval: &exp, ContentType: "text/plain", ResponseTopic: "r/t",
			CorrelationData: []byte("cd"), TopicAlias: 3, SubscriptionIDs: []uint32{4},
			User: []packet.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}},
		},
	}
}

var testTime = time.Date(2024, 5, 6, 9, 2, 3, 4005, time.FixedZone("CEST", 2*3600))

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"%t %p %q %r %l %m", "a/b hi 1 1 2 7"},
		{"%x %X %%", "6869 6869 %"},
		{"%A %C %D %E %F %P %R %S", "3 text/plain cd 60 1 k:v k:w r/t 4"},
		{"%I|%U", "2024-05-06T09:02:03+0200|1714978923.000004005"},
		{"@Y-@m-@d @H:@M:@S.@N @s @@ @a @b @e @j @y @z @Z @T @F @D @u @w", "2024-05-06 09:02:03.000004005 1714978923 @ Mon May  6 127 24 +0200 CEST 09:02:03 2024-05-06 05/06/24 1 1"},
		{`[%5t][%-5t][%05l][%5l][%-05l][%.1t][%3.2C][%6x][%06x]`, "[  a/b][a/b  ][00002][    2][2    ][a][ te][  6869][006869]"},
		{`a\tb\nc\\d\0e\e`, "a\tb\nc\\d\x00e\x1b"},
		{"plain text", "plain text"},
	} {
		f, err := parseFormat(tc.format)
		if err != nil {
			t.Errorf("parseFormat(%q): %v", tc.format, err)
			continue
		}
		got := string(f.appendMessage(nil, testMessage(), testTime, false, func(s string) { t.Error(s) }))
		if got != tc.want {
			t.Errorf("-F %q:\n got %q\nwant %q", tc.format, got, tc.want)
		}
	}
	// Properties a message lacks print nothing, whatever the width.
	f, _ := parseFormat("[%A|%5C|%E|%F|%P|%R|%S|%D]")
	if got := string(f.appendMessage(nil, &mqtt.Message{Topic: "t"}, testTime, false, nil)); got != "[|||||||]" {
		t.Errorf("no properties: %q", got)
	}
	for _, bad := range []string{"%", "%5", "%y", "@", "@Q", `\`, `\x`} {
		if _, err := parseFormat(bad); err == nil {
			t.Errorf("parseFormat(%q) did not fail", bad)
		}
	}
}

func TestMosquittoJSON(t *testing.T) {
	m := testMessage()
	m.Payload = []byte(`{"x": [1, 2]}`)
	got, ok := appendMosquittoJSON(nil, m, testTime, false, false)
	want := `{"tst":"2024-05-06T09:02:03.000004+0200","topic":"a/b","qos":1,"retain":1,"payloadlen":13,` +
		`"properties":{"user-properties":{"k":"v","k":"w"},"content-type":"text/plain","correlation-data":"cd","response-topic":"r/t",` +
		`"payload-format-indicator":1,"message-expiry-interval":60,"topic-alias":3,"subscription-identifier":4},"payload":"{\"x\": [1, 2]}"}`
	if !ok || string(got) != want {
		t.Errorf("%%j:\n got %s\nwant %s", got, want)
	}
	got, ok = appendMosquittoJSON(nil, m, testTime, true, false)
	if !ok || !strings.HasSuffix(string(got), `"payload":{"x": [1, 2]}}`) || !json.Valid(got) {
		t.Errorf("%%J: %s", got)
	}
	got, _ = appendMosquittoJSON(nil, m, testTime, true, true)
	if !strings.Contains(string(got), "\n\t\"topic\": \"a/b\",\n") {
		t.Errorf("%%J --pretty:\n%s", got)
	}
	m = &mqtt.Message{Topic: "bin", Payload: []byte{0xff, 0, 1}}
	got, _ = appendMosquittoJSON(nil, m, testTime, false, false)
	if !strings.HasSuffix(string(got), `"payloadlen":3,"payload_base64":"/wAB"}`) {
		t.Errorf("%%j of binary: %s", got)
	}
	if _, ok := appendMosquittoJSON(nil, m, testTime, true, false); ok {
		t.Error("%J of a payload that is not JSON did not fail")
	}
	if got := string(appendJSONString(nil, "a\"\\\n\x01\u2028\xffé")); got != `"a\"\\\n\u0001\u2028`+"\ufffdé\"" || !json.Valid([]byte(got)) {
		t.Errorf("appendJSONString: %s", got)
	}
}

func TestJSONLine(t *testing.T) {
	got := string(appendJSONLine(nil, testMessage(), testTime))
	want := `{"time":"2024-05-06T09:02:03.000004005+02:00","topic":"a/b","qos":1,"retain":true,"packet_id":7,` +
		`"payload_format_indicator":1,"message_expiry_interval":60,"content_type":"text/plain","response_topic":"r/t",` +
		`"correlation_data":"cd","topic_alias":3,"subscription_identifiers":[4],` +
		`"user_properties":[{"key":"k","value":"v"},{"key":"k","value":"w"}],"payload":"hi"}` + "\n"
	if got != want {
		t.Errorf("--json:\n got %s\nwant %s", got, want)
	}
	m := &mqtt.Message{Topic: "bin", Payload: []byte{0xff}}
	m.Properties.CorrelationData = []byte{0xfe}
	got = string(appendJSONLine(nil, m, testTime))
	if !strings.Contains(got, `"correlation_data_base64":"/g=="`) || !strings.Contains(got, `"payload_base64":"/w=="`) || strings.Contains(got, `"payload":`) {
		t.Errorf("--json of binary: %s", got)
	}
}

// -v and the default format print an empty payload as mosquitto_sub does.
func TestPrinterNull(t *testing.T) {
	for _, tc := range []struct {
		o    outputOptions
		want string
	}{
		{outputOptions{}, ""},
		{outputOptions{verbose: true}, "t (null)\n"},
		{outputOptions{verbose: true, noEOL: true}, "t (null)"},
		{outputOptions{format: "[%p]"}, "[]\n"},
	} {
		var b strings.Builder
		p, err := newPrinter(tc.o, &b, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.print(&mqtt.Message{Topic: "t"})
		if b.String() != tc.want {
			t.Errorf("%+v: %q, want %q", tc.o, b.String(), tc.want)
		}
	}
}

// -d describes packets without passwords or authentication data.
func TestDescribePacket(t *testing.T) {
	c := &packet.Connect{Version: packet.V5, ClientID: "me", CleanStart: true, KeepAlive: 30, Username: "alice", Password: []byte("s3cret"),
		Will:       &packet.Will{Topic: "w", Payload: []byte("bye"), QoS: 1},
		Properties: packet.Properties{AuthMethod: "SCRAM", AuthData: []byte("s3cret-auth")}}
	got := describePacket(c, packet.V5)
	if strings.Contains(got, "s3cret") || !strings.Contains(got, `username "alice", password (not shown)`) || !strings.Contains(got, "authentication-data: (11 bytes, not shown)") {
		t.Errorf("CONNECT: %s", got)
	}
	p := &packet.Publish{Topic: "a/b", QoS: 1, PacketID: 3, Payload: []byte("hello"), Properties: packet.Properties{ContentType: "text/plain"}}
	if got, want := describePacket(p, packet.V5), `PUBLISH (d0, q1, r0, m3, 'a/b', ... (5 bytes)) [content-type: "text/plain"]`; got != want {
		t.Errorf("PUBLISH:\n got %s\nwant %s", got, want)
	}
}
