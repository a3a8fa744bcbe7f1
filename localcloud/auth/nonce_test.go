package auth

import (
	"sync"
	"testing"
	"time"
)

func TestNonceCache(t *testing.T) {
	var n NonceCache
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !n.Use("LTAIa", "n1", t0) {
		t.Fatal("a fresh nonce is refused")
	}
	if n.Use("LTAIa", "n1", t0.Add(time.Second)) {
		t.Fatal("a replayed nonce is accepted")
	}
	if !n.Use("LTAIb", "n1", t0) {
		t.Fatal("the same nonce under another AccessKey is refused")
	}
	if !n.Use("LTAIa\x00n", "1", t0) || !n.Use("LTAIa", "\x00n1", t0) {
		t.Fatal("key and nonce are not kept apart")
	}
	// Remembered for at least 2×SignatureWindow, across one rotation.
	if n.Use("LTAIa", "n1", t0.Add(2*SignatureWindow+time.Second)) {
		t.Fatal("a nonce is forgotten within 2×SignatureWindow")
	}
	// Forgotten after two rotations: a replay that old fails the timestamp check.
	if !n.Use("LTAIa", "n1", t0.Add(4*SignatureWindow+2*time.Second)) {
		t.Fatal("a nonce is remembered forever")
	}
}

func TestNonceCacheConcurrentUse(t *testing.T) {
	var n NonceCache
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 16 {
		wg.Go(func() {
			if n.Use("LTAIa", "same", now) {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if accepted != 1 {
		t.Fatalf("%d of 16 concurrent uses of one nonce accepted, want 1", accepted)
	}
}
