package mail

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Secret is a credential. It prints, logs and marshals as "[redacted]"; call
// Reveal to use it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer without the value.
func (s Secret) String() string { return redacted(s) }

// GoString implements fmt.GoStringer without the value.
func (s Secret) GoString() string { return redacted(s) }

// LogValue implements slog.LogValuer without the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted(s)) }

// MarshalText implements encoding.TextMarshaler without the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted(s)), nil }

func redacted(s Secret) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

var _ slog.LogValuer = Secret("")

// TLSMode is how the IMAP connection is secured.
type TLSMode string

// The TLS modes.
const (
	// TLSImplicit connects with TLS from the first byte (IMAPS, port 993).
	TLSImplicit TLSMode = "tls"
	// TLSStartTLS connects in clear and upgrades with STARTTLS (port 143).
	TLSStartTLS TLSMode = "starttls"
	// TLSNone sends everything, the password included, in clear: tests and
	// loopback only.
	TLSNone TLSMode = "none"
)

// MailboxConfig says which mailbox to read and how. A zero field means the
// default in its comment.
type MailboxConfig struct {
	// Name identifies the mailbox in logs and Status, usually the partner's name.
	Name string `json:"name" yaml:"name"`
	// Addr is the server's host:port (SSP7_IMAP_ADDR). Required.
	Addr string `json:"addr" yaml:"addr"`
	// User and Password log in (SSP7_IMAP_USER, SSP7_IMAP_PASSWORD). Required.
	User     string `json:"user" yaml:"user"`
	Password Secret `json:"password" yaml:"password"`
	// TLS is none, starttls or tls (SSP7_IMAP_TLS). Default tls.
	TLS TLSMode `json:"tls,omitempty" yaml:"tls,omitempty"`
	// TLSConfig overrides the client TLS settings (custom roots); nil means the
	// system roots and ServerName from Addr.
	TLSConfig *tls.Config `json:"-" yaml:"-"`
	// Inbox is the folder read. Default "INBOX".
	Inbox string `json:"inbox,omitempty" yaml:"inbox,omitempty"`
	// Processed receives each mail once its event is committed. Default
	// "Processed"; created when missing.
	Processed string `json:"processed,omitempty" yaml:"processed,omitempty"`
	// Quarantine receives mail that cannot be applied. Default "Quarantine";
	// created when missing.
	Quarantine string `json:"quarantine,omitempty" yaml:"quarantine,omitempty"`
	// PollInterval is how often the inbox is checked when the server does not
	// offer IDLE (or DisableIdle is set); with IDLE it is the interval of a
	// safety re-check. Default 30s.
	PollInterval time.Duration `json:"poll_interval,omitempty" yaml:"poll_interval,omitempty"`
	// DisableIdle polls even when the server offers IDLE. Default false: IDLE
	// when offered.
	DisableIdle bool `json:"disable_idle,omitempty" yaml:"disable_idle,omitempty"`
	// BackoffMin and BackoffMax bound the wait before reconnecting after a
	// drop, and before retrying a mail after a transient error; the wait
	// doubles from BackoffMin up to BackoffMax. Defaults 1s and 5m.
	BackoffMin time.Duration `json:"backoff_min,omitempty" yaml:"backoff_min,omitempty"`
	BackoffMax time.Duration `json:"backoff_max,omitempty" yaml:"backoff_max,omitempty"`
	// AllowedSenders, when set, lists who may write to this mailbox: addresses
	// ("desk@provider.example") or whole domains ("@provider.example"),
	// compared case-insensitively with the From address. Mail from anyone else
	// is quarantined as sender_not_allowed. Default: anyone (the From header
	// can be forged; this keeps out strangers and spam, not an attacker).
	AllowedSenders []string `json:"allowed_senders,omitempty" yaml:"allowed_senders,omitempty"`
	// DialTimeout bounds connecting and logging in. Default 30s.
	DialTimeout time.Duration `json:"dial_timeout,omitempty" yaml:"dial_timeout,omitempty"`
}

// withDefaults returns c with every zero field set to its default.
func (c MailboxConfig) withDefaults() MailboxConfig {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	c.TLS = TLSMode(strings.ToLower(string(c.TLS)))
	if c.Inbox == "" {
		c.Inbox = "INBOX"
	}
	if c.Processed == "" {
		c.Processed = "Processed"
	}
	if c.Quarantine == "" {
		c.Quarantine = "Quarantine"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 30 * time.Second
	}
	return c
}

// Validate checks c (after defaults) and names the first bad key and the
// value received. Missing address, user or password wrap
// ErrMissingCredentials (the partner's intake is disabled); other problems
// wrap ErrConfig.
func (c MailboxConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Addr == "":
		return fmt.Errorf("%w: imap.addr is empty", ErrMissingCredentials)
	case c.User == "":
		return fmt.Errorf("%w: imap.user is empty", ErrMissingCredentials)
	case c.Password == "":
		return fmt.Errorf("%w: imap.password is empty", ErrMissingCredentials)
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("%w: imap.addr: must be host:port, got %q", ErrConfig, c.Addr)
	}
	switch c.TLS {
	case TLSImplicit, TLSStartTLS, TLSNone:
	default:
		return fmt.Errorf("%w: imap.tls: must be none, starttls or tls, got %q", ErrConfig, c.TLS)
	}
	names := map[string]string{"imap.inbox": c.Inbox, "imap.processed": c.Processed, "imap.quarantine": c.Quarantine}
	for k, v := range names {
		if strings.ContainsAny(v, "\r\n\x00") || strings.ContainsAny(v, "*%") {
			return fmt.Errorf("%w: %s: must be a plain mailbox name, got %q", ErrConfig, k, v)
		}
	}
	for k, a := range c.AllowedSenders {
		if at := strings.LastIndexByte(a, '@'); at < 0 || at == len(a)-1 || strings.ContainsAny(a, " \t,;<>") {
			return fmt.Errorf("%w: imap.allowed_senders[%d]: must be an address or @domain, got %q", ErrConfig, k, a)
		}
	}
	if strings.EqualFold(c.Processed, c.Inbox) || strings.EqualFold(c.Quarantine, c.Inbox) || strings.EqualFold(c.Processed, c.Quarantine) {
		return fmt.Errorf("%w: imap.inbox, imap.processed and imap.quarantine must differ, got %q, %q, %q", ErrConfig, c.Inbox, c.Processed, c.Quarantine)
	}
	return nil
}

// senderAllowed reports whether from may write to the mailbox.
func (c MailboxConfig) senderAllowed(from string) bool {
	if len(c.AllowedSenders) == 0 {
		return true
	}
	from = strings.ToLower(strings.TrimSpace(from))
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return false
	}
	for _, a := range c.AllowedSenders {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == from || (strings.HasPrefix(a, "@") && a == from[at:]) {
			return true
		}
	}
	return false
}
