package mqtt

import (
	"math/rand/v2"
	"time"
)

// Jitter is how a reconnect delay is randomised, so that many clients
// losing their broker at once do not come back at once.
type Jitter uint8

// Jitter modes, as in "Exponential Backoff And Jitter" (AWS Architecture
// Blog, 2015) and the AWS IoT SDKs.
const (
	// JitterFull: a delay drawn uniformly between 0 and the exponential
	// delay (capped at Backoff.Max). The default.
	JitterFull Jitter = iota
	// JitterNone: the exponential delay itself, Min × 2^attempt, capped.
	JitterNone
	// JitterDecorrelated: a delay drawn between Min and three times the
	// previous delay (three times Min the first time), capped.
	JitterDecorrelated
)

// Backoff is the schedule of reconnect delays.
type Backoff struct {
	// Min is the first delay and the floor of the exponential growth. If
	// zero, 1 second.
	Min time.Duration
	// Max caps every delay. If zero, 2 minutes.
	Max time.Duration
	// Jitter randomises the delays; JitterFull by default.
	Jitter Jitter
	// StableAfter is how long a connection must last for the delays to
	// start again from Min. If zero, 30 seconds.
	StableAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	b.Min = orDefault(b.Min, time.Second)
	b.Max = orDefault(b.Max, 2*time.Minute)
	if b.Max < b.Min {
		b.Max = b.Min
	}
	b.StableAfter = orDefault(b.StableAfter, 30*time.Second)
	return b
}

// backoff computes successive delays; not safe for concurrent use.
type backoff struct {
	Backoff
	attempt int
	prev    time.Duration
	rand    func(n int64) int64 // uniform in [0, n)
}

func newBackoff(b Backoff) *backoff {
	return &backoff{Backoff: b.withDefaults(), rand: rand.Int64N}
}

// reset starts the schedule again from Min.
func (b *backoff) reset() { b.attempt, b.prev = 0, 0 }

// next returns the delay before the next attempt.
func (b *backoff) next() time.Duration {
	exp := b.Max
	if b.attempt < 62 {
		if e := b.Min << b.attempt; e > 0 && e < b.Max && e>>b.attempt == b.Min {
			exp = e
		}
	}
	b.attempt++
	var d time.Duration
	switch b.Jitter {
	case JitterNone:
		d = exp
	case JitterDecorrelated:
		// "Decorrelated jitter" (AWS Architecture Blog, 2015): uniform in
		// [Min, 3 × the last delay], the first time as if the last were
		// Min, so that clients that lost the broker together are spread
		// from their first attempt.
		hi := max(b.prev, b.Min) * 3
		d = b.Min + time.Duration(b.rand(int64(hi-b.Min)+1))
	default:
		d = time.Duration(b.rand(int64(exp) + 1))
	}
	d = min(d, b.Max)
	b.prev = d
	return d
}
