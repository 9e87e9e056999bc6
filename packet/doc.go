// Package packet is the MQTT wire codec: every control packet of MQTT 3.1
// (protocol level 3, "MQIsdp"), 3.1.1 (level 4) and 5.0 (level 5), encoded
// and decoded without goroutines or network code.
//
// The protocol version is passed into every encode and decode call, as the
// same packet type has different layouts in different versions.
//
// Encoding appends to a caller's buffer ([Packet.Append]) and allocates
// nothing when the buffer has room. It refuses to encode what the
// specification forbids, with an [*Error].
//
// Decoding ([Decode], [Reader.ReadPacket]) checks what the specification
// says a receiver must check and returns an [*Error] carrying the reason code
// the receiver must answer with: [ReasonMalformedPacket] (0x81),
// [ReasonProtocolError] (0x82), [ReasonTopicAliasInvalid] (0x94) or
// [ReasonPacketTooLarge] (0x95). Use errors.Is with [ErrMalformed],
// [ErrProtocol] or [ErrTooLarge] to classify them.
//
// Decoded packets may refer to the bytes they were decoded from: see
// [Decode] and [Reader] for who owns what.
package packet
