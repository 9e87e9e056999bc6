package store

import (
	"testing"
	"time"
)

func msec(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// waitFor polls cond until it holds, failing the test after a long while.
// It asserts no timing: the deadline only stops a broken test.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
