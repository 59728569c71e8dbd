package luascript_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/luascript"
	"github.com/equus/sogateway/internal/testutil"
)

var bump = luascript.New(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)

// eachClient runs fn on miniredis, on redis-server, and on redis-server
// behind go-redis's full-duplex auto-pipeliner (the binary's client).
func eachClient(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	testutil.EachRedis(t, fn)
	t.Run("redis-server auto-pipelined", func(t *testing.T) {
		testutil.RequireIntegration(t, "redis-server")
		ap, err := testutil.StartRedis(t).Client().AutoPipelineWithOptions(&redis.AutoPipelineOptions{FullDuplex: true})
		testutil.Must(t, err)
		t.Cleanup(func() { _ = ap.Close() })
		fn(t, ap)
	})
}

// TestExecRecoversFromNoScript runs a pipeline of scripts and plain commands
// after SCRIPT FLUSH emptied Redis's script cache: every script answers as if
// it had been known, and the plain commands around them ran once.
func TestExecRecoversFromNoScript(t *testing.T) {
	eachClient(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		for round := 1; round <= 3; round++ {
			// Rounds 1 and 3 start with an empty cache; round 2 finds the
			// scripts that round 1 loaded again.
			if round != 2 {
				testutil.Must(t, rdb.ScriptFlush(ctx).Err())
			}
			p := rdb.Pipeline()
			plain := p.Incr(ctx, "plain")
			a := bump.Queue(ctx, p, []string{"a"}, 2)
			after := p.Incr(ctx, "after")
			b := bump.Queue(ctx, p, []string{"b"}, 5)
			missing := p.Get(ctx, "missing")
			cmds, err := luascript.Exec(ctx, p)
			if err != redis.Nil || len(cmds) != 5 {
				t.Fatalf("round %d: Exec = %d commands, %v; want 5 and the GET's redis.Nil", round, len(cmds), err)
			}
			if plain.Val() != int64(round) || after.Val() != int64(round) {
				t.Fatalf("round %d: plain commands at %d and %d, want %d (each runs once)", round, plain.Val(), after.Val(), round)
			}
			av, aerr := a.Int64()
			bv, berr := b.Int64()
			if aerr != nil || berr != nil || av != int64(2*round) || bv != int64(5*round) {
				t.Fatalf("round %d: scripts = %d %v, %d %v; want %d and %d", round, av, aerr, bv, berr, 2*round, 5*round)
			}
			if missing.Err() != redis.Nil {
				t.Fatalf("round %d: GET missing = %v, want redis.Nil", round, missing.Err())
			}
		}
		ok, err := rdb.ScriptExists(ctx, bump.Hash()).Result()
		if err != nil || len(ok) != 1 || !ok[0] {
			t.Fatalf("SCRIPT EXISTS after the re-run = %v %v, want the script cached again", ok, err)
		}
	})
}

// TestExecKeepsScriptErrors: a script's own error is its result, not a
// reason to run it again.
func TestExecKeepsScriptErrors(t *testing.T) {
	eachClient(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		testutil.Must(t, rdb.Set(ctx, "a", "not a number", 0).Err())
		testutil.Must(t, rdb.ScriptFlush(ctx).Err())
		p := rdb.Pipeline()
		a := bump.Queue(ctx, p, []string{"a"}, 1)
		n := p.Incr(ctx, "n")
		if _, err := luascript.Exec(ctx, p); err == nil || a.Err() == nil || redis.HasErrorPrefix(a.Err(), "NOSCRIPT") {
			t.Fatalf("Exec = %v, script = %v; want the script's own error", err, a.Err())
		}
		if n.Val() != 1 {
			t.Fatalf("INCR n = %d, want 1", n.Val())
		}
	})
}

// TestRunRecoversFromNoScript: Run outside a pipeline falls back to EVAL.
func TestRunRecoversFromNoScript(t *testing.T) {
	eachClient(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		testutil.Must(t, rdb.ScriptFlush(ctx).Err())
		if n, err := bump.Run(ctx, rdb, []string{"r"}, 3).Int64(); err != nil || n != 3 {
			t.Fatalf("Run = %d %v, want 3", n, err)
		}
	})
}
