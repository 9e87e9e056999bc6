package mqtt

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := time.Second
	// Deterministic draws: the largest value each time.
	hi := func(n int64) int64 { return n - 1 }
	b := newBackoff(Backoff{Min: s, Max: 10 * s, Jitter: JitterNone})
	var got []time.Duration
	for range 6 {
		got = append(got, b.next())
	}
	want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("JitterNone delays %v, want %v", got, want)
		}
	}
	b.reset()
	if d := b.next(); d != s {
		t.Fatalf("after reset: %v", d)
	}

	b = newBackoff(Backoff{Min: s, Max: 10 * s})
	b.rand = hi
	for i, w := range []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s} {
		if d := b.next(); d != w {
			t.Fatalf("JitterFull attempt %d at its largest: %v, want %v", i, d, w)
		}
	}
	b = newBackoff(Backoff{Min: s, Max: 10 * s})
	b.rand = func(int64) int64 { return 0 }
	if d := b.next(); d != 0 {
		t.Fatalf("JitterFull at its smallest: %v", d)
	}

	b = newBackoff(Backoff{Min: s, Max: 10 * s, Jitter: JitterDecorrelated})
	b.rand = hi
	for i, w := range []time.Duration{3 * s, 9 * s, 10 * s, 10 * s} {
		if d := b.next(); d != w {
			t.Fatalf("JitterDecorrelated attempt %d at its largest: %v, want %v", i, d, w)
		}
	}

	// Real randomness stays within [0, Max] over many attempts, and huge
	// attempt counts do not overflow.
	b = newBackoff(Backoff{Min: time.Millisecond, Max: time.Hour})
	for range 1000 {
		if d := b.next(); d < 0 || d > time.Hour {
			t.Fatalf("delay %v out of range", d)
		}
	}
	if d := newBackoff(Backoff{}); d.Min != s || d.Max != 2*time.Minute || d.StableAfter != 30*s {
		t.Fatalf("defaults %+v", d.Backoff)
	}
}
