package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
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

// VendorConfig describes one vendor (seed 000) or outbound partner the gateway
// dispatches to: where and how to deliver, which orders it may receive or pull,
// and which events are sent to it. Vendors are keyed by name under `vendors:`.
type VendorConfig struct {
	// Mapping is the partner mapping that renders this vendor's payloads; default "equus".
	Mapping string `yaml:"mapping"`
	// Transport is http, soap, smtp or pull; default http.
	Transport string `yaml:"transport"`
	// Endpoint is the http(s) URL deliveries are posted to (http, soap); required
	// for those transports. Usually `${NAME}` interpolated.
	Endpoint string `yaml:"endpoint"`
	// Method is the HTTP method of a push; default POST.
	Method string `yaml:"method"`
	// Timeout bounds one delivery attempt; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Auth is how the gateway authenticates to the vendor; default none.
	Auth OutboundAuth `yaml:"auth"`
	// Signing adds Standard Webhooks signature headers when SecretEnv is set; default off.
	Signing SigningConfig `yaml:"signing"`
	// SOAP holds the SOAP settings when Transport is soap.
	SOAP SOAPConfig `yaml:"soap"`
	// Email is where order emails go (the Email communication type, or Transport smtp);
	// default none (an Email send is refused).
	Email *EmailConfig `yaml:"email"`
	// Permissions is the vendor's permission set: which service order types it may
	// receive or pull.
	Permissions PermissionSet `yaml:"permissions"`
	// Definitions are the vendor's integrated event definitions.
	Definitions []EventDefinition `yaml:"definitions"`
	// Communications are the communication types the vendor accepts on Save and
	// Send: data (the integration payload), email (an email in addition to the
	// data) and any other name the platform uses (sent as data). Default [data],
	// plus email when Email is set; a pull-only vendor accepts any ("*").
	Communications []string `yaml:"communications"`
	// Settings are values the vendor's renders read as extra.<name> (e.g. the
	// EMG Source GUID as extra.source); default none.
	Settings map[string]string `yaml:"settings"`
	// AwaitAck keeps a delivery Sending after the transport accepted it, until
	// the vendor's asynchronous Ack (an inbound event whose data.origination_id
	// is the message id the gateway sent, extra.message_id) marks it Success or
	// Failure (EMG). Default false: the transport's 2xx is Success.
	AwaitAck bool `yaml:"await_ack"`
	// Pull configures pull mode (GET /partners/<vendor>/orders); default off.
	Pull PullConfig `yaml:"pull"`
	// Retry overrides dispatch.retry for this vendor; nil uses the global policy.
	Retry *RetryPolicy `yaml:"retry"`
	// Workers is the number of concurrent senders for this vendor; default dispatch.workers.
	Workers int `yaml:"workers"`
	// Disabled stops every delivery to the vendor; default false.
	Disabled bool `yaml:"disabled"`
}

// OutboundAuth names, by environment variable, the credentials sent to a vendor.
type OutboundAuth struct {
	// Kind is none, bearer, header or basic; default none.
	Kind string `yaml:"kind"`
	// Header is the header that carries the token for kind header (e.g. X-Api-Key);
	// default Authorization.
	Header string `yaml:"header"`
	// TokenEnv names the variable holding the token (bearer, header).
	TokenEnv string `yaml:"token_env"`
	// UserEnv and PasswordEnv name the variables holding basic credentials.
	UserEnv     string `yaml:"user_env"`
	PasswordEnv string `yaml:"password_env"`
}

// SigningConfig turns on Standard Webhooks signatures (webhook-id,
// webhook-timestamp, webhook-signature v1 HMAC-SHA256).
type SigningConfig struct {
	// SecretEnv names the variable holding the signing secret ("whsec_" + base64,
	// or raw bytes); empty means unsigned.
	SecretEnv string `yaml:"secret_env"`
	// KeyFileEnv names the variable holding the path of a PEM RSA private key.
	// When set, the body sent is {"<Field>": <the rendered Field, byte for byte>,
	// "<SignatureField>": base64 RSA PKCS#1 v1.5 SHA-256 signature over those
	// bytes} (EMG). Exclusive with SecretEnv; default unset.
	KeyFileEnv string `yaml:"key_file_env"`
	// Field is the member of the rendered JSON that is signed; default "Task".
	Field string `yaml:"field"`
	// SignatureField carries the signature; default "Signature".
	SignatureField string `yaml:"signature_field"`
}

// SOAPConfig holds the SOAP transport's settings.
type SOAPConfig struct {
	// Version is "1.1" or "1.2"; default 1.1.
	Version string `yaml:"version"`
	// Action is the SOAPAction; default the rendered message's "SOAPAction" header.
	Action string `yaml:"action"`
}

// EmailConfig is how the gateway mails a vendor.
type EmailConfig struct {
	// To is the vendor's address; required.
	To string `yaml:"to"`
	// From is the sender address; required.
	From string `yaml:"from"`
	// SMTPAddr is host:port of the SMTP relay; required.
	SMTPAddr string `yaml:"smtp_addr"`
	// TLS is none, starttls or tls; default starttls when the server offers it
	// ("none" never upgrades).
	TLS string `yaml:"tls"`
	// UserEnv and PasswordEnv name the variables of SMTP AUTH PLAIN; default no auth.
	UserEnv     string `yaml:"user_env"`
	PasswordEnv string `yaml:"password_env"`
	// MaxAttachmentBytes caps the attachments of one email; default 20 MiB.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
}

// PermissionSet lists what a vendor may receive or pull.
type PermissionSet struct {
	// Name is a label shown in refusals; default "<vendor> permission set".
	Name string `yaml:"name"`
	// ServiceTypes are the service order types the vendor may receive or pull;
	// required (an empty set allows nothing).
	ServiceTypes []string `yaml:"service_types"`
	// Fields lists the order paths the vendor may see, in pushed and pulled
	// payloads alike: fields.<name> (fields.* for every typed field) and
	// refs.servicer, partner_status, client_status, flags, tasks, attachments,
	// messages, assignment. The order's id, partner, company, service type,
	// status, requestor reference, version and timestamps are always visible.
	// Default empty: everything is visible.
	Fields []string `yaml:"fields"`
}

// AlwaysVisible lists the order paths every vendor sees whatever its
// permission set's fields say.
var AlwaysVisible = []string{"id", "partner", "company", "service_type", "status", "refs.requestor", "version", "created_at", "updated_at"}

// Visible reports whether the set lets the vendor see order path p
// (fields.<name> or a top-level path).
func (p PermissionSet) Visible(path string) bool {
	if len(p.Fields) == 0 {
		return true
	}
	for _, a := range AlwaysVisible {
		if a == path {
			return true
		}
	}
	for _, f := range p.Fields {
		if f == path || (f == "fields.*" && strings.HasPrefix(path, "fields.")) {
			return true
		}
	}
	return false
}

// Allows reports whether the set allows service order type st.
func (p PermissionSet) Allows(st string) bool {
	for _, s := range p.ServiceTypes {
		if s == st || s == "*" {
			return true
		}
	}
	return false
}

// EventDefinition is one integrated event definition: when Active, Event on an
// order of Company and ServiceType is delivered to the vendor.
type EventDefinition struct {
	// Company is the platform company; "*" matches any; required.
	Company string `yaml:"company"`
	// ServiceType is the service order type; "*" matches any; required.
	ServiceType string `yaml:"service_type"`
	// Event is a canonical event type (order.created, order.submitted,
	// order.assigned, order.unassigned, order.updated, order.message,
	// order.status_changed, order.resolved, order.resolution_rejected,
	// order.closed, order.cancelled, order.acknowledged, order.reassigned) or
	// update_values (= order.updated); required.
	Event string `yaml:"event"`
	// Active turns the definition on; default false.
	Active bool `yaml:"active"`
	// Render is the mapping's render kind; default "order" for order.submitted,
	// "update_values" for order.updated, else the event type with "." replaced by "_".
	Render string `yaml:"render"`
	// Watch lists the order paths whose change emits order.updated (fields.<name>,
	// status, client_status, service_type, tasks, attachments, refs.servicer …);
	// required for order.updated.
	Watch []string `yaml:"watch"`
	// RequiredFields lists order paths that must be set before the event is sent.
	RequiredFields []string `yaml:"required_fields"`
	// Email also sends each event of the definition as an email to the
	// vendor's email address (render <render>_email when the mapping has it),
	// beside the vendor's transport; it needs the vendor's email section. When
	// the email variable is unset the email is skipped. Default false.
	Email bool `yaml:"email"`
	// BlockIfMissing refuses the send (nothing queued) when a required field is
	// missing; when false the send goes out and the missing fields are reported.
	// Default false.
	BlockIfMissing bool `yaml:"block_if_missing"`
}

// EventType returns the canonical event type the definition names (update_values
// is order.updated).
func (d EventDefinition) EventType() string {
	if d.Event == EventUpdateValues {
		return "order.updated"
	}
	return d.Event
}

// RenderKind returns the render kind, defaulted.
func (d EventDefinition) RenderKind() string {
	if d.Render != "" {
		return d.Render
	}
	switch d.EventType() {
	case "order.submitted":
		return "order"
	case "order.updated":
		return "update_values"
	}
	return strings.ReplaceAll(strings.TrimPrefix(d.EventType(), "order."), ".", "_")
}

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

// SetDefaults fills zero fields with their defaults.
func (v *VendorConfig) SetDefaults() {
	if v.Mapping == "" {
		v.Mapping = "equus"
	}
	if v.Transport == "" {
		v.Transport = TransportHTTP
	}
	if v.Email != nil && strings.TrimSpace(v.Email.To) == "" && v.Transport != TransportSMTP {
		// The email variable is unset: the vendor has no email, the rest stays.
		v.Email = nil
		v.Communications = nil
	}
	if len(v.Communications) == 0 {
		switch {
		case v.Transport == TransportPull:
			v.Communications = []string{"*"}
		case v.Email != nil:
			v.Communications = []string{"data", "email"}
		default:
			v.Communications = []string{"data"}
		}
	}
	if v.Signing.KeyFileEnv != "" {
		if v.Signing.Field == "" {
			v.Signing.Field = "Task"
		}
		if v.Signing.SignatureField == "" {
			v.Signing.SignatureField = "Signature"
		}
	}
	if v.Method == "" {
		v.Method = "POST"
	}
	if v.Timeout == 0 {
		v.Timeout = 10 * time.Second
	}
	if v.Auth.Kind == "" {
		v.Auth.Kind = "none"
	}
	if v.Auth.Header == "" {
		v.Auth.Header = "Authorization"
	}
	if v.SOAP.Version == "" {
		v.SOAP.Version = "1.1"
	}
	if v.Email != nil && v.Email.MaxAttachmentBytes == 0 {
		v.Email.MaxAttachmentBytes = 20 << 20
	}
	if v.Pull.Header == "" {
		v.Pull.Header = "X-Api-Key"
	}
	if v.Pull.Render == "" {
		v.Pull.Render = "pull"
	}
	if v.Pull.PageLimit == 0 {
		v.Pull.PageLimit = 100
	}
	if v.Retry != nil {
		v.Retry.SetDefaults()
	}
}

// Validate checks the vendor; path is its dotted key ("vendors.acme-movers").
func (v *VendorConfig) Validate(path string) error {
	var errs []error
	if name := path[strings.LastIndexByte(path, '.')+1:]; !nameRe.MatchString(name) {
		errs = append(errs, bad(path, "vendor names must match [a-z0-9_-]{1,64}", name))
	}
	if v.Mapping != "" && !nameRe.MatchString(v.Mapping) {
		errs = append(errs, bad(path+".mapping", "must name a mapping ([a-z0-9_-]{1,64})", v.Mapping))
	}
	switch v.Transport {
	case "", TransportHTTP, TransportSOAP:
		if u, err := url.Parse(v.Endpoint); v.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, bad(path+".endpoint", "must be an http(s) URL", v.Endpoint))
		}
	case TransportSMTP:
		if v.Email == nil {
			errs = append(errs, bad(path+".email", "is required when transport is smtp", "<missing>"))
		}
	case TransportPull:
		if !v.Pull.Enabled {
			errs = append(errs, bad(path+".pull.enabled", "must be true when transport is pull", false))
		}
	default:
		errs = append(errs, bad(path+".transport", "must be http, soap, smtp or pull", v.Transport))
	}
	switch v.Method {
	case "", "POST", "PUT", "PATCH":
	default:
		errs = append(errs, bad(path+".method", "must be POST, PUT or PATCH", v.Method))
	}
	if v.Timeout < 0 || v.Timeout > 5*time.Minute {
		errs = append(errs, bad(path+".timeout", "must be between 1ms and 5m", v.Timeout))
	}
	switch v.Auth.Kind {
	case "", "none":
	case "bearer", "header":
		errs = append(errs, envName(path+".auth.token_env", v.Auth.TokenEnv, true))
	case "basic":
		errs = append(errs, envName(path+".auth.user_env", v.Auth.UserEnv, true),
			envName(path+".auth.password_env", v.Auth.PasswordEnv, true))
	default:
		errs = append(errs, bad(path+".auth.kind", "must be none, bearer, header or basic", v.Auth.Kind))
	}
	errs = append(errs, envName(path+".signing.secret_env", v.Signing.SecretEnv, false),
		envName(path+".signing.key_file_env", v.Signing.KeyFileEnv, false))
	if v.Signing.SecretEnv != "" && v.Signing.KeyFileEnv != "" {
		errs = append(errs, bad(path+".signing.key_file_env", "cannot be combined with signing.secret_env (one signature per message)", v.Signing.KeyFileEnv))
	}
	for i, c := range v.Communications {
		if c != "*" && !nameRe.MatchString(c) {
			errs = append(errs, bad(fmt.Sprintf("%s.communications[%d]", path, i), "must be a communication type name ([a-z0-9_-]{1,64}) or *", c))
		}
		if c == "email" && v.Email == nil {
			errs = append(errs, bad(fmt.Sprintf("%s.communications[%d]", path, i), "needs the vendor's email section", c))
		}
	}
	for i, f := range v.Permissions.Fields {
		if f != "fields.*" && !validPath(f) {
			errs = append(errs, bad(fmt.Sprintf("%s.permissions.fields[%d]", path, i), "must be an order path such as fields.move_date, fields.* or attachments", f))
		}
	}
	for k := range v.Settings {
		if !nameRe.MatchString(k) {
			errs = append(errs, bad(path+".settings."+k, "setting names must match [a-z0-9_-]{1,64}", k))
		}
	}
	if v.SOAP.Version != "" && v.SOAP.Version != "1.1" && v.SOAP.Version != "1.2" {
		errs = append(errs, bad(path+".soap.version", "must be 1.1 or 1.2", v.SOAP.Version))
	}
	if e := v.Email; e != nil {
		p := path + ".email"
		if _, err := mail.ParseAddress(e.To); err != nil {
			errs = append(errs, bad(p+".to", "must be an email address", e.To))
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			errs = append(errs, bad(p+".from", "must be an email address", e.From))
		}
		if !strings.Contains(e.SMTPAddr, ":") {
			errs = append(errs, bad(p+".smtp_addr", "must be host:port", e.SMTPAddr))
		}
		switch e.TLS {
		case "", "none", "starttls", "tls":
		default:
			errs = append(errs, bad(p+".tls", "must be none, starttls or tls", e.TLS))
		}
		if (e.UserEnv == "") != (e.PasswordEnv == "") {
			errs = append(errs, bad(p+".password_env", "user_env and password_env go together", e.PasswordEnv))
		}
		errs = append(errs, envName(p+".user_env", e.UserEnv, false), envName(p+".password_env", e.PasswordEnv, false))
		if e.MaxAttachmentBytes < 0 {
			errs = append(errs, bad(p+".max_attachment_bytes", "must not be negative", e.MaxAttachmentBytes))
		}
	}
	if len(v.Permissions.ServiceTypes) == 0 {
		errs = append(errs, bad(path+".permissions.service_types", "must list at least one service order type", "[]"))
	}
	for i, st := range v.Permissions.ServiceTypes {
		if strings.TrimSpace(st) == "" {
			errs = append(errs, bad(fmt.Sprintf("%s.permissions.service_types[%d]", path, i), "must not be empty", st))
		}
	}
	seen := map[string]int{}
	for i := range v.Definitions {
		d := &v.Definitions[i]
		p := fmt.Sprintf("%s.definitions[%d]", path, i)
		errs = append(errs, d.Validate(p))
		if d.ServiceType != "" && d.ServiceType != "*" && !v.Permissions.Allows(d.ServiceType) {
			errs = append(errs, bad(p+".service_type", "is not in the vendor's permissions.service_types "+fmt.Sprint(v.Permissions.ServiceTypes), d.ServiceType))
		}
		k := d.Company + "\x00" + d.ServiceType + "\x00" + d.EventType()
		if j, dup := seen[k]; dup {
			errs = append(errs, bad(p, fmt.Sprintf("duplicates %s.definitions[%d] (same company, service type and event)", path, j), d.Event))
		}
		seen[k] = i
	}
	if v.Pull.Enabled {
		errs = append(errs, envName(path+".pull.api_key_env", v.Pull.APIKeyEnv, true))
	}
	if v.Pull.PageLimit < 0 || v.Pull.PageLimit > 1000 {
		errs = append(errs, bad(path+".pull.page_limit", "must be between 1 and 1000", v.Pull.PageLimit))
	}
	if v.Retry != nil {
		errs = append(errs, v.Retry.Validate(path+".retry"))
	}
	if v.Workers < 0 || v.Workers > 256 {
		errs = append(errs, bad(path+".workers", "must be between 1 and 256", v.Workers))
	}
	return errors.Join(errs...)
}

// Validate checks the definition; path is its dotted key.
func (d *EventDefinition) Validate(path string) error {
	var errs []error
	if d.Company == "" {
		errs = append(errs, bad(path+".company", "is required (\"*\" for any)", d.Company))
	}
	if d.ServiceType == "" {
		errs = append(errs, bad(path+".service_type", "is required (\"*\" for any)", d.ServiceType))
	}
	ok := d.Event == EventUpdateValues
	for _, e := range canonicalOutEvents {
		ok = ok || d.Event == e
	}
	if !ok {
		errs = append(errs, bad(path+".event", "must be one of "+strings.Join(canonicalOutEvents, ", ")+" or update_values", d.Event))
	}
	if d.EventType() == "order.updated" && len(d.Watch) == 0 {
		errs = append(errs, bad(path+".watch", "must list the order paths whose change sends update_values", "[]"))
	}
	for i, w := range d.Watch {
		if !validPath(w) {
			errs = append(errs, bad(fmt.Sprintf("%s.watch[%d]", path, i), "must be an order path such as fields.move_date or status", w))
		}
	}
	for i, w := range d.RequiredFields {
		if !validPath(w) {
			errs = append(errs, bad(fmt.Sprintf("%s.required_fields[%d]", path, i), "must be an order path such as fields.move_date or refs.requestor", w))
		}
	}
	if d.Render != "" && !nameRe.MatchString(d.Render) {
		errs = append(errs, bad(path+".render", "must name a render of the mapping", d.Render))
	}
	return errors.Join(errs...)
}

// OrderPaths lists the top-level order paths a definition may watch or require;
// fields.<name> names a typed field.
var OrderPaths = []string{"company", "service_type", "refs.requestor", "refs.servicer", "status", "flags",
	"partner_status", "client_status", "tasks", "attachments", "messages", "assignment", "assignment.group", "assignment.assignee"}

func validPath(p string) bool {
	if name, ok := strings.CutPrefix(p, "fields."); ok {
		return name != "" && len(name) <= 128
	}
	i := sort.SearchStrings(sortedPaths, p)
	return i < len(sortedPaths) && sortedPaths[i] == p
}

var sortedPaths = func() []string {
	s := append([]string(nil), OrderPaths...)
	sort.Strings(s)
	return s
}()

func envName(key, v string, required bool) error {
	if v == "" {
		if required {
			return bad(key, "is required (the name of an environment variable)", v)
		}
		return nil
	}
	if !envRe.MatchString(v) {
		return bad(key, "must name an environment variable ([A-Z_][A-Z0-9_]*), not hold a value", redactIfLong(v))
	}
	return nil
}

// redactIfLong keeps a mistaken secret value out of error messages.
func redactIfLong(v string) string {
	if len(v) > 8 {
		return v[:2] + "…(redacted)"
	}
	return v
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
