package packet

import (
	"bytes"
	"reflect"
	"testing"
)

// captured holds packets recorded on the wire between Mosquitto 2.0.11 and
// its own clients (libmosquitto), through a logging TCP proxy, in all three
// protocol versions and both directions: an encoder other than ours.
//
// Recorded with mosquitto_sub and mosquitto_pub (-V 5, 311, 31) against a
// broker on 127.0.0.1: subscriptions with a subscription identifier, QoS 1
// and 2 publishes with every publish property, a retained message, a Will,
// a user name and password, and a topic alias.
var captured = []struct {
	v    Version
	name string
	from string
	hex  string
}{
	{V5, "CONNECT", "mosquitto_sub -V 5", "102400044d5154540500003c1321001426000377686f0003737562110000003c000473756235"},
	{V5, "SUBSCRIBE", "mosquitto_sub -V 5", "820d0001020b0700056361702f2302"},
	{V5, "PUBREC", "mosquitto_sub -V 5", "50020001"},
	{V5, "PUBCOMP", "mosquitto_sub -V 5", "70020001"},
	{V5, "PUBACK", "mosquitto_sub -V 5", "40020002"},
	{V5, "PUBREC", "mosquitto_sub -V 5", "50020003"},
	{V5, "PUBCOMP", "mosquitto_sub -V 5", "70020003"},
	{V5, "DISCONNECT", "mosquitto_sub -V 5", "e000"},
	{V5, "CONNACK", "mosquitto 2.0.11 to mosquitto_sub", "200900000622000a210014"},
	{V5, "SUBACK", "mosquitto 2.0.11 to mosquitto_sub", "900400010002"},
	{V5, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "343f00056361702f610001300b0703000a746578742f706c61696e2600016b0001760800096361702f7265706c79090004306130620101020000007868656c6c6f"},
	{V5, "PUBREL", "mosquitto 2.0.11 to mosquitto_sub", "62020001"},
	{V5, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "321300076361702f622f780002020b07776f726c64"},
	{V5, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "340f00056361702f630003020b076f6c64"},
	{V5, "PUBREL", "mosquitto 2.0.11 to mosquitto_sub", "62020003"},
	{V31, "CONNECT", "mosquitto_sub -V 31", "101300064d51497364700302003c00057375623331"},
	{V31, "SUBSCRIBE", "mosquitto_sub -V 31", "820a000100056361702f2302"},
	{V31, "PUBREC", "mosquitto_sub -V 31", "50020001"},
	{V31, "PUBCOMP", "mosquitto_sub -V 31", "70020001"},
	{V31, "PUBACK", "mosquitto_sub -V 31", "40020002"},
	{V31, "DISCONNECT", "mosquitto_sub -V 31", "e000"},
	{V31, "CONNACK", "mosquitto 2.0.11 to mosquitto_sub", "20020000"},
	{V31, "SUBACK", "mosquitto 2.0.11 to mosquitto_sub", "9003000102"},
	{V31, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "340e00056361702f61000168656c6c6f"},
	{V31, "PUBREL", "mosquitto 2.0.11 to mosquitto_sub", "62020001"},
	{V31, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "321000076361702f622f780002776f726c64"},
	{V311, "CONNECT", "mosquitto_sub -V 311", "101200044d5154540402003c0006737562333131"},
	{V311, "SUBSCRIBE", "mosquitto_sub -V 311", "8214000100076361702f2b2f780100056361702f2301"},
	{V311, "PUBACK", "mosquitto_sub -V 311", "40020001"},
	{V311, "PUBACK", "mosquitto_sub -V 311", "40020002"},
	{V311, "DISCONNECT", "mosquitto_sub -V 311", "e000"},
	{V311, "CONNACK", "mosquitto 2.0.11 to mosquitto_sub", "20020000"},
	{V311, "SUBACK", "mosquitto 2.0.11 to mosquitto_sub", "900400010101"},
	{V311, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "320e00056361702f61000168656c6c6f"},
	{V311, "PUBLISH", "mosquitto 2.0.11 to mosquitto_sub", "321000076361702f622f780002776f726c64"},
	{V5, "CONNECT", "mosquitto_pub -V 5", "103000044d51545405ce001e032100140004707562350000086361702f77696c6c0003627965000475736572000470617373"},
	{V5, "PUBLISH", "mosquitto_pub -V 5", "343d00056361702f6100012e03000a746578742f706c61696e2600016b00017602000000780800096361702f7265706c7909000430613062010168656c6c6f"},
	{V311, "CONNECT", "mosquitto_pub -V 311", "101200044d5154540402003c0006707562333131"},
	{V311, "PUBLISH", "mosquitto_pub -V 311", "331000076361702f622f780001776f726c64"},
	{V31, "CONNECT", "mosquitto_pub -V 31", "101300064d51497364700302003c00057075623331"},
	{V31, "PUBLISH", "mosquitto_pub -V 31", "340c00056361702f6300016f6c64"},
	{V5, "CONNECT", "mosquitto_pub -V 5 (topic alias)", "101500044d5154540502003c0321001400057075623562"},
	{V5, "PUBLISH", "mosquitto_pub -V 5 (topic alias)", "320e00056361702f6400010323000378"},
	{V5, "PUBACK", "mosquitto 2.0.11 to mosquitto_pub", "40020001"},
}

// capturedReordered lists the captures whose properties Mosquitto writes in
// an order other than ours (we write them by ascending identifier); the
// order of different properties has no meaning (5.0 section 2.2.2.2).
var capturedReordered = map[string]bool{
	"343f00056361702f610001300b0703000a746578742f706c61696e2600016b0001760800096361702f7265706c79090004306130620101020000007868656c6c6f": true,
	"343d00056361702f6100012e03000a746578742f706c61696e2600016b00017602000000780800096361702f7265706c7909000430613062010168656c6c6f":     true,
	"102400044d5154540500003c1321001426000377686f0003737562110000003c000473756235":                                                       true,
	"200900000622000a210014": true,
}

func TestMosquittoCaptures(t *testing.T) {
	for _, c := range captured {
		b := unhex(t, c.hex)
		p, n, err := Decode(b, c.v)
		if err != nil || n != len(b) {
			t.Errorf("%s %s from %s: Decode = %d, %v\n%x", c.v, c.name, c.from, n, err, b)
			continue
		}
		if p.Type().String() != c.name {
			t.Errorf("%x decoded as %v, want %s", b, p.Type(), c.name)
		}
		again, err := p.Append(nil, c.v)
		if err != nil {
			t.Errorf("%s %s: re-encoding %#v: %v", c.v, c.name, p, err)
			continue
		}
		if !bytes.Equal(again, b) && !capturedReordered[c.hex] {
			t.Errorf("%s %s from %s: re-encoded\n got %x\nwant %x", c.v, c.name, c.from, again, b)
		}
		p2, _, err := Decode(again, c.v)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Errorf("%s %s: re-encoding decodes to %#v, %v", c.v, c.name, p2, err)
		}
	}
}

// TestMosquittoForwardedPublish checks the meaning of one capture field by
// field: the QoS 2 PUBLISH Mosquitto forwarded to a 5.0 subscriber, with
// every property mosquitto_pub set and the subscription identifier added.
func TestMosquittoForwardedPublish(t *testing.T) {
	b := unhex(t, "343f00056361702f610001300b0703000a746578742f706c61696e2600016b0001760800096361702f7265706c79090004306130620101020000007868656c6c6f")
	p, _, err := Decode(b, V5)
	if err != nil {
		t.Fatal(err)
	}
	want := &Publish{QoS: QoS2, Topic: "cap/a", PacketID: 1, Payload: []byte("hello"), Properties: Properties{
		SubscriptionIDs: []uint32{7}, ContentType: "text/plain", User: []UserProperty{{"k", "v"}},
		ResponseTopic: "cap/reply", CorrelationData: []byte("0a0b"), PayloadFormat: PayloadFormatUTF8,
		MessageExpiryInterval: u32p(120),
	}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %#v\nwant %#v", p, want)
	}
}
