package topic

import "testing"

var benchMatch = []struct {
	name, filter, topic string
}{
	{"exact", "sport/tennis/player1/ranking", "sport/tennis/player1/ranking"},
	{"plus", "sport/+/player1/+", "sport/tennis/player1/ranking"},
	{"hash", "sport/#", "sport/tennis/player1/score/wimbledon"},
	{"no-match-early", "news/tennis/player1/ranking", "sport/tennis/player1/ranking"},
	{"long-8-levels", "building/+/floor7/room12/sensors/+/temperature/#",
		"building/north-wing/floor7/room12/sensors/th-0042/temperature/celsius"},
	{"shared", "$share/workers/sport/+/player1/#", "sport/tennis/player1/ranking"},
}

var sink bool

func BenchmarkMatch(b *testing.B) {
	for _, bm := range benchMatch {
		if !Match(bm.filter, bm.topic) && bm.name != "no-match-early" {
			b.Fatalf("%s: does not match", bm.name)
		}
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sink = Match(bm.filter, bm.topic)
			}
		})
	}
}

var errSink error

func BenchmarkCheckName(b *testing.B) {
	for _, bm := range []struct{ name, topic string }{
		{"ascii", "building/north-wing/floor7/room12/sensors/th-0042/temperature"},
		{"utf8", "gebäude/nordflügel/etage7/raum12/sensoren/温度"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.topic)))
			for range b.N {
				errSink = CheckName(bm.topic)
			}
		})
	}
}

func BenchmarkCheckFilter(b *testing.B) {
	for _, bm := range []struct{ name, filter string }{
		{"ascii", "building/+/floor7/room12/sensors/+/temperature/#"},
		{"shared", "$share/workers/building/+/floor7/room12/sensors/#"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.filter)))
			for range b.N {
				errSink = CheckFilter(bm.filter)
			}
		})
	}
}
