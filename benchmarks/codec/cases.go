package main

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"testing"

	paho5 "github.com/eclipse/paho.golang/packets"
	paho3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// A row of the table: one operation measured for tern and for its
// counterpart. other is nil for a tern-only row.
type row struct {
	name    string
	version string // "3.1.1", "5.0" or "" when it does not apply
	rival   string // what tern is measured against
	tern    func(b *testing.B)
	other   func(b *testing.B)
}

const (
	pahoV3   = "paho.mqtt.golang"
	pahoV5   = "paho.golang"
	baseline = "strings.Split baseline"
)

// Results are stored here so that the compiler cannot drop the work.
var (
	sink    any
	sinkInt int
)

var sizes = []int{64, 16 << 10}

func sizeName(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n/1024) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// rows lists every measurement, in the order of the table.
func rows() []row {
	var rs []row
	for _, size := range sizes {
		name := "PUBLISH encode " + sizeName(size)
		rs = append(rs,
			row{name, "3.1.1", pahoV3, ternEncode(ternPublish(size), packet.V311), paho3Encode(paho3Publish(size))},
			row{name, "5.0", pahoV5, ternEncode(ternPublish(size), packet.V5), paho5Encode(paho5Publish(size))})
	}
	for _, size := range sizes {
		name := "PUBLISH decode (stream) " + sizeName(size)
		enc3 := mustAppend(ternPublish(size), packet.V311)
		enc5 := mustAppend(ternPublish(size), packet.V5)
		rs = append(rs,
			row{name, "3.1.1", pahoV3, ternRead(enc3, packet.V311), paho3Read(enc3)},
			row{name, "5.0", pahoV5, ternRead(enc5, packet.V5), paho5Read(enc5)})
	}
	for _, size := range sizes {
		name := "PUBLISH decode from bytes " + sizeName(size)
		for _, v := range []packet.Version{packet.V311, packet.V5} {
			rs = append(rs, row{name, v.String(), "", ternDecodePublish(mustAppend(ternPublish(size), v), v), nil})
		}
	}
	rs = append(rs,
		row{"CONNECT encode", "3.1.1", pahoV3, ternEncode(ternConnect(packet.V311), packet.V311), paho3Encode(paho3Connect())},
		row{"CONNECT encode", "5.0", pahoV5, ternEncode(ternConnect(packet.V5), packet.V5), paho5Encode(paho5Connect())},
		row{"CONNECT decode (stream)", "3.1.1", pahoV3, ternRead(mustAppend(ternConnect(packet.V311), packet.V311), packet.V311), paho3Read(mustAppend(ternConnect(packet.V311), packet.V311))},
		row{"CONNECT decode (stream)", "5.0", pahoV5, ternRead(mustAppend(ternConnect(packet.V5), packet.V5), packet.V5), paho5Read(mustAppend(ternConnect(packet.V5), packet.V5))},
		row{"SUBSCRIBE ×10 encode", "3.1.1", pahoV3, ternEncode(ternSubscribe(), packet.V311), paho3Encode(paho3Subscribe())},
		row{"SUBSCRIBE ×10 encode", "5.0", pahoV5, ternEncode(ternSubscribe(), packet.V5), paho5Encode(paho5Subscribe())},
		row{"SUBSCRIBE ×10 decode (stream)", "3.1.1", pahoV3, ternRead(mustAppend(ternSubscribe(), packet.V311), packet.V311), paho3Read(mustAppend(ternSubscribe(), packet.V311))},
		row{"SUBSCRIBE ×10 decode (stream)", "5.0", pahoV5, ternRead(mustAppend(ternSubscribe(), packet.V5), packet.V5), paho5Read(mustAppend(ternSubscribe(), packet.V5))},
		row{"topic match (" + strconv.Itoa(len(matchPairs)) + " pairs per op)", "", baseline, matchBench(topic.Match), matchBench(splitMatch)},
	)
	return rs
}

func mustAppend(p packet.Packet, v packet.Version) []byte {
	b, err := p.Append(nil, v)
	if err != nil {
		panic(err)
	}
	return b
}

// Encoding: tern appends into a reused slice, paho writes into a reused
// bytes.Buffer. Both buffers start with room for the largest packet.

func ternEncode(p packet.Packet, v packet.Version) func(*testing.B) {
	return func(b *testing.B) {
		buf := make([]byte, 0, 32<<10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = p.Append(buf[:0], v); err != nil {
				b.Fatal(err)
			}
		}
		sinkInt += len(buf)
	}
}

func paho3Encode(p paho3.ControlPacket) func(*testing.B) {
	return func(b *testing.B) {
		var buf bytes.Buffer
		buf.Grow(32 << 10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			buf.Reset()
			if err := p.Write(&buf); err != nil {
				b.Fatal(err)
			}
		}
		sinkInt += buf.Len()
	}
}

func paho5Encode(p io.WriterTo) func(*testing.B) {
	return func(b *testing.B) {
		var buf bytes.Buffer
		buf.Grow(32 << 10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			buf.Reset()
			if _, err := p.WriteTo(&buf); err != nil {
				b.Fatal(err)
			}
		}
		sinkInt += buf.Len()
	}
}

// Decoding from a stream that repeats enc. tern's Reader wraps the
// cycleReader in a bufio.Reader itself; paho is given one explicitly, as a
// real client reads through a buffer.

func ternRead(enc []byte, v packet.Version) func(*testing.B) {
	return func(b *testing.B) {
		r := packet.NewReader(&cycleReader{b: enc}, 0)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := r.ReadPacket(v)
			if err != nil {
				b.Fatal(err)
			}
			sink = p
		}
	}
}

func paho3Read(enc []byte) func(*testing.B) {
	return func(b *testing.B) {
		r := bufio.NewReader(&cycleReader{b: enc})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := paho3.ReadPacket(r)
			if err != nil {
				b.Fatal(err)
			}
			sink = p
		}
	}
}

func paho5Read(enc []byte) func(*testing.B) {
	return func(b *testing.B) {
		r := bufio.NewReader(&cycleReader{b: enc})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := paho5.ReadPacket(r)
			if err != nil {
				b.Fatal(err)
			}
			sink = p
		}
	}
}

// ternDecodePublish decodes from a byte slice into a reused Publish: the
// path of a caller that frames packets itself. paho has no counterpart.
func ternDecodePublish(enc []byte, v packet.Version) func(*testing.B) {
	return func(b *testing.B) {
		var p packet.Publish
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.Decode(enc, v); err != nil {
				b.Fatal(err)
			}
		}
		sinkInt += len(p.Payload)
	}
}

func matchBench(match func(filter, name string) bool) func(*testing.B) {
	return func(b *testing.B) {
		n := 0
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, m := range matchPairs {
				if match(m.filter, m.name) {
					n++
				}
			}
		}
		sinkInt += n
	}
}
