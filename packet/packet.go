package packet

// Packet is an MQTT control packet.
type Packet interface {
	// Type returns the packet's type.
	Type() Type
	// Append appends the whole packet, encoded for protocol version v, to
	// dst and returns the extended buffer. It allocates nothing when dst has
	// room. On error dst is returned unchanged in length.
	Append(dst []byte, v Version) ([]byte, error)
	// Decode decodes a whole packet of this type, encoded for protocol
	// version v, from the front of src, and returns how many bytes it took.
	// Strings are copied; byte slices (payload, correlation data, password,
	// authentication data) refer to src, which must not change while the
	// packet is in use. A src holding only part of the packet gives
	// io.ErrUnexpectedEOF.
	Decode(src []byte, v Version) (int, error)
}

// Compile-time checks that every packet type is a Packet.
var (
	_ Packet = (*Connect)(nil)
	_ Packet = (*Connack)(nil)
	_ Packet = (*Publish)(nil)
	_ Packet = (*Puback)(nil)
	_ Packet = (*Pubrec)(nil)
	_ Packet = (*Pubrel)(nil)
	_ Packet = (*Pubcomp)(nil)
	_ Packet = (*Subscribe)(nil)
	_ Packet = (*Suback)(nil)
	_ Packet = (*Unsubscribe)(nil)
	_ Packet = (*Unsuback)(nil)
	_ Packet = (*Pingreq)(nil)
	_ Packet = (*Pingresp)(nil)
	_ Packet = (*Disconnect)(nil)
	_ Packet = (*Auth)(nil)
)
