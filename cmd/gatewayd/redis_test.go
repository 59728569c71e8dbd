package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// TestOpenRedisAutoPipelines checks what the gateway relies on when its
// client is go-redis's full-duplex auto-pipeliner on a real redis-server:
// concurrent callers' pipelines and scripts each get their own replies,
// they share socket reads on the server, key counts still work, and the
// client recovers after the server restarts.
func TestOpenRedisAutoPipelines(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	srv := testutil.StartRedis(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	plain, closePlain, err := openRedis(srv.URL(), false, log)
	testutil.Must(t, err)
	defer closePlain()
	if _, ok := plain.(*redis.Client); !ok {
		t.Fatalf("redis.auto_pipeline false: client is %T, want a plain *redis.Client", plain)
	}
	rdb, closeRedis, err := openRedis(srv.URL(), true, log)
	testutil.Must(t, err)
	defer closeRedis()
	if _, ok := rdb.(*redis.AutoPipeliner); !ok {
		t.Fatalf("redis.auto_pipeline true: client is %T, want *redis.AutoPipeliner", rdb)
	}
	ctx := context.Background()
	incr := redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	reads := func() int64 {
		info := srv.Client().Info(ctx, "stats").Val()
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "total_reads_processed:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("INFO stats has no total_reads_processed")
		return 0
	}
	const callers, rounds = 64, 20
	before := reads()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			key := fmt.Sprintf("ap:%d", c)
			for r := 1; r <= rounds; r++ {
				pipe := rdb.Pipeline()
				set := pipe.Set(ctx, key+":v", fmt.Sprintf("%d/%d", c, r), 0)
				sum := incr.Eval(ctx, pipe, []string{key + ":n"}, c)
				get := pipe.Get(ctx, key+":v")
				if _, err := pipe.Exec(ctx); err != nil {
					errs <- err
					return
				}
				if set.Err() != nil || get.Val() != fmt.Sprintf("%d/%d", c, r) || sum.Val() != int64(c*r) {
					errs <- fmt.Errorf("caller %d round %d: got %q and %v, want %d/%d and %d", c, r, get.Val(), sum.Val(), c, r, c*r)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 64 callers x 20 pipelines would be 1,280 socket reads with a round
	// trip each; sharing the connection makes it far fewer.
	got := reads() - before
	t.Logf("redis-server socket reads for %d pipelines from %d callers: %d", callers*rounds, callers, got)
	if got >= callers*rounds/2 {
		t.Errorf("redis-server read %d times for %d pipelines: not pipelined together", got, callers*rounds)
	}
	if n, err := store.CountKeys(ctx, rdb, "ap:*"); err != nil || n != 2*callers {
		t.Errorf("CountKeys through the auto-pipeliner = %d, %v; want %d", n, err, 2*callers)
	}

	srv.Restart()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = rdb.Set(ctx, "ap:after-restart", "1", 0).Err(); last == nil {
			break
		}
	}
	if last != nil {
		t.Fatalf("the auto-pipelined client did not recover after redis-server restarted: %v", last)
	}
	if v, err := rdb.Get(ctx, "ap:after-restart").Result(); err != nil || v != "1" {
		t.Fatalf("GET after restart = %q, %v", v, err)
	}
}
