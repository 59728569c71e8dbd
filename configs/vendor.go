package configs

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

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
	// MaxAttachmentBytes is the largest attachment the vendor takes (EMG: 5 MB
	// each, seed 003): Save and Send of an order with an attachment of a
	// larger known size is refused, naming it, and nothing is queued. 0 (the
	// default) means no limit.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
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
	if v.MaxAttachmentBytes < 0 {
		errs = append(errs, bad(path+".max_attachment_bytes", "must not be negative", v.MaxAttachmentBytes))
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
