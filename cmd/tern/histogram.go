package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets, as HdrHistogram does:
// below 2^histSubBits nanoseconds every value has its own bucket; above,
// each power of two is cut into 2^(histSubBits-1) equal buckets, so that a
// bucket is never wider than 1/128 of the values in it (under 0.8%). The
// buckets cover up to 2^histMaxBits nanoseconds (about 38 minutes); longer
// durations fall in the last bucket, and max stays exact.
//
// Its memory is fixed (about 36 KiB), whatever the number of samples.
// record is safe for concurrent use and takes no lock; the other methods
// read a histogram that may still be recorded into, and are exact once
// recording has stopped.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; wraps after 584 years of samples
	min    atomic.Uint64 // nanoseconds, +1 so that zero means none
	max    atomic.Uint64 // nanoseconds
}

const (
	histSubBits = 8                      // 256 exact values, then 128 buckets per power of two
	histHalf    = 1 << (histSubBits - 1) // buckets per power of two
	histMaxBits = 41                     // 2^41 ns ≈ 36.6 minutes
	histBuckets = (histMaxBits-histSubBits+1)*histHalf + histHalf
)

// bucketOf returns the index of the bucket holding v nanoseconds.
func bucketOf(v uint64) int {
	if v >= 1<<histMaxBits {
		return histBuckets - 1
	}
	if v < 1<<histSubBits {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits // ≥ 1: v>>e is in [histHalf, 2*histHalf)
	return e*histHalf + int(v>>e)
}

// bucketHigh returns the largest value bucket i holds.
func bucketHigh(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	e := i/histHalf - 1
	m := uint64(i%histHalf + histHalf)
	return (m+1)<<e - 1
}

// record adds one duration; a negative one counts as zero.
func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		old := h.max.Load()
		if v <= old || h.max.CompareAndSwap(old, v) {
			break
		}
	}
	for {
		old := h.min.Load()
		if (old != 0 && v+1 >= old) || h.min.CompareAndSwap(old, v+1) {
			break
		}
	}
}

// count returns the number of durations recorded.
func (h *histogram) count() uint64 { return h.n.Load() }

// percentile returns the duration at or below which p percent of the
// samples fall (0 < p ≤ 100): the top of the bucket that holds the sample
// of rank ⌈p/100 × count⌉, never above the largest sample. With no
// samples, it returns 0.
func (h *histogram) percentile(p float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// stats returns the summary the reports give: count, min, mean, p50, p90,
// p99, max.
func (h *histogram) stats() durationStats {
	n := h.n.Load()
	if n == 0 {
		return durationStats{}
	}
	s := durationStats{
		Count: n,
		Min:   ms(time.Duration(h.min.Load() - 1)),
		Mean:  ms(time.Duration(h.sum.Load() / n)),
		P50:   ms(h.percentile(50)),
		P90:   ms(h.percentile(90)),
		P99:   ms(h.percentile(99)),
		Max:   ms(time.Duration(h.max.Load())),
	}
	return s
}

// durationStats summarises a histogram, in milliseconds.
type durationStats struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// ms converts d to milliseconds, to the nanosecond.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
