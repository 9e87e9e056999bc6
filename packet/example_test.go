package packet_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ternmq/mqtt/packet"
)

// Encode a PUBLISH into a buffer, then read it back from a stream.
func Example() {
	buf, err := (&packet.Publish{
		Topic:    "sensors/kitchen/temperature",
		QoS:      packet.QoS1,
		PacketID: 1,
		Payload:  []byte("21.5"),
		Properties: packet.Properties{
			ContentType: "text/plain",
			User:        []packet.UserProperty{{Key: "unit", Value: "C"}},
		},
	}).Append(nil, packet.V5)
	if err != nil {
		panic(err)
	}

	r := packet.NewReader(bytes.NewReader(buf), 1<<20)
	p, err := r.ReadPacket(packet.V5)
	if err != nil {
		panic(err)
	}
	pub := p.(*packet.Publish)
	fmt.Println(pub.Type(), pub.Topic, string(pub.Payload), pub.Properties.ContentType, pub.Properties.User[0].Value)
	// Output: PUBLISH sensors/kitchen/temperature 21.5 text/plain C
}

// A malformed packet from a peer is refused with the reason code to answer
// with in the DISCONNECT that closes the connection.
func ExampleError() {
	// A PUBLISH with both QoS bits set (MQTT-3.3.1-4).
	_, _, err := packet.Decode([]byte{0x36, 0x07, 0, 3, 'a', '/', 'b', 0, 1}, packet.V5)
	var e *packet.Error
	if errors.As(err, &e) {
		fmt.Printf("0x%02x %v\n", byte(e.Code), e)
	}
	// Output: 0x81 mqtt: malformed packet in PUBLISH: QoS 3
}

// Encoding refuses what the specification forbids before anything is sent.
func ExamplePublish_Append() {
	_, err := (&packet.Publish{Topic: "sensors/#", Payload: []byte("x")}).Append(nil, packet.V311)
	fmt.Println(err)
	// Output: mqtt: cannot encode PUBLISH: topic name contains a wildcard: name "sensors/#" at byte 8
}

// A Reader refuses a packet over its limit from the fixed header alone.
func ExampleReader_ReadPacket() {
	big, _ := (&packet.Publish{Topic: "t", Payload: make([]byte, 4096)}).Append(nil, packet.V311)
	_, err := packet.NewReader(bytes.NewReader(big), 1024).ReadPacket(packet.V311)
	fmt.Println(errors.Is(err, packet.ErrTooLarge), err)
	// Output: true mqtt: Packet too large in PUBLISH: packet of 4102 bytes is over the limit of 1024
}
