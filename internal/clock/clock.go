package clock

import (
	"sync"
	"time"
)

// Or returns now, or time.Now when now is nil: what a nil Now option means.
func Or(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// OffsetOf returns how far now runs from the local time, rounded to the
// millisecond (0 for nil): what the queue adds to Redis TIME.
func OffsetOf(now func() time.Time) time.Duration {
	if now == nil {
		return 0
	}
	return now().Sub(time.Now()).Round(time.Millisecond)
}

// Offset is a test clock that runs at real speed, shifted by an offset the
// test advances. Hand its Now method to the packages under test. The zero
// value is the real time. It is safe for concurrent use.
type Offset struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the local time plus the offset.
func (c *Offset) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock forward by d.
func (c *Offset) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}
