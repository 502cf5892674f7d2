package sleep

import (
	"testing"
	"time"
)

// TestUntil: a wait never ends before its due time, ends soon after it, and
// a closed stop ends it early.
func TestUntil(t *testing.T) {
	s := New()
	defer s.Close()
	var worst time.Duration
	for _, d := range []time.Duration{0, 200 * time.Microsecond, 900 * time.Microsecond, 3 * time.Millisecond, 8 * time.Millisecond} {
		for range 5 {
			due := time.Now().Add(d)
			if !s.Until(due, nil) {
				t.Fatal("Until returned false without a stop")
			}
			late := time.Since(due)
			if late < 0 {
				t.Fatalf("woke %s before the due time", -late)
			}
			worst = max(worst, late)
		}
	}
	t.Logf("worst lateness %s", worst)
	// Generous: the machine is shared; the point is "not a whole tick late every time".
	if worst > 50*time.Millisecond {
		t.Errorf("worst lateness %s", worst)
	}
	stop := make(chan struct{})
	close(stop)
	start := time.Now()
	if s.Until(start.Add(time.Hour), stop) {
		t.Error("Until ignored a closed stop")
	}
	if time.Since(start) > time.Second {
		t.Error("Until did not return early on stop")
	}
}
