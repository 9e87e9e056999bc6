package packet

import (
	"strconv"
	"testing"
)

var benchVersions = []Version{V31, V311, V5}

func benchPublish(size int) *Publish {
	return &Publish{Topic: "sensors/building-7/floor-3/room-12/temperature", QoS: QoS1, PacketID: 4242, Payload: make([]byte, size)}
}

func sizeName(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func BenchmarkPublishAppend(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		for _, v := range benchVersions {
			b.Run(sizeName(size)+"/"+v.String(), func(b *testing.B) {
				p := benchPublish(size)
				buf := make([]byte, 0, size+256)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					buf, _ = p.Append(buf[:0], v)
				}
			})
		}
	}
}

func BenchmarkPublishDecode(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		for _, v := range benchVersions {
			b.Run(sizeName(size)+"/"+v.String(), func(b *testing.B) {
				enc, _ := benchPublish(size).Append(nil, v)
				var p Publish
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := p.Decode(enc, v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkPublishReadPacket(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		for _, v := range benchVersions {
			b.Run(sizeName(size)+"/"+v.String(), func(b *testing.B) {
				enc, _ := benchPublish(size).Append(nil, v)
				r := NewReader(&repeatReader{b: enc}, 0)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := r.ReadPacket(v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func benchConnect() *Connect {
	return &Connect{
		ClientID: "device-0042-7f3a", CleanStart: true, KeepAlive: 60,
		Username: "device-0042", Password: []byte("secret-token-value"),
		Will: &Will{Topic: "devices/0042/status", Payload: []byte("offline"), QoS: QoS1, Retain: true,
			Properties: Properties{WillDelayInterval: 5, ContentType: "text/plain"}},
		Properties: Properties{
			SessionExpiryInterval: u32p(3600), ReceiveMaximum: 100, MaximumPacketSize: 1 << 20,
			TopicAliasMaximum: 16, RequestResponseInfo: true,
			User: []UserProperty{{"model", "t1000"}, {"fw", "1.2.3"}},
		},
	}
}

func BenchmarkConnect(b *testing.B) {
	for _, v := range benchVersions {
		p := benchConnect()
		enc, _ := p.Append(nil, v)
		b.Run("Append/"+v.String(), func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf, _ = p.Append(buf[:0], v)
			}
		})
		b.Run("Decode/"+v.String(), func(b *testing.B) {
			var c Connect
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.Decode(enc, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchSubscribe() *Subscribe {
	s := &Subscribe{PacketID: 77}
	for i := 0; i < 10; i++ {
		s.Subscriptions = append(s.Subscriptions, Subscription{Filter: "devices/+/telemetry/" + strconv.Itoa(i) + "/#", QoS: QoS1})
	}
	return s
}

func BenchmarkSubscribe10(b *testing.B) {
	for _, v := range benchVersions {
		p := benchSubscribe()
		enc, _ := p.Append(nil, v)
		b.Run("Append/"+v.String(), func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf, _ = p.Append(buf[:0], v)
			}
		})
		b.Run("Decode/"+v.String(), func(b *testing.B) {
			var s Subscribe
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.Decode(enc, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
