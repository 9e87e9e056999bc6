package store

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPutSync measures Put+Sync of one record per operation under
// each fsync policy, from one goroutine and from many (RunParallel: their
// Syncs share writes and fsyncs). Keys cycle through 4096, so the log
// compacts now and then, as a client's would. msgs/s is records made
// durable (per the policy) per second.
func BenchmarkPutSync(b *testing.B) {
	policies := []struct {
		name     string
		interval time.Duration
	}{{"fsync", 0}, {"interval100ms", 100 * time.Millisecond}, {"nofsync", -1}}
	for _, p := range policies {
		for _, size := range []int{64, 1024} {
			b.Run(fmt.Sprintf("%s/%dB", p.name, size), func(b *testing.B) {
				f := openT(b, b.TempDir(), Options{SyncInterval: p.interval})
				data := payload(1, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := range b.N {
					f.Put(uint64(i%4096), data)
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
			b.Run(fmt.Sprintf("%s/%dB/parallel", p.name, size), func(b *testing.B) {
				f := openT(b, b.TempDir(), Options{SyncInterval: p.interval})
				data := payload(1, size)
				var next atomic.Uint64
				b.SetBytes(int64(size))
				b.SetParallelism(8) // 8 goroutines per GOMAXPROCS
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						f.Put(next.Add(1)%4096, data)
						if err := f.Sync(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				f.mu.Lock()
				b.ReportMetric(float64(b.N)/float64(max(f.writes, 1)), "syncs/write")
				f.mu.Unlock()
			})
		}
	}
}

// BenchmarkReplay measures Open of a log of 100,000 records of 256 bytes.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	f, err := Open(dir, Options{SyncInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	for k := range uint64(100_000) {
		f.Put(k, payload(k, 256))
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		f, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
