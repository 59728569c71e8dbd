package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"time"
)

// ErrDispatchConfig is wrapped by every validation failure of the vendor and
// dispatch sections.
var ErrDispatchConfig = errors.New("invalid dispatch config")

// Secret is a credential value read from the environment. It never reaches a
// log line: String and LogValue redact it.
type Secret string

// String returns a redaction marker, never the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue implements slog.LogValuer so the value never reaches a log.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret's value, for the transport that sends it.
func (s Secret) Reveal() string { return string(s) }

// The transports a vendor may use.
const (
	TransportHTTP = "http" // HTTP JSON push (default)
	TransportSOAP = "soap" // SOAP envelope over HTTP
	TransportSMTP = "smtp" // email through SMTP
	TransportPull = "pull" // nothing is pushed; the vendor pulls GET /partners/<vendor>/orders
)

// The event a definition may name besides the canonical event types:
// EventUpdateValues is an alias of order.updated ("Update Value(s)", seed 000).
const EventUpdateValues = "update_values"

// canonicalOutEvents lists the canonical event types an event definition may
// name: every change of an order (docs/dispatch.md has the table of who emits
// each).
var canonicalOutEvents = []string{"order.created", "order.submitted", "order.assigned", "order.unassigned",
	"order.updated", "order.message", "order.status_changed", "order.resolved", "order.resolution_rejected",
	"order.closed", "order.cancelled", "order.acknowledged", "order.reassigned"}

// CanonicalEvents returns the canonical event types an event definition may
// name (update_values aside).
func CanonicalEvents() []string { return append([]string(nil), canonicalOutEvents...) }

var nameRe = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
var envRe = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// PullConfig turns on pull mode for a vendor.
type PullConfig struct {
	// Enabled turns on GET /partners/<vendor>/orders; default false.
	Enabled bool `yaml:"enabled"`
	// APIKeyEnv names the variable holding the vendor's API key; required when enabled.
	APIKeyEnv string `yaml:"api_key_env"`
	// Header is where the vendor sends the key; default X-Api-Key (also accepted:
	// Authorization: Bearer <key>).
	Header string `yaml:"header"`
	// Render is the mapping's render kind of one pulled order; default "pull".
	Render string `yaml:"render"`
	// PageLimit caps one pull page; default 100.
	PageLimit int `yaml:"page_limit"`
}

// RetryPolicy says how failed deliveries are retried.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts before a delivery fails (dead letter); default 12.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge is how long after creation a delivery may still be retried; default 72h.
	MaxAge time.Duration `yaml:"max_age"`
	// BaseDelay is the first backoff delay, doubled each attempt; default 10s.
	BaseDelay time.Duration `yaml:"base_delay"`
	// MaxDelay caps one backoff delay; default 1h.
	MaxDelay time.Duration `yaml:"max_delay"`
	// Jitter is the random fraction (0..1) added to or taken from a delay; default 0.2.
	Jitter float64 `yaml:"jitter"`
	// MaxRetryAfter caps a vendor's Retry-After; default 6h.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
}

// DispatchConfig is the `dispatch:` section: worker and queue settings shared by
// every vendor.
type DispatchConfig struct {
	// Workers is the number of deliveries per vendor in flight at once on
	// each replica (each acknowledged as soon as it finishes; after a crash
	// at most this many are sent again); default 16.
	Workers int `yaml:"workers"`
	// ClaimBatch is the most jobs one claim takes (a claim takes only as many
	// as there are idle workers); default 16.
	ClaimBatch int `yaml:"claim_batch"`
	// LeaseFor is how long a claimed delivery is leased before another replica may
	// take it; default 30s. It must exceed every vendor's timeout.
	LeaseFor time.Duration `yaml:"lease_for"`
	// OfflineRetryEvery is how often a vendor still unreachable after its offline
	// window is retried (no attempt is spent); default 1h.
	OfflineRetryEvery time.Duration `yaml:"offline_retry_every"`
	// ReapEvery is how often this replica returns expired leases to the queue; default 5s.
	ReapEvery time.Duration `yaml:"reap_every"`
	// Retry is the retry policy of every vendor that does not override it.
	Retry RetryPolicy `yaml:"retry"`
}

// SetDefaults fills zero fields with their defaults.
func (r *RetryPolicy) SetDefaults() {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 12
	}
	if r.MaxAge == 0 {
		r.MaxAge = 72 * time.Hour
	}
	if r.BaseDelay == 0 {
		r.BaseDelay = 10 * time.Second
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = time.Hour
	}
	if r.Jitter == 0 {
		r.Jitter = 0.2
	}
	if r.MaxRetryAfter == 0 {
		r.MaxRetryAfter = 6 * time.Hour
	}
}

// Validate checks the policy; path is its dotted key (e.g. "dispatch.retry").
func (r *RetryPolicy) Validate(path string) error {
	var errs []error
	if r.MaxAttempts < 0 {
		errs = append(errs, bad(path+".max_attempts", "must not be negative", r.MaxAttempts))
	}
	if r.MaxAge < 0 {
		errs = append(errs, bad(path+".max_age", "must not be negative", r.MaxAge))
	}
	if r.BaseDelay < 0 {
		errs = append(errs, bad(path+".base_delay", "must not be negative", r.BaseDelay))
	}
	if r.MaxDelay < 0 || (r.MaxDelay > 0 && r.MaxDelay < r.BaseDelay) {
		errs = append(errs, bad(path+".max_delay", "must be at least base_delay", r.MaxDelay))
	}
	if r.Jitter < 0 || r.Jitter > 1 {
		errs = append(errs, bad(path+".jitter", "must be between 0 and 1", r.Jitter))
	}
	if r.MaxRetryAfter < 0 {
		errs = append(errs, bad(path+".max_retry_after", "must not be negative", r.MaxRetryAfter))
	}
	return errors.Join(errs...)
}

// SetDefaults fills zero fields with their defaults.
func (c *DispatchConfig) SetDefaults() {
	if c.Workers == 0 {
		c.Workers = 16
	}
	if c.ClaimBatch == 0 {
		c.ClaimBatch = 16
	}
	if c.LeaseFor == 0 {
		c.LeaseFor = 30 * time.Second
	}
	if c.OfflineRetryEvery == 0 {
		c.OfflineRetryEvery = time.Hour
	}
	if c.ReapEvery == 0 {
		c.ReapEvery = 5 * time.Second
	}
	c.Retry.SetDefaults()
}

// Validate checks the section; path is its dotted key ("dispatch").
func (c *DispatchConfig) Validate(path string) error {
	var errs []error
	if c.Workers < 0 || c.Workers > 256 {
		errs = append(errs, bad(path+".workers", "must be between 1 and 256", c.Workers))
	}
	if c.ClaimBatch < 0 || c.ClaimBatch > 1000 {
		errs = append(errs, bad(path+".claim_batch", "must be between 1 and 1000", c.ClaimBatch))
	}
	if c.LeaseFor < 0 || (c.LeaseFor > 0 && c.LeaseFor < time.Second) {
		errs = append(errs, bad(path+".lease_for", "must be at least 1s", c.LeaseFor))
	}
	if c.OfflineRetryEvery < 0 {
		errs = append(errs, bad(path+".offline_retry_every", "must not be negative", c.OfflineRetryEvery))
	}
	if c.ReapEvery < 0 {
		errs = append(errs, bad(path+".reap_every", "must not be negative", c.ReapEvery))
	}
	errs = append(errs, c.Retry.Validate(path+".retry"))
	return errors.Join(errs...)
}

// ConfigError is one invalid value: the dotted key, the rule and the value received.
type ConfigError struct {
	Key   string
	Rule  string
	Value any
}

// Error returns "key: rule, got \"value\"".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: %s, got %q", e.Key, e.Rule, fmt.Sprint(e.Value))
}

// Unwrap returns ErrDispatchConfig.
func (e *ConfigError) Unwrap() error { return ErrDispatchConfig }

func bad(key, rule string, v any) error { return &ConfigError{Key: key, Rule: rule, Value: v} }

// ValidateVendors checks what spans both sections (call it after both are
// defaulted): every vendor's timeout must be shorter than dispatch.lease_for,
// or a slow delivery could be leased to a second replica meanwhile.
func (c *DispatchConfig) ValidateVendors(vendors map[string]VendorConfig) error {
	var errs []error
	names := make([]string, 0, len(vendors))
	for n := range vendors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := vendors[n]
		if t := v.Timeout; t > 0 && c.LeaseFor > 0 && t >= c.LeaseFor {
			errs = append(errs, bad("vendors."+n+".timeout", fmt.Sprintf("must be shorter than dispatch.lease_for (%s)", c.LeaseFor), t))
		}
	}
	return errors.Join(errs...)
}
