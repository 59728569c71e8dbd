package clock

import (
	"testing"
	"time"
)

func TestOffsetAdvances(t *testing.T) {
	var c Offset
	if d := OffsetOf(c.Now); d != 0 {
		t.Errorf("OffsetOf(zero Offset) = %s, want 0", d)
	}
	c.Advance(90 * time.Second)
	c.Advance(1500 * time.Millisecond)
	if d := OffsetOf(c.Now); d != 91500*time.Millisecond {
		t.Errorf("OffsetOf(after Advance 91.5s) = %s, want 1m31.5s", d)
	}
	if got := c.Now().Sub(time.Now()); got < 91*time.Second || got > 92*time.Second {
		t.Errorf("Now() - time.Now() = %s, want about 91.5s", got)
	}
}

func TestNilMeansTimeNow(t *testing.T) {
	if d := OffsetOf(nil); d != 0 {
		t.Errorf("OffsetOf(nil) = %s, want 0", d)
	}
	if got := Or(nil)(); time.Since(got) > time.Second || time.Since(got) < 0 {
		t.Errorf("Or(nil)() = %s, want the local time", got)
	}
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := Or(func() time.Time { return fixed })(); !got.Equal(fixed) {
		t.Errorf("Or(fixed)() = %s, want %s", got, fixed)
	}
}
