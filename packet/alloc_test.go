package packet

import "testing"

// TestAppendNoAlloc checks that encoding every golden packet into a buffer
// with room allocates nothing.
func TestAppendNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, g := range goldens {
		for _, v := range g.versions {
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := g.p.Append(buf[:0], v); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s/%s: Append allocated %v times", g.name, v, allocs)
			}
		}
	}
}

// TestDecodePublishAllocs checks the PUBLISH decoding budget: one
// allocation at most (the topic's copy; the payload refers to the input),
// and through a Reader two (the packet's buffer and the packet).
func TestDecodePublishAllocs(t *testing.T) {
	for _, v := range []Version{V311, V5} {
		b, _ := (&Publish{Topic: "sensors/kitchen/temperature", QoS: QoS1, PacketID: 7, Payload: make([]byte, 64)}).Append(nil, v)
		var p Publish
		if allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Decode(b, v); err != nil {
				t.Fatal(err)
			}
		}); allocs > 1 {
			t.Errorf("%v: Publish.Decode allocated %v times, want at most 1", v, allocs)
		}
		rd := &repeatReader{b: b}
		r := NewReader(rd, 0)
		if allocs := testing.AllocsPerRun(100, func() {
			if _, err := r.ReadPacket(v); err != nil {
				t.Fatal(err)
			}
		}); allocs > 2 {
			t.Errorf("%v: ReadPacket of a PUBLISH allocated %v times, want at most 2", v, allocs)
		}
	}
}

// repeatReader reads b over and over, without allocating.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}
