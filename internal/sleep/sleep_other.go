//go:build !linux

package sleep

import "time"

func (s *Sleeper) until(due time.Time, stop <-chan struct{}) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	s.t.Reset(d)
	select {
	case <-s.t.C:
		return true
	case <-stop:
		return false
	}
}
