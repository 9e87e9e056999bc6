package packet

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"
)

// TestReaderLimit checks that an oversize packet is refused from its fixed
// header alone: nothing of its body is read.
func TestReaderLimit(t *testing.T) {
	p := &Publish{Topic: "t", Payload: make([]byte, 100)}
	b, _ := p.Append(nil, V311)
	stream := bytes.NewReader(append(b, 0xc0, 0x00))
	r := NewReader(stream, len(b)-1)
	_, err := r.ReadPacket(V311)
	var e *Error
	if !errors.As(err, &e) || e.Code != ReasonPacketTooLarge || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadPacket: %v, want ErrTooLarge", err)
	}
	if read := int(stream.Size()) - stream.Len(); read != 2 {
		t.Errorf("read %d bytes, want the 2 of the fixed header", read)
	}
	r.SetMaxSize(len(b))
	if r.MaxSize() != len(b) {
		t.Fatalf("MaxSize = %d", r.MaxSize())
	}
	// A packet of exactly the limit is accepted.
	if _, err := NewReader(bytes.NewReader(b), len(b)).ReadPacket(V311); err != nil {
		t.Fatalf("packet at the limit: %v", err)
	}
}

// TestReaderClaimCostsNothing checks that memory follows the bytes a peer
// sends, not the size it claims: a header claiming 256 MiB followed by a few
// bytes must not allocate anything like 256 MiB.
func TestReaderClaimCostsNothing(t *testing.T) {
	claim := append([]byte{0x30}, appendVarint(nil, MaxRemainingLength)...)
	claim = append(claim, 0, 1, 't', 'x', 'y')
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(claim), 0).ReadPacket(V311)
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("ReadPacket: %v, want io.ErrUnexpectedEOF", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("a claim of 256 MiB with 5 bytes sent allocated %d bytes", grew)
	}
}

// TestReaderLargeBody reads bodies larger than the first chunk, so the
// buffer grows as bytes arrive.
func TestReaderLargeBody(t *testing.T) {
	for _, size := range []int{chunk - 5, chunk + 1, 3*chunk + 7, 1 << 20} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		b, err := (&Publish{Topic: "big", QoS: QoS1, PacketID: 9, Payload: payload}).Append(nil, V5)
		if err != nil {
			t.Fatal(err)
		}
		// iotest-style one-byte-at-a-time reads would be slow at 1 MiB;
		// a reader returning short reads of 1000 bytes exercises the loop.
		p, err := NewReader(&shortReader{b: b, n: 1000}, 0).ReadPacket(V5)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got := p.(*Publish); !bytes.Equal(got.Payload, payload) || got.Topic != "big" {
			t.Fatalf("size %d: payload differs", size)
		}
	}
}

type shortReader struct {
	b []byte
	n int
}

func (s *shortReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.n)], s.b)
	s.b = s.b[n:]
	return n, nil
}

// TestReaderOwnsBuffer checks that a packet from ReadPacket does not change
// when the Reader reads the next one, and that appending to its payload
// cannot reach its strings.
func TestReaderOwnsBuffer(t *testing.T) {
	var stream []byte
	for _, s := range []string{"first/topic", "second/topic"} {
		stream, _ = (&Publish{Topic: s, Payload: []byte(s)}).Append(stream, V5)
	}
	r := NewReader(bytes.NewReader(stream), 0)
	p1, _ := r.ReadPacket(V5)
	p2, _ := r.ReadPacket(V5)
	a, b := p1.(*Publish), p2.(*Publish)
	a.Payload = append(a.Payload, "XXXXXXXXXXXXXXXX"...)
	if a.Topic != "first/topic" || b.Topic != "second/topic" || string(b.Payload) != "second/topic" {
		t.Fatalf("packets changed: %q %q %q", a.Topic, b.Topic, b.Payload)
	}
}

func TestReaderConnectAnyVersion(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		b, _ := (&Connect{ClientID: "c"}).Append(nil, v)
		p, err := NewReader(bytes.NewReader(b), 0).ReadPacket(0)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if got := p.(*Connect).Version; got != v {
			t.Fatalf("Version = %v, want %v", got, v)
		}
	}
	// Version 0 is for CONNECT only.
	if _, err := NewReader(bytes.NewReader([]byte{0xc0, 0}), 0).ReadPacket(0); err == nil {
		t.Fatal("PINGREQ read with version 0")
	}
}

// TestReaderReuse checks ReusePackets and the Body hook: the kept types
// come back in the same value, zeroed of the last packet's fields, and
// their strings and slices stay valid; bodies go where Body says.
func TestReaderReuse(t *testing.T) {
	var stream []byte
	for _, p := range []Packet{
		&Publish{Topic: "a", Payload: []byte("1"), QoS: QoS1, PacketID: 1, Properties: Properties{ContentType: "x"}},
		&Publish{Topic: "b", Payload: []byte("22")},
		&Puback{PacketID: 9, ReasonCode: ReasonNotAuthorized, Properties: Properties{ReasonString: "no"}},
		&Puback{PacketID: 10},
		&Suback{PacketID: 3, ReasonCodes: []ReasonCode{0}},
		&Pingresp{},
	} {
		stream, _ = p.Append(stream, V5)
	}
	var bodies []Type
	r := NewReader(bytes.NewReader(stream), 0)
	r.ReusePackets = true
	r.Body = func(t Type, n int) []byte {
		bodies = append(bodies, t)
		if t == TypeSuback {
			return nil // the Reader allocates
		}
		return make([]byte, n)
	}
	var got []Packet
	for range 6 {
		p, err := r.ReadPacket(V5)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	p1, p2 := got[0].(*Publish), got[1].(*Publish)
	if p1 != p2 {
		t.Error("the second PUBLISH is not in the kept value")
	}
	if p2.Topic != "b" || string(p2.Payload) != "22" || p2.QoS != QoS0 || p2.PacketID != 0 || p2.Properties.ContentType != "" {
		t.Errorf("second PUBLISH %+v keeps fields of the first", p2)
	}
	a1, a2 := got[2].(*Puback), got[3].(*Puback)
	if a1 != a2 || a2.PacketID != 10 || a2.ReasonCode != ReasonSuccess || a2.Properties.ReasonString != "" {
		t.Errorf("second PUBACK %+v", a2)
	}
	if s := got[4].(*Suback); len(s.ReasonCodes) != 1 {
		t.Errorf("SUBACK %+v", s)
	}
	want := []Type{TypePublish, TypePublish, TypePuback, TypePuback, TypeSuback, TypePingresp}
	if !slices.Equal(bodies, want) {
		t.Errorf("Body called for %v, want %v", bodies, want)
	}

	// Without ReusePackets every packet is new.
	r = NewReader(bytes.NewReader(stream), 0)
	q1, _ := r.ReadPacket(V5)
	q2, _ := r.ReadPacket(V5)
	if q1 == q2 || q1.(*Publish).Topic != "a" {
		t.Error("packets shared without ReusePackets")
	}
}
