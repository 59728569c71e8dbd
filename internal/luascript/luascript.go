package luascript

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Script is a Lua script known by its SHA1. Create scripts with New at
// package level: Exec finds a failed script's text by its SHA1.
type Script struct{ s *redis.Script }

// byHash maps a script's SHA1 to the script, for Exec's re-run.
var byHash sync.Map

// New returns the script of src and registers it for Exec.
func New(src string) *Script {
	s := &Script{s: redis.NewScript(src)}
	byHash.Store(s.s.Hash(), s)
	return s
}

// Hash is the script's SHA1 (hex).
func (s *Script) Hash() string { return s.s.Hash() }

// Queue queues the script in p by its SHA1 (EVALSHA). Run p with Exec, which
// re-runs it with its text when Redis does not know it.
func (s *Script) Queue(ctx context.Context, p redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
	return s.s.EvalSha(ctx, p, keys, args...)
}

// Run runs the script on c: EVALSHA, then EVAL when Redis does not know it.
func (s *Script) Run(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return s.s.Run(ctx, c, keys, args...)
}

// Exec runs p. When Redis answers NOSCRIPT to scripts queued by Queue, it
// runs exactly those again, in their order, with their text (EVAL) in one
// more round trip on p, and puts their results where the first ones were,
// so callers read each command as if nothing had happened. The rest of the
// pipeline is not sent twice: a script that failed so wrote nothing, and the
// commands around it (an XADD, an INCR) must not run again. Every script the
// gateway queues is written for this: it keeps its own guard (a version, a
// mark that never goes back), so running after the commands queued behind it
// is safe. The error is the first failed command's, as Pipeline.Exec's.
func Exec(ctx context.Context, p redis.Pipeliner) ([]redis.Cmder, error) {
	cmds, err := p.Exec(ctx)
	if err == nil {
		return cmds, nil
	}
	type rerun struct{ orig, again *redis.Cmd }
	var reruns []rerun
	for _, c := range cmds {
		cmd, ok := c.(*redis.Cmd)
		if !ok || cmd.Name() != "evalsha" || !redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			continue
		}
		args := cmd.Args()
		hash, _ := args[1].(string)
		v, known := byHash.Load(hash)
		n, _ := args[2].(int)
		if !known || len(args) < 3+n {
			continue
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i], _ = args[3+i].(string)
		}
		reruns = append(reruns, rerun{cmd, v.(*Script).s.Eval(ctx, p, keys, args[3+n:]...)})
	}
	if len(reruns) == 0 {
		return cmds, err
	}
	_, _ = p.Exec(ctx)
	for _, r := range reruns {
		r.orig.SetVal(r.again.Val())
		r.orig.SetErr(r.again.Err())
	}
	err = nil
	for _, c := range cmds {
		if e := c.Err(); e != nil {
			err = e
			break
		}
	}
	return cmds, err
}
