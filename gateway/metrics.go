package gateway

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics are the gateway's own Prometheus collectors.
type Metrics struct {
	Requests    *prometheus.CounterVec
	Latency     *prometheus.HistogramVec
	RedisErrors *prometheus.CounterVec
}

// NewMetrics registers the gateway's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_http_requests_total",
			Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_http_request_duration_seconds",
			Help: "HTTP request latency by route and method.", Buckets: prometheus.DefBuckets}, []string{"route", "method"}),
		RedisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_redis_errors_total",
			Help: "Redis commands that failed (redis.Nil excluded), by command."}, []string{"command"}),
	}
	reg.MustRegister(m.Requests, m.Latency, m.RedisErrors)
	return m
}

func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.Requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.Latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
	}
}

// RedisHook counts failed Redis commands; add it with client.AddHook.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			h.m.RedisErrors.WithLabelValues("dial").Inc()
		}
		return c, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && !errors.Is(err, redis.Nil) && !isScriptMiss(err) {
			h.m.RedisErrors.WithLabelValues(cmd.Name()).Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.m.RedisErrors.WithLabelValues("pipeline").Inc()
		}
		return err
	}
}

// isScriptMiss is the NOSCRIPT answer go-redis handles by loading the script,
// and the business errors our scripts return on purpose.
func isScriptMiss(err error) bool {
	s := err.Error()
	for _, p := range []string{"NOSCRIPT", "VERSION", "EXISTS", "NOTFOUND"} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
