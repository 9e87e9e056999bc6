package main

import (
	"strconv"

	paho5 "github.com/eclipse/paho.golang/packets"
	paho3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/ternmq/mqtt/packet"
)

// The packets measured, in the shapes of packet/bench_test.go, each built
// three times: for tern, for paho.mqtt.golang (3.1.1) and for paho.golang
// (5.0). The interop checks in check.go prove the three say the same thing.

const (
	pubTopic = "sensors/building-7/floor-3/room-12/temperature"
	pubID    = 4242
	subID    = 77
	numSubs  = 10
)

func subFilter(i int) string { return "devices/+/telemetry/" + strconv.Itoa(i) + "/#" }

func ternPublish(size int) *packet.Publish {
	return &packet.Publish{Topic: pubTopic, QoS: packet.QoS1, PacketID: pubID, Payload: make([]byte, size)}
}

func paho3Publish(size int) *paho3.PublishPacket {
	p := paho3.NewControlPacket(paho3.Publish).(*paho3.PublishPacket)
	p.Qos = 1
	p.TopicName = pubTopic
	p.MessageID = pubID
	p.Payload = make([]byte, size)
	return p
}

func paho5Publish(size int) *paho5.Publish {
	return &paho5.Publish{Topic: pubTopic, QoS: 1, PacketID: pubID, Payload: make([]byte, size), Properties: &paho5.Properties{}}
}

// ternConnect is the CONNECT of packet/bench_test.go: will, user name,
// password, and for 5.0 the same properties. One difference: the Will carries
// no Content Type, because paho.golang cannot encode one (it packs Will
// Properties with the CONNECT property set, which leaves Content Type out),
// and both sides must encode the same packet.
func ternConnect(v packet.Version) *packet.Connect {
	c := &packet.Connect{
		ClientID: "device-0042-7f3a", CleanStart: true, KeepAlive: 60,
		Username: "device-0042", Password: []byte("secret-token-value"),
		Will: &packet.Will{Topic: "devices/0042/status", Payload: []byte("offline"), QoS: packet.QoS1, Retain: true},
	}
	if v == packet.V5 {
		c.Will.Properties = packet.Properties{WillDelayInterval: 5}
		c.Properties = packet.Properties{
			SessionExpiryInterval: ptr(uint32(3600)), ReceiveMaximum: 100, MaximumPacketSize: 1 << 20,
			TopicAliasMaximum: 16, RequestResponseInfo: true,
			User: []packet.UserProperty{{Key: "model", Value: "t1000"}, {Key: "fw", Value: "1.2.3"}},
		}
	}
	return c
}

func paho3Connect() *paho3.ConnectPacket {
	c := paho3.NewControlPacket(paho3.Connect).(*paho3.ConnectPacket)
	c.ProtocolName = "MQTT"
	c.ProtocolVersion = 4
	c.CleanSession = true
	c.Keepalive = 60
	c.ClientIdentifier = "device-0042-7f3a"
	c.UsernameFlag, c.Username = true, "device-0042"
	c.PasswordFlag, c.Password = true, []byte("secret-token-value")
	c.WillFlag, c.WillQos, c.WillRetain = true, 1, true
	c.WillTopic, c.WillMessage = "devices/0042/status", []byte("offline")
	return c
}

func paho5Connect() *paho5.Connect {
	return &paho5.Connect{
		ProtocolName: "MQTT", ProtocolVersion: 5,
		CleanStart: true, KeepAlive: 60, ClientID: "device-0042-7f3a",
		UsernameFlag: true, Username: "device-0042",
		PasswordFlag: true, Password: []byte("secret-token-value"),
		WillFlag: true, WillQOS: 1, WillRetain: true,
		WillTopic: "devices/0042/status", WillMessage: []byte("offline"),
		WillProperties: &paho5.Properties{WillDelayInterval: ptr(uint32(5))},
		Properties: &paho5.Properties{
			SessionExpiryInterval: ptr(uint32(3600)), ReceiveMaximum: ptr(uint16(100)),
			MaximumPacketSize: ptr(uint32(1 << 20)), TopicAliasMaximum: ptr(uint16(16)),
			RequestResponseInfo: ptr(byte(1)),
			User:                []paho5.User{{Key: "model", Value: "t1000"}, {Key: "fw", Value: "1.2.3"}},
		},
	}
}

func ternSubscribe() *packet.Subscribe {
	s := &packet.Subscribe{PacketID: subID}
	for i := range numSubs {
		s.Subscriptions = append(s.Subscriptions, packet.Subscription{Filter: subFilter(i), QoS: packet.QoS1})
	}
	return s
}

func paho3Subscribe() *paho3.SubscribePacket {
	s := paho3.NewControlPacket(paho3.Subscribe).(*paho3.SubscribePacket)
	s.MessageID = subID
	for i := range numSubs {
		s.Topics = append(s.Topics, subFilter(i))
		s.Qoss = append(s.Qoss, 1)
	}
	return s
}

func paho5Subscribe() *paho5.Subscribe {
	s := &paho5.Subscribe{PacketID: subID, Properties: &paho5.Properties{}}
	for i := range numSubs {
		s.Subscriptions = append(s.Subscriptions, paho5.SubOptions{Topic: subFilter(i), QoS: 1})
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// cycleReader replays b endlessly without allocating: a stream of the same
// packet, over and over.
type cycleReader struct {
	b   []byte
	off int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}
