// Package dispatch decides what the gateway sends to vendors and delivers it
// reliably on the Redis delay queue (internal/queue): integrated event
// definitions per vendor, company, service type and event; permission sets;
// "block send if required fields missing"; Save and Send; update of values on
// watched fields; delivery records per order; offline windows (held
// deliveries, the maintenance notice, hourly retries of a vendor still offline
// after its window); per-vendor workers with backoff, Retry-After, 410
// disabling and dead letters; pull mode with cursors; and queue figures for
// Prometheus.
package dispatch
