package dispatch

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/store"
)

// Janitor trims what would otherwise grow without bound in Redis (event
// stream entries, finished delivery records, dead letters) to the configured
// retention, and measures the sizes /metrics shows. Every replica may run one:
// each trim reads Redis TIME and is idempotent. Per-order fences, idempotency
// answers, nonces and replay guards bound themselves (TTLs set when written).
type Janitor struct {
	st  *store.Store
	svc *Service
	ret configs.Retention

	mu      sync.Mutex
	sizes   map[string]int64
	trimmed *prometheus.CounterVec
}

// NewJanitor returns a janitor over the store and the dispatch service;
// zero retention fields take their defaults.
func NewJanitor(st *store.Store, svc *Service, ret configs.Retention) *Janitor {
	ret.SetDefaults()
	return &Janitor{st: st, svc: svc, ret: ret, sizes: map[string]int64{},
		trimmed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sog_retention_trimmed_total",
			Help: "Entries the janitor deleted because they were older than their retention, by kind."}, []string{"kind"})}
}

// RunOnce trims every kind once and measures the sizes.
func (j *Janitor) RunOnce(ctx context.Context) error {
	var errs []error
	for _, t := range []struct {
		kind string
		trim func(context.Context, time.Duration) (int64, error)
		ret  time.Duration
	}{
		{"events", j.st.TrimEvents, j.ret.Events},
		{"dead", j.svc.q.TrimDead, j.ret.Dead},
		{"deliveries", j.svc.TrimDeliveries, j.ret.Deliveries},
	} {
		n, err := t.trim(ctx, t.ret)
		j.trimmed.WithLabelValues(t.kind).Add(float64(n))
		errs = append(errs, err)
	}
	sizes, err := j.st.Sizes(ctx)
	errs = append(errs, err)
	if sizes == nil {
		sizes = map[string]int64{}
	}
	dead, _, err := j.svc.q.Sizes(ctx)
	errs = append(errs, err)
	for _, n := range dead {
		sizes["dead_letters"] += n
	}
	fin, err := j.svc.rdb.ZCard(ctx, j.svc.k.finished()).Result()
	errs = append(errs, err)
	sizes["finished_delivery_records"] = fin
	j.mu.Lock()
	j.sizes = sizes
	j.mu.Unlock()
	return errors.Join(errs...)
}

// Run calls RunOnce at once and then every retention.janitor_every until ctx
// ends.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.ret.JanitorEvery)
	defer t.Stop()
	for {
		if err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.svc.log.Warn("retention: janitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var sizeDesc = prometheus.NewDesc("sog_redis_retained", "Entries kept in Redis by kind, as measured by the last janitor run.", []string{"kind"}, nil)

// Collector exports the sizes of the last run (sog_redis_retained{kind}) and
// what the janitor trimmed (sog_retention_trimmed_total{kind}).
func (j *Janitor) Collector() prometheus.Collector { return janitorCollector{j} }

type janitorCollector struct{ j *Janitor }

// Describe sends every metric description.
func (c janitorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sizeDesc
	c.j.trimmed.Describe(ch)
}

// Collect sends the last measured sizes and the trim counters.
func (c janitorCollector) Collect(ch chan<- prometheus.Metric) {
	c.j.mu.Lock()
	for kind, n := range c.j.sizes {
		ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(n), kind)
	}
	c.j.mu.Unlock()
	c.j.trimmed.Collect(ch)
}
