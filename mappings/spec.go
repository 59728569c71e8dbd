package mappings

import (
	"time"

	"github.com/equus/sogateway/internal/model"
)

// Pos is a position in a mapping file, filled in by the loader.
type Pos struct {
	File string
	Line int
	Col  int
}

// String returns "file:line:col".
func (p Pos) String() string { return posString(p.File, p.Line, p.Col) }

// Spec is the decoded and validated declaration of one partner mapping. The
// protocol layers read it to register routes, SOAP operations, mail matchers
// and authentication; the engine compiles it into rules.
type Spec struct {
	Pos Pos `yaml:"-"`
	// Partner is the partner's name; it must equal the folder name.
	Partner string `yaml:"partner"`
	// Description is free text for authors.
	Description string `yaml:"description"`
	// Protocols lists the protocols the partner speaks: rest, soap, email (inbound),
	// and outbound for partners that only receive renders.
	Protocols []string `yaml:"protocols"`
	// Auth declares how the partner authenticates; credentials are named by
	// environment variable, never given.
	Auth *Auth `yaml:"auth"`
	// Routes are the REST routes of the partner, relative to /partners/<partner>.
	Routes []Route `yaml:"routes"`
	// SOAP declares the SOAP service, when the partner speaks SOAP.
	SOAP *SOAPSpec `yaml:"soap"`
	// Mail declares how inbound mail is correlated and tagged.
	Mail *MailSpec `yaml:"mail"`
	// Settings declares per-installation options with their defaults.
	Settings map[string]Setting `yaml:"settings"`
	// Owners declares field ownership: canonical field name -> partner|platform|shared.
	Owners map[string]model.Owner `yaml:"owners"`
	// AutoAdmin is "true", "false" or "$settings.<name>".
	AutoAdmin string `yaml:"auto_admin"`
	// MessageID is the input path of the partner's message id (idempotency key).
	MessageID string `yaml:"message_id"`
	// Split is the input path of an array whose elements are translated one by one.
	Split string `yaml:"split"`
	// Key is the path, inside one element, of the element's key (e.g. workOrderNumber).
	Key string `yaml:"key"`
	// Unwrap lists input paths whose value may be a JSON document sent as a string.
	Unwrap []string `yaml:"unwrap"`
	// Maps are named value maps (partner value -> canonical value), used both ways.
	Maps map[string]*ValueMap `yaml:"maps"`
	// Statuses are named status tables: partner status -> canonical status,
	// flags, suggested client status, allowed-when condition or refusal.
	Statuses map[string]*StatusTable `yaml:"statuses"`
	// Inbound lists the message kinds, tried in order; the first match wins.
	Inbound []*Kind `yaml:"inbound"`
	// Renders are the outbound renders by name.
	Renders map[string]*RenderSpec `yaml:"renders"`
	// Events names, per canonical event type, the partner's own Request Type
	// and Direction (SSP7: order.submitted is "Submit Request" / "Out").
	// Dispatch records them on the events it sends; see events.go.
	Events map[string]EventName `yaml:"events"`
}

// Auth is the declared authentication of a partner.
type Auth struct {
	// Kind is apikey, rsa-pkcs1v15-sha256, rsa-pss-sha256, ed25519, hmac-sha256,
	// standard-webhooks, basic or wsse.
	Kind string `yaml:"kind"`
	// Also lists other kinds accepted with the same credentials (ssp7: basic and wsse).
	Also []string `yaml:"also"`
	// Header and Query name where the key or signature is sent.
	Header string `yaml:"header"`
	Query  string `yaml:"query"`
	// SignatureField is the body field holding a signature (EMG: Signature).
	SignatureField string `yaml:"signature_field"`
	// SecretEnv names the variable holding the shared secret or API key.
	SecretEnv string `yaml:"secret_env"`
	// UserEnv and PasswordEnv name the variables of basic / WS-Security credentials.
	UserEnv     string `yaml:"user_env"`
	PasswordEnv string `yaml:"password_env"`
	// PublicKeyFileEnv names the variable holding the path of the partner's public key.
	PublicKeyFileEnv string `yaml:"public_key_file_env"`
	// SigningKeyFileEnv names the variable holding the path of our signing key.
	SigningKeyFileEnv string `yaml:"signing_key_file_env"`
	// Encoding of a header or body signature: base64 (default) or hex.
	Encoding string `yaml:"encoding"`
	// Prefix precedes the encoded signature in its header, e.g. "sha256=".
	Prefix string `yaml:"prefix"`
	// TimestampHeader names a header holding the unix-seconds time of sending,
	// covered by a header signature; a stale timestamp is refused.
	TimestampHeader string `yaml:"timestamp_header"`
	// Tolerance is how far a signed timestamp may be from now, a Go duration
	// such as 5m (the default); with timestamp_header or standard-webhooks.
	Tolerance string `yaml:"tolerance"`
	// Signed is the content a header signature covers: a template of
	// {timestamp} and {body}. Default "{timestamp}.{body}" with a timestamp
	// header, else "{body}".
	Signed string `yaml:"signed"`
}

// ToleranceDuration returns Tolerance parsed, or 0 (the default) when it is
// empty. The loader has checked it.
func (a *Auth) ToleranceDuration() time.Duration {
	d, _ := time.ParseDuration(a.Tolerance)
	return d
}

// Route is one REST route of a partner.
type Route struct {
	// Name identifies the route in match conditions.
	Name string `yaml:"name"`
	// Method is the HTTP method (default POST).
	Method string `yaml:"method"`
	// Path is gin-style and relative to /partners/<partner>, e.g. /service-orders/:id/update-repair.
	Path string `yaml:"path"`
	// Kinds lists the message kinds the route may produce.
	Kinds []string `yaml:"kinds"`
	// FormField names a form field that may carry the JSON body (pruvan: workOrders).
	FormField string `yaml:"form_field"`
}

// SOAPSpec declares a partner's SOAP service.
type SOAPSpec struct {
	Path       string          `yaml:"path"`
	Namespace  string          `yaml:"namespace"`
	Service    string          `yaml:"service"`
	Operations []SOAPOperation `yaml:"operations"`
}

// SOAPOperation is one SOAP operation with its parameters.
type SOAPOperation struct {
	Name   string      `yaml:"name"`
	Doc    string      `yaml:"doc"`
	Params []SOAPParam `yaml:"params"`
	// Result is the name of the operation's result element.
	Result string `yaml:"result"`
}

// SOAPParam is one parameter of a SOAP operation.
type SOAPParam struct {
	Name string `yaml:"name"`
	// Type is string, int, boolean or dateTime.
	Type      string `yaml:"type"`
	Required  bool   `yaml:"required"`
	MaxLength int    `yaml:"max_length"`
}

// MailSpec declares how inbound mail of a partner is read.
type MailSpec struct {
	// Matchers find the task reference in a message, tried in order.
	Matchers []Matcher `yaml:"matchers"`
	// Tags is the tag syntax as a regexp with groups "key" and "value", e.g. `\[\[(?P<key>\w+)\]\]:\s*(?P<value>.*)`.
	Tags string `yaml:"tags"`
	// ActionTag is the tag naming the action (e.g. Action).
	ActionTag string `yaml:"action_tag"`
	// DefaultAction is used when the action tag is absent.
	DefaultAction string     `yaml:"default_action"`
	Limits        MailLimits `yaml:"limits"`
}

// Matcher finds the correlation reference of a mail message.
type Matcher struct {
	Name string `yaml:"name"`
	// Source is header:In-Reply-To, header:References, subject or body.
	Source string `yaml:"source"`
	// Pattern is a regexp with the named group Group.
	Pattern string `yaml:"pattern"`
	Group   string `yaml:"group"`
	// Pick is first (default) or last.
	Pick string `yaml:"pick"`
}

// MailLimits bound what a stranger's mail may carry.
type MailLimits struct {
	MaxAttachments     int      `yaml:"max_attachments"`
	MaxAttachmentBytes int64    `yaml:"max_attachment_bytes"`
	MaxTotalBytes      int64    `yaml:"max_total_bytes"`
	AllowedTypes       []string `yaml:"allowed_types"`
}

// Setting declares one partner option.
type Setting struct {
	// Type is string (default) or boolean.
	Type string `yaml:"type"`
	// Values, when set, lists the allowed values.
	Values []string `yaml:"values"`
	// Default is used when the installation does not set the option.
	Default string `yaml:"default"`
	Doc     string `yaml:"doc"`
}

// ValueMap is a named map of partner values to canonical values.
type ValueMap struct {
	Pos Pos `yaml:"-"`
	// Values maps partner value -> canonical value.
	Values map[string]string `yaml:"values"`
	// Reverse overrides canonical -> partner where several partner values share a canonical one.
	Reverse map[string]string `yaml:"reverse"`
	// IgnoreCase matches partner values case-insensitively.
	IgnoreCase bool `yaml:"ignore_case"`
	// Default is the result for an unknown value; without it an unknown value is an error.
	Default *string `yaml:"default"`
	// Status says the canonical values are canonical statuses (checked at load).
	Status bool `yaml:"status"`
}

// StatusTable maps a partner's status vocabulary onto canonical status and
// flags, with the conditions under which each value is allowed.
type StatusTable struct {
	Pos        Pos         `yaml:"-"`
	IgnoreCase bool        `yaml:"ignore_case"`
	Unset      *StatusRow  `yaml:"unset"`
	Rows       []StatusRow `yaml:"rows"`
}

// StatusRow is one row of a status table.
type StatusRow struct {
	Pos Pos `yaml:"-"`
	// Partner is the partner's status value.
	Partner string `yaml:"partner"`
	// Status is the canonical status (empty: unchanged).
	Status string `yaml:"status"`
	// Flags are added to the order.
	Flags []string `yaml:"flags"`
	// RemoveFlags are taken off the order (Pruvan: Status "Rush" replaces "Rework").
	RemoveFlags []string `yaml:"remove_flags"`
	// ClientStatus is the suggested client status, used when the message sets none.
	ClientStatus string `yaml:"client_status"`
	// When restricts the row; Otherwise is the refusal when When does not hold.
	When      *Cond  `yaml:"when"`
	Otherwise string `yaml:"otherwise"`
	// Refuse refuses the value with this message.
	Refuse string `yaml:"refuse"`
}

// Cond is a condition on the input, used to select kinds and guard rules.
type Cond struct {
	Pos Pos `yaml:"-"`
	// Path is the input path tested by Equals, In, Exists, Matches.
	Path    string   `yaml:"path"`
	Equals  *string  `yaml:"equals"`
	In      []string `yaml:"in"`
	Exists  *bool    `yaml:"exists"`
	Matches string   `yaml:"matches"`
	// IgnoreCase compares Equals and In case-insensitively.
	IgnoreCase bool `yaml:"ignore_case"`
	// Protocol, Route and Operation test the input's envelope.
	Protocol  string `yaml:"protocol"`
	Route     string `yaml:"route"`
	Operation string `yaml:"operation"`
	All       []Cond `yaml:"all"`
	Any       []Cond `yaml:"any"`
	Not       *Cond  `yaml:"not"`
}

// Kind is one inbound message kind.
type Kind struct {
	Pos  Pos    `yaml:"-"`
	Kind string `yaml:"kind"`
	Doc  string `yaml:"doc"`
	// Match selects the kind; a kind without match matches everything.
	Match *Cond `yaml:"match"`
	// Event is the canonical event type produced.
	Event string `yaml:"event"`
	// Create and Recreate set model.Target.Create and Recreate.
	Create   bool `yaml:"create"`
	Recreate bool `yaml:"recreate"`
	// Require lists conditions on the existing order.
	Require *Require `yaml:"require"`
	// MessageID overrides the mapping's message id path for this kind.
	MessageID string `yaml:"message_id"`
	// Rules produce the canonical values, in order.
	Rules []*Rule `yaml:"rules"`
	// Refuse lists business rules that refuse the message.
	Refuse []*Refusal `yaml:"refuse"`
	// Unmapped, when set (data.<name>), keeps the message's top-level members
	// that no rule of the kind reads, as received, in that data member (Extend:
	// "any request can contain any data"). Typed rules still check theirs.
	Unmapped string `yaml:"unmapped"`
}

// Require is the declared form of model.Require.
type Require struct {
	ServiceTypes []string `yaml:"service_types"`
	Accepted     bool     `yaml:"accepted"`
	Open         bool     `yaml:"open"`
	Exists       bool     `yaml:"exists"`
	// NotDeleted refuses a message for a deleted order.
	NotDeleted bool `yaml:"not_deleted"`
	// Missing is what the partner is told when the order does not exist
	// (e.g. what a create needs); default "not found".
	Missing string `yaml:"missing"`
}

// Refusal refuses a message when its condition holds.
type Refusal struct {
	Pos     Pos    `yaml:"-"`
	When    *Cond  `yaml:"when"`
	Field   string `yaml:"field"`
	Message string `yaml:"message"`
}

// Rule produces one value: it reads the input (From, Value or Template),
// checks it, transforms it (Do) and writes it to To.
type Rule struct {
	Pos Pos    `yaml:"-"`
	To  string `yaml:"to"`
	// From is one input path or a list tried in order (first present wins).
	From     StringList `yaml:"from"`
	Value    any        `yaml:"value"`
	Template string     `yaml:"template"`
	// Type checks the input value: string, number, boolean, array, object, timestamp.
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
	// Pattern is a regexp a string value must match.
	Pattern string `yaml:"pattern"`
	// Expect describes what Pattern accepts, for error messages ("a 5-digit ZIP code").
	Expect   string `yaml:"expect"`
	MaxItems int    `yaml:"max_items"`
	// Default is used when the input value is absent.
	Default any `yaml:"default"`
	// Do lists transforms applied in order.
	Do []Transform `yaml:"do"`
	// When guards the rule.
	When *Cond `yaml:"when"`
	// Status names a status table; To must be status.
	Status string `yaml:"status"`
	// Each are the rules applied to every element of an array (tasks, attachments, arrays in data or output).
	Each []*Rule `yaml:"each"`
}

// Transform is one step of a rule's Do list: a name ("trim") or a name with an
// argument ({truncate: 160}).
type Transform struct {
	Pos  Pos
	Name string
	Arg  any
}

// StringList is a YAML scalar or sequence of strings.
type StringList []string

// RenderSpec is one outbound render.
type RenderSpec struct {
	Pos Pos `yaml:"-"`
	// Format is json, xml or text.
	Format      string `yaml:"format"`
	ContentType string `yaml:"content_type"`
	// Root and Namespace name the XML root element.
	Root      string `yaml:"root"`
	Namespace string `yaml:"namespace"`
	// Subject and Body are templates (text format; Subject also for mail transports).
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
	// Headers are templates sent with the render.
	Headers map[string]string `yaml:"headers"`
	// Rules write the output document (json, xml) or template variables (text, as vars.<to>).
	Rules []*Rule `yaml:"rules"`
}
