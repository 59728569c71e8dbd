package dispatch

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	depthDesc = prometheus.NewDesc("sog_dispatch_queue_depth", "Deliveries waiting or in flight per vendor.", []string{"vendor"}, nil)
	ageDesc   = prometheus.NewDesc("sog_dispatch_queue_oldest_age_seconds", "Age of the oldest waiting delivery per vendor.", []string{"vendor"}, nil)
	heldDesc  = prometheus.NewDesc("sog_dispatch_queue_held", "Deliveries held by an offline window per vendor.", []string{"vendor"}, nil)
	leaseDesc = prometheus.NewDesc("sog_dispatch_queue_leased", "Deliveries being sent now per vendor.", []string{"vendor"}, nil)
	deadDesc  = prometheus.NewDesc("sog_dispatch_dead_letters", "Failed deliveries (dead letters) per vendor.", []string{"vendor"}, nil)
	availDesc = prometheus.NewDesc("sog_dispatch_vendor_available", "1 when the vendor can be sent to (not disabled, credentials present, no 410).", []string{"vendor"}, nil)
)

// Collector exports every vendor's queue depth, oldest age, held, leased and
// dead counts, its availability, and the delivery outcome counter. Register
// it on the /metrics registry.
func (s *Service) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Service }

// Describe sends every metric description.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{depthDesc, ageDesc, heldDesc, leaseDesc, deadDesc, availDesc} {
		ch <- d
	}
	c.s.outcomes.Describe(ch)
}

// Collect reads each vendor's queue figures (one script per vendor).
func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	vs := c.s.vset()
	for _, name := range vs.names {
		st, err := c.s.q.Stats(ctx, name)
		if err != nil {
			c.s.log.Warn("dispatch: metrics", "vendor", name, "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(st.Depth), name)
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, st.OldestAge.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(st.Held), name)
		ch <- prometheus.MustNewConstMetric(leaseDesc, prometheus.GaugeValue, float64(st.Leased), name)
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(st.Dead), name)
		avail := 1.0
		if c.s.unavailable(ctx, vs.byName[name]) != "" {
			avail = 0
		}
		ch <- prometheus.MustNewConstMetric(availDesc, prometheus.GaugeValue, avail, name)
	}
	c.s.outcomes.Collect(ch)
}
