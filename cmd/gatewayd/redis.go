package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// openRedis returns a client for rawURL: one redis:// URL, several
// comma-separated redis:// addresses (Redis Cluster), or
// redis-sentinel://[user:pass@]host:port[,host:port]/master[?db=N]. An empty URL
// starts the embedded in-process Redis and says loudly that nothing survives.
// With autoPipeline a real single Redis (plain or behind Sentinel) is reached
// through the client's auto-pipeliner (see autoPipelined). A Redis Cluster
// keeps its plain client: the gateway walks each master itself (key counts)
// and go-redis's per-node pipelining there is newer still.
func openRedis(rawURL string, autoPipeline bool, log *slog.Logger) (redis.UniversalClient, func(), error) {
	c, closeFn, err := dialRedis(rawURL, log)
	if err != nil || !autoPipeline || rawURL == "" {
		return c, closeFn, err
	}
	if _, cluster := c.(*redis.ClusterClient); cluster {
		return c, closeFn, nil
	}
	ap, err := autoPipelined(c)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return ap, func() { _ = ap.Close(); closeFn() }, nil
}

// autoPipelined puts a client behind go-redis's full-duplex auto-pipeliner:
// the commands and pipelines of concurrent requests are written to one held
// connection as they come and their replies read back in order, so one
// socket write and one read serve many requests instead of one round trip
// each (an EMG Update makes five). The pipeliner is a whole
// UniversalClient: MULTI/EXEC, WATCH, subscriptions and blocking commands
// (XREADGROUP BLOCK, BZPOPMIN) go to a pooled connection of their own as
// before. A plain client answers the same; only the cost differs
// (docs/benchmarks.md).
func autoPipelined(c redis.UniversalClient) (*redis.AutoPipeliner, error) {
	type pipelining interface {
		AutoPipelineWithOptions(*redis.AutoPipelineOptions) (*redis.AutoPipeliner, error)
	}
	p, ok := c.(pipelining)
	if !ok {
		return nil, fmt.Errorf("redis: a %T cannot auto-pipeline; set redis.auto_pipeline: false", c)
	}
	ap, err := p.AutoPipelineWithOptions(&redis.AutoPipelineOptions{FullDuplex: true})
	if err != nil {
		return nil, fmt.Errorf("redis: auto-pipelining: %w", err)
	}
	return ap, nil
}

// dialRedis is openRedis without the auto-pipeliner.
func dialRedis(rawURL string, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if rawURL == "" {
		m, err := miniredis.Run()
		if err != nil {
			return nil, nil, fmt.Errorf("embedded redis: %w", err)
		}
		log.Warn("REDIS_URL is not set: using an EMBEDDED in-process Redis. NOTHING SURVIVES A RESTART: orders, events and queued deliveries are lost when the gateway stops. Set REDIS_URL to a real Redis (AOF on, maxmemory-policy noeviction) for anything but trying it out.",
			"embedded_addr", m.Addr())
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		return c, func() { c.Close(); m.Close() }, nil
	}
	parts := strings.Split(rawURL, ",")
	if strings.HasPrefix(rawURL, "redis-sentinel://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, nil, fmt.Errorf("redis url: %w", err)
		}
		opt := &redis.UniversalOptions{Addrs: strings.Split(u.Host, ","), MasterName: strings.Trim(u.Path, "/")}
		if u.User != nil {
			opt.Username = u.User.Username()
			opt.Password, _ = u.User.Password()
		}
		c := redis.NewUniversalClient(opt)
		return c, func() { c.Close() }, nil
	}
	if len(parts) > 1 {
		opt := &redis.ClusterOptions{}
		for _, p := range parts {
			o, err := redis.ParseURL(strings.TrimSpace(p))
			if err != nil {
				return nil, nil, fmt.Errorf("redis url: %w", err)
			}
			opt.Addrs = append(opt.Addrs, o.Addr)
			opt.Username, opt.Password, opt.TLSConfig = o.Username, o.Password, o.TLSConfig
		}
		c := redis.NewClusterClient(opt)
		return c, func() { c.Close() }, nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(o)
	return c, func() { c.Close() }, nil
}
