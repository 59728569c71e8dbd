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
func openRedis(rawURL string, log *slog.Logger) (redis.UniversalClient, func(), error) {
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
