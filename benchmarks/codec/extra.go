package main

import (
	paho5 "github.com/eclipse/paho.golang/packets"
	paho3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/ternmq/mqtt/packet"
)

// extraInterops are packets that are not timed but widen the interop check:
// other flags, MQTT 5.0 properties, subscription options, a bare CONNECT.
func extraInterops() []interop {
	var cs []interop

	// PUBLISH at QoS 0, retained.
	tp := &packet.Publish{Topic: "a/b", Retain: true, Payload: []byte("hello")}
	pp := paho3.NewControlPacket(paho3.Publish).(*paho3.PublishPacket)
	pp.Retain, pp.TopicName, pp.Payload = true, "a/b", []byte("hello")
	cs = append(cs, interop{"PUBLISH QoS 0 retained 3.1.1", mustAppend(tp, packet.V311), paho3Bytes(pp),
		view(tp), paho3Decode, ternDecoder(packet.V311)})

	// PUBLISH at QoS 2, DUP, with the properties a client may send.
	tp5 := &packet.Publish{Topic: "x/y", QoS: packet.QoS2, Dup: true, PacketID: 65535, Payload: []byte(`{"t":21.5}`),
		Properties: packet.Properties{PayloadFormat: packet.PayloadFormatUTF8, MessageExpiryInterval: ptr(uint32(30)),
			ContentType: "application/json", ResponseTopic: "reply/0042", CorrelationData: []byte{1, 2, 3},
			TopicAlias: 3, User: []packet.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}}}}
	pp5 := &paho5.Publish{Topic: "x/y", QoS: 2, Duplicate: true, PacketID: 65535, Payload: []byte(`{"t":21.5}`),
		Properties: &paho5.Properties{PayloadFormat: ptr(byte(1)), MessageExpiry: ptr(uint32(30)),
			ContentType: "application/json", ResponseTopic: "reply/0042", CorrelationData: []byte{1, 2, 3},
			TopicAlias: ptr(uint16(3)), User: []paho5.User{{Key: "k", Value: "v"}, {Key: "k", Value: "w"}}}}
	cs = append(cs, interop{"PUBLISH QoS 2 DUP with properties 5.0", mustAppend(tp5, packet.V5), paho5Bytes(pp5),
		view(tp5), paho5Decode, ternDecoder(packet.V5)})

	// SUBSCRIBE with every 5.0 option, a Subscription Identifier and a
	// shared subscription.
	ts := &packet.Subscribe{PacketID: 9,
		Properties: packet.Properties{SubscriptionIDs: []uint32{200000}, User: []packet.UserProperty{{Key: "a", Value: "b"}}},
		Subscriptions: []packet.Subscription{
			{Filter: "a/#", QoS: packet.QoS2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Filter: "$share/g/b/+", QoS: packet.QoS0, RetainHandling: 1},
		}}
	ps := &paho5.Subscribe{PacketID: 9,
		Properties: &paho5.Properties{SubscriptionIdentifier: ptr(200000), User: []paho5.User{{Key: "a", Value: "b"}}},
		Subscriptions: []paho5.SubOptions{
			{Topic: "a/#", QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Topic: "$share/g/b/+", QoS: 0, RetainHandling: 1},
		}}
	cs = append(cs, interop{"SUBSCRIBE with options 5.0", mustAppend(ts, packet.V5), paho5Bytes(ps),
		view(ts), paho5Decode, ternDecoder(packet.V5)})

	// A bare CONNECT: no will, no user name or password, keep-alive off.
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		tc := &packet.Connect{ClientID: "c"}
		want := *tc
		want.Version = v
		if v == packet.V311 {
			pc := paho3.NewControlPacket(paho3.Connect).(*paho3.ConnectPacket)
			pc.ProtocolName, pc.ProtocolVersion, pc.ClientIdentifier = "MQTT", 4, "c"
			cs = append(cs, interop{"CONNECT bare 3.1.1", mustAppend(tc, v), paho3Bytes(pc),
				view(&want), paho3Decode, ternDecoder(v)})
		} else {
			pc := &paho5.Connect{ProtocolName: "MQTT", ProtocolVersion: 5, ClientID: "c", Properties: &paho5.Properties{}}
			cs = append(cs, interop{"CONNECT bare 5.0", mustAppend(tc, v), paho5Bytes(pc),
				view(&want), paho5Decode, ternDecoder(v)})
		}
	}
	return cs
}
