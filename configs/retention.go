package configs

import "time"

// Retention is the `retention:` section: how long the gateway keeps what
// would otherwise grow without bound in Redis, and how often its janitor
// trims it. The defaults keep 30 days, what a monthly audit needs. Every
// replica may run the janitor; its trims are idempotent and read the time
// from Redis (TIME).
type Retention struct {
	// Events is how long entries stay on the event stream the platform
	// consumes (trimmed by entry id, which is Redis time). Default 720h.
	Events time.Duration `yaml:"events"`
	// Deliveries is how long a finished (Success or Failure) delivery record
	// is kept; the record of an order.submitted stays with its order, since it
	// says which vendors serve the order. Default 720h.
	Deliveries time.Duration `yaml:"deliveries"`
	// Dead is how long a dead letter stays replayable. Default 720h.
	Dead time.Duration `yaml:"dead"`
	// Fences is how long an order remembers that a partner message was applied
	// to it (its per-order idempotency fence). Default 720h.
	Fences time.Duration `yaml:"fences"`
	// JanitorEvery is how often the janitor trims and measures. Default 10m.
	JanitorEvery time.Duration `yaml:"janitor_every"`
}

// SetDefaults fills zero fields with their defaults.
func (r *Retention) SetDefaults() {
	defD(&r.Events, 720*time.Hour)
	defD(&r.Deliveries, 720*time.Hour)
	defD(&r.Dead, 720*time.Hour)
	defD(&r.Fences, 720*time.Hour)
	defD(&r.JanitorEvery, 10*time.Minute)
}

// validate reports each retention shorter than an hour (the janitor would
// trim what is still being worked on) and a janitor period out of range.
func (r *Retention) validate(add func(key, val, rule string)) {
	for _, f := range []struct {
		key string
		d   time.Duration
	}{{"retention.events", r.Events}, {"retention.deliveries", r.Deliveries}, {"retention.dead", r.Dead}, {"retention.fences", r.Fences}} {
		if f.d < time.Hour {
			add(f.key, f.d.String(), "must be at least 1h")
		}
	}
	if r.JanitorEvery < time.Second || r.JanitorEvery > 24*time.Hour {
		add("retention.janitor_every", r.JanitorEvery.String(), "must be from 1s to 24h")
	}
}
