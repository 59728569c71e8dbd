package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Integration reports whether the integration suites are asked for
// (GATEWAY_INTEGRATION=1, set by .ci/run and `make integration`). Integration
// tests call RequireIntegration, which fails (not skips) when the servers they
// need are missing in that mode.
func Integration() bool { return os.Getenv("GATEWAY_INTEGRATION") == "1" }

// RequireIntegration skips t unless GATEWAY_INTEGRATION=1; in that mode a missing
// server binary is a failure, so CI can never pass by skipping.
func RequireIntegration(t testing.TB, binaries ...string) {
	t.Helper()
	if !Integration() {
		t.Skip("integration suite: run with GATEWAY_INTEGRATION=1 (make integration)")
	}
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("integration suite needs %s on PATH: %v", b, err)
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RedisServer is a real redis-server child process with AOF on, in a temp dir.
type RedisServer struct {
	t     testing.TB
	Dir   string
	Port  int
	cmd   *exec.Cmd
	fsync string
}

// StartRedis starts redis-server on a random loopback port with appendonly yes,
// appendfsync always and maxmemory-policy noeviction, and stops it at cleanup.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	return StartRedisFsync(t, "always")
}

// StartRedisFsync is StartRedis with the given appendfsync policy (always,
// everysec or no); benchmarks use everysec, the production setting.
func StartRedisFsync(t testing.TB, fsync string) *RedisServer {
	t.Helper()
	RequireIntegration(t, "redis-server")
	s := &RedisServer{t: t, Dir: t.TempDir(), Port: FreePort(t), fsync: fsync}
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
}

// Pid is the redis-server's process id (0 when it is not running).
func (s *RedisServer) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Addr is host:port of the server.
func (s *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the redis:// URL of the server.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Client returns a go-redis client closed at cleanup.
func (s *RedisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *RedisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--appendonly", "yes", "--appendfsync", s.fsync, "--save", "",
		"--maxmemory-policy", "noeviction", "--daemonize", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(context.Background()).Err(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			s.t.Fatalf("redis-server did not answer on %s: %s", s.Addr(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the server with SIGKILL (no shutdown save) and waits for it.
func (s *RedisServer) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server and starts it again on the same port and data dir,
// so only what AOF persisted survives.
func (s *RedisServer) Restart() {
	s.Kill()
	s.start()
}

// Stop ends the server.
func (s *RedisServer) Stop() { s.Kill() }

// MiniRedis starts an in-process Redis for unit tests and returns a client.
func MiniRedis(t testing.TB) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return m, c
}

// Must fails t on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("unexpected error: %w", err))
	}
}

// EachRedis runs fn as two subtests, "miniredis" and "redis-server" (the real
// server in the integration run only): the same suite on the fake and on the
// real server.
func EachRedis(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("miniredis", func(t *testing.T) {
		_, c := MiniRedis(t)
		fn(t, c)
	})
	t.Run("redis-server", func(t *testing.T) {
		fn(t, StartRedis(t).Client())
	})
}
