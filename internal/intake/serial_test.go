package intake

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTurnsOneHolderPerKeyAndNothingLeftIdle(t *testing.T) {
	var ts turns
	ctx := context.Background()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			release, err := ts.take(ctx, []string{"a", "b"}[i%2])
			if err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n > most.Load() {
				most.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			release()
		}(i)
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Errorf("%d holders at once over two keys, want at most one per key", m)
	}
	if n := ts.size(); n != 0 {
		t.Errorf("%d keys kept after every turn ended, want 0", n)
	}
}

func TestTurnsWaiterGivesUpWithItsRequest(t *testing.T) {
	var ts turns
	release, err := ts.take(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := ts.take(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("take while held, request ended = %v, want context.DeadlineExceeded", err)
	}
	release()
	if n := ts.size(); n != 0 {
		t.Errorf("%d keys kept after the holder released and the waiter gave up, want 0", n)
	}
	again, err := ts.take(context.Background(), "k")
	if err != nil {
		t.Fatalf("take after release = %v", err)
	}
	again()
}
