package packet

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func FuzzDecodeV31(f *testing.F)  { fuzzDecode(f, V31) }
func FuzzDecodeV311(f *testing.F) { fuzzDecode(f, V311) }
func FuzzDecodeV5(f *testing.F)   { fuzzDecode(f, V5) }

// fuzzDecode checks, for any input: decoding never panics; what decodes
// encodes again, to exactly the length its fixed header states; decoding
// that encoding gives an equal packet, which encodes to the same bytes; and
// the Reader agrees with Decode. The seeds are the golden, invalid and Mosquitto-captured
// packets of v, and the corpus under testdata/fuzz.
func fuzzDecode(f *testing.F, v Version) {
	for _, g := range goldens {
		for _, gv := range g.versions {
			if gv == v {
				f.Add(unhex(f, g.hex))
			}
		}
	}
	for _, c := range invalids {
		if c.v == v {
			f.Add(unhex(f, c.hex))
		}
	}
	for _, c := range captured {
		if c.v == v {
			f.Add(unhex(f, c.hex))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, n, err := Decode(data, v)
		r := NewReader(bytes.NewReader(data), 0)
		if len(data)%2 == 0 { // half the inputs take the client's path: kept packets, bodies from a hook
			r.ReusePackets = true
			r.Body = func(t Type, n int) []byte { return make([]byte, n) }
		}
		rp, rerr := r.ReadPacket(v)
		if err != nil {
			if p != nil {
				t.Fatalf("Decode returned %#v with error %v", p, err)
			}
			var e *Error
			if !errors.As(err, &e) && err != io.ErrUnexpectedEOF {
				t.Fatalf("Decode error %v (%T) is neither *Error nor io.ErrUnexpectedEOF", err, err)
			}
			if rerr == nil {
				t.Fatalf("ReadPacket accepted what Decode refused (%v): %#v", err, rp)
			}
			return
		}
		if rerr != nil || !reflect.DeepEqual(p, rp) {
			t.Fatalf("ReadPacket = %#v, %v; Decode = %#v", rp, rerr, p)
		}
		b, err := p.Append(nil, v)
		if err != nil {
			// Decoding leaves topic filter syntax to the receiver (a
			// SUBACK code per filter); encoding refuses a bad filter.
			var e *Error
			if errors.As(err, &e) && e.Code == ReasonTopicFilterInvalid {
				return
			}
			t.Fatalf("decoded %x to %#v, which fails to encode: %v", data[:n], p, err)
		}
		h, err := parseHeader(b, v)
		if err != nil || h.size() != len(b) {
			t.Fatalf("encoding %x: header says %d bytes (%v), encoding has %d", b, h.size(), err, len(b))
		}
		p2, n2, err := Decode(b, v)
		if err != nil || n2 != len(b) {
			t.Fatalf("re-decoding %x: %d, %v", b, n2, err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("decode→encode→decode changed the packet:\n%#v\n%#v", p, p2)
		}
		b2, err := p2.Append(nil, v)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("second encoding differs: %x vs %x (%v)", b, b2, err)
		}
	})
}
