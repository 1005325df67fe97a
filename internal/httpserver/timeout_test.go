package httpserver

import (
	"testing"
	"time"
)

// TestTimeoutTimerClaim: exactly one of the handler and the timer writes,
// whoever comes first, and a timer that never fired is reusable.
func TestTimeoutTimerClaim(t *testing.T) {
	tt := &timeoutTimer{t: time.AfterFunc(time.Hour, func() {})}
	tt.t.Stop()
	if !tt.claim() {
		t.Fatal("first claim refused")
	}
	tt.mu.Unlock()
	if tt.claim() {
		t.Fatal("second claim granted")
	}
	// the lock is free again after a refused claim
	if !tt.mu.TryLock() {
		t.Fatal("a refused claim kept the lock")
	}
	tt.mu.Unlock()
}
