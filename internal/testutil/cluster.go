package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a real three-master Redis Cluster of redis-server child
// processes on random loopback ports (AOF on), made with redis-cli --cluster.
type RedisCluster struct {
	Ports []int
	cmds  []*exec.Cmd
}

// URL is the comma-separated list of redis:// addresses the gateway takes.
func (c *RedisCluster) URL() string {
	parts := make([]string, len(c.Ports))
	for i, p := range c.Ports {
		parts[i] = "redis://127.0.0.1:" + strconv.Itoa(p)
	}
	return strings.Join(parts, ",")
}

// StartRedisCluster starts the cluster and stops it at cleanup.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	RequireIntegration(t, "redis-server", "redis-cli")
	c := &RedisCluster{}
	t.Cleanup(func() {
		for _, cmd := range c.cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	var addrs []string
	for i := 0; i < 3; i++ {
		port := FreePort(t)
		dir := filepath.Join(t.TempDir(), strconv.Itoa(port))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--appendonly", "yes",
			"--save", "", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.cmds = append(c.cmds, cmd)
		c.Ports = append(c.Ports, port)
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
		waitPing(t, addrs[i])
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := cc.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok: %v %s", err, info)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitPing(t testing.TB, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Errorf("redis-server on %s did not answer", addr))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RedisSentinel is a real redis-server master watched by one redis-sentinel.
type RedisSentinel struct {
	Master *RedisServer
	Port   int
	Name   string
	cmd    *exec.Cmd
}

// URL is the redis-sentinel:// URL the gateway takes.
func (s *RedisSentinel) URL() string {
	return "redis-sentinel://127.0.0.1:" + strconv.Itoa(s.Port) + "/" + s.Name
}

// StartRedisSentinel starts a master and a sentinel for it, stopped at cleanup.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	s := &RedisSentinel{Master: StartRedis(t), Port: FreePort(t), Name: "gwmaster"}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
		s.Port, dir, s.Name, s.Master.Port, s.Name)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("redis-server", conf, "--sentinel")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	sc := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(s.Port)})
	defer sc.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		addr, err := sc.GetMasterAddrByName(context.Background(), s.Name).Result()
		if err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(s.Master.Port) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel does not know master %s: %v %v", s.Name, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
