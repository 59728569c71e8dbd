package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// MarshalJSON redacts the secret (Secret itself is declared in dispatch.go).
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

var _ slog.LogValuer = Secret("")

// Config is the whole gateway configuration (configs/gateway.yaml).
type Config struct {
	Server      Server                   `yaml:"server"`
	Redis       Redis                    `yaml:"redis"`
	Mappings    Mappings                 `yaml:"mappings"`
	Log         Log                      `yaml:"log"`
	Attachments Attachments              `yaml:"attachments"`
	Partners    map[string]PartnerConfig `yaml:"partners"`
	// Access holds the bootstrap admin credential of /v1 (access.go).
	Access Access `yaml:"access"`
	// Vendors are the outbound vendors (seed 000), keyed by name; see dispatch.go.
	Vendors map[string]VendorConfig `yaml:"vendors"`
	// Dispatch holds the delivery workers', retry and offline settings.
	Dispatch DispatchConfig `yaml:"dispatch"`
	// Retention bounds what the gateway keeps in Redis (retention.go).
	Retention Retention `yaml:"retention"`
	// Groups are the assignment groups, keyed by name; an integrated group is
	// served by a vendor (seed 004); see integration.go.
	Groups map[string]GroupConfig `yaml:"groups"`
	// VendorNotes says why a configured vendor is disabled (e.g. its endpoint
	// variable is unset); /readyz shows it. Filled by Load, never decoded.
	VendorNotes map[string]string `yaml:"-"`
	// unset holds, per vendor, the variables its endpoint ("endpoint") and
	// email address ("email") read that were not set, for VendorNotes.
	unset map[string]map[string][]string
}

// Server configures the HTTP listener.
type Server struct {
	// Addr is the listen address. Default ":8080" (GATEWAY_ADDR).
	Addr string `yaml:"addr"`
	// MaxBodyBytes caps every request body. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadHeaderTimeout bounds slow clients sending headers. Default 5s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Default 30s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long in-flight requests may finish on shutdown. Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxHeaderBytes caps request headers. Default 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// PublicURL is the scheme and host clients reach the gateway at
	// (https://gw.example.com), written into the WSDL's soap:address. Default
	// empty: the request's scheme and Host (GATEWAY_PUBLIC_URL).
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the IPs or CIDRs of reverse proxies whose
	// X-Forwarded-Proto and X-Forwarded-Host are believed. Default none.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TrustedPrefixes returns TrustedProxies as prefixes (a bare IP is a /32 or
// /128); Validate has checked them.
func (s Server) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s.TrustedProxies {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// Redis configures the store.
type Redis struct {
	// URL names the Redis deployment: redis://host:port/db, several comma-separated
	// addresses for a cluster, or redis-sentinel://… Empty means the embedded
	// in-process Redis (nothing survives a restart). Default ${REDIS_URL}.
	URL Secret `yaml:"url"`
	// Prefix starts every key. Default "sog".
	Prefix string `yaml:"prefix"`
	// IdempotencyTTL is how long a message's first answer is kept. Default 72h.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// StreamMaxLen caps the event stream. Default 1000000.
	StreamMaxLen int64 `yaml:"stream_max_len"`
	// AutoPipeline sends the commands of concurrent requests to a real Redis
	// together on one connection (go-redis's full-duplex auto-pipelining):
	// one socket write and read serve many requests. Default true; false
	// gives each command or pipeline a pooled connection of its own.
	AutoPipeline *bool `yaml:"auto_pipeline"`
}

// Mappings configures the partner mappings folder.
type Mappings struct {
	// Dir holds one sub-folder per partner. Default "mappings".
	Dir string `yaml:"dir"`
	// Watch reloads edited mappings. Default true.
	Watch *bool `yaml:"watch"`
	// PollInterval is how often the folder is checked. Default 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
}

// Attachments configures where attachment contents are stored.
type Attachments struct {
	// Dir is the attachment store directory. Default "data/attachments".
	Dir string `yaml:"dir"`
}

// PartnerConfig holds per-deployment options of one partner mapping.
type PartnerConfig struct {
	// Enabled turns the partner off when false. Default true.
	Enabled *bool `yaml:"enabled"`
	// Settings are the mapping's options (e.g. pruvan integration: external, auto_admin: "true").
	Settings map[string]string `yaml:"settings"`
	// Mailbox, when set, is read over IMAP for the partner's inbound email.
	Mailbox *Mailbox `yaml:"mailbox"`
}

// Mailbox configures one IMAP mailbox.
type Mailbox struct {
	// Addr is host:port of the IMAP server; empty disables the mailbox.
	Addr     string `yaml:"addr"`
	User     string `yaml:"user"`
	Password Secret `yaml:"password"`
	// TLS is none, starttls or tls. Default tls.
	TLS string `yaml:"tls"`
	// Inbox is read. Default INBOX.
	Inbox string `yaml:"inbox"`
	// Processed receives applied mail. Default Processed.
	Processed string `yaml:"processed"`
	// Quarantine receives mail that could not be applied. Default Quarantine.
	Quarantine string `yaml:"quarantine"`
	// PollInterval is used when the server offers no IDLE. Default 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// On reports whether the partner is enabled.
func (p PartnerConfig) On() bool { return p.Enabled == nil || *p.Enabled }

func (c *Config) setDefaults() {
	s := &c.Server
	def(&s.Addr, ":8080")
	defN(&s.MaxBodyBytes, 1<<20)
	defD(&s.ReadHeaderTimeout, 5*time.Second)
	defD(&s.ReadTimeout, 30*time.Second)
	defD(&s.WriteTimeout, 30*time.Second)
	defD(&s.IdleTimeout, 120*time.Second)
	defD(&s.ShutdownTimeout, 20*time.Second)
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = 64 << 10
	}
	def(&c.Redis.Prefix, "sog")
	defD(&c.Redis.IdempotencyTTL, 72*time.Hour)
	defN(&c.Redis.StreamMaxLen, 1_000_000)
	if c.Redis.AutoPipeline == nil {
		t := true
		c.Redis.AutoPipeline = &t
	}
	def(&c.Mappings.Dir, "mappings")
	if c.Mappings.Watch == nil {
		t := true
		c.Mappings.Watch = &t
	}
	defD(&c.Mappings.PollInterval, 2*time.Second)
	def(&c.Log.Level, "info")
	def(&c.Attachments.Dir, "data/attachments")
	c.Access.setDefaults()
	c.Dispatch.SetDefaults()
	c.Retention.SetDefaults()
	c.VendorNotes = map[string]string{}
	for name, v := range c.Vendors {
		v.SetDefaults()
		// A vendor whose endpoint variable is unset is disabled, not fatal:
		// the gateway must start with nothing set (the embedded default).
		if v.Email != nil && v.Email.To == "" {
			// The vendor's email variable is unset: no email, the rest stays.
			v.Email = nil
			v.Communications = nil
			v.SetDefaults()
			if v.Transport == TransportSMTP && !v.Disabled {
				v.Disabled = true
				c.VendorNotes[name] = emptyNote("email address", c.unset[name]["email"])
			}
		}
		if (v.Transport == TransportHTTP || v.Transport == TransportSOAP) && v.Endpoint == "" && !v.Disabled {
			v.Disabled = true
			c.VendorNotes[name] = emptyNote("endpoint", c.unset[name]["endpoint"])
		}
		c.Vendors[name] = v
	}
	for name, p := range c.Partners {
		if m := p.Mailbox; m != nil {
			def(&m.TLS, "tls")
			def(&m.Inbox, "INBOX")
			def(&m.Processed, "Processed")
			def(&m.Quarantine, "Quarantine")
			defD(&m.PollInterval, 30*time.Second)
		}
		c.Partners[name] = p
	}
}

// Validate checks every value, naming the dotted key and the value received.
func (c *Config) Validate() error {
	var es Errors
	add := func(key, val, rule string) { es = append(es, &Error{Key: key, Value: val, Rule: rule}) }
	if _, port, err := net.SplitHostPort(c.Server.Addr); err != nil || port == "" {
		add("server.addr", c.Server.Addr, "must be host:port or :port")
	}
	if c.Server.MaxBodyBytes < 1024 {
		add("server.max_body_bytes", fmt.Sprint(c.Server.MaxBodyBytes), "must be at least 1024")
	}
	for key, d := range map[string]time.Duration{"server.read_header_timeout": c.Server.ReadHeaderTimeout,
		"server.read_timeout": c.Server.ReadTimeout, "server.write_timeout": c.Server.WriteTimeout,
		"server.idle_timeout": c.Server.IdleTimeout, "server.shutdown_timeout": c.Server.ShutdownTimeout} {
		if d <= 0 {
			add(key, d.String(), "must be positive")
		}
	}
	if u := c.Server.PublicURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" ||
			(pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.User != nil {
			add("server.public_url", u, "must be http(s)://host[:port] without a path")
		}
	}
	for i, v := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(v); err != nil {
			if _, err := netip.ParseAddr(v); err != nil {
				add(fmt.Sprintf("server.trusted_proxies[%d]", i), v, "must be an IP address or a CIDR prefix")
			}
		}
	}
	if u := c.Redis.URL.Reveal(); u != "" {
		for _, part := range strings.Split(u, ",") {
			p := strings.TrimSpace(part)
			if !strings.HasPrefix(p, "redis://") && !strings.HasPrefix(p, "rediss://") && !strings.HasPrefix(p, "redis-sentinel://") {
				add("redis.url", redactURL(p), "must start with redis://, rediss:// or redis-sentinel://")
			}
		}
	}
	c.Access.validate(add)
	c.Retention.validate(add)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	for name, p := range c.Partners {
		if m := p.Mailbox; m != nil {
			switch m.TLS {
			case "none", "starttls", "tls":
			default:
				add("partners."+name+".mailbox.tls", m.TLS, "must be none, starttls or tls")
			}
			if m.Addr != "" {
				if _, _, err := net.SplitHostPort(m.Addr); err != nil {
					add("partners."+name+".mailbox.addr", m.Addr, "must be host:port")
				}
			}
		}
	}
	var others []error
	if err := c.Dispatch.Validate("dispatch"); err != nil {
		others = append(others, err)
	}
	if err := c.Dispatch.ValidateVendors(c.Vendors); err != nil {
		others = append(others, err)
	}
	if err := ValidateGroups(c.Groups, c.Vendors); err != nil {
		others = append(others, err)
	}
	for name, v := range c.Vendors {
		if v.Disabled && v.Endpoint == "" {
			continue
		}
		if err := v.Validate("vendors." + name); err != nil {
			others = append(others, err)
		}
	}
	if len(es) > 0 || len(others) > 0 {
		return errors.Join(append([]error{orNil(es)}, others...)...)
	}
	return nil
}

func orNil(es Errors) error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// redactURL drops credentials from a Redis URL before it reaches a message.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if s := strings.Index(u, "://"); s >= 0 && s < at {
			return u[:s+3] + "***@" + u[at+1:]
		}
	}
	return u
}

func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func defN(p *int64, v int64) {
	if *p == 0 {
		*p = v
	}
}

func defD(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
