package partnerauth

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ErrConfig is wrapped when an auth declaration is incomplete or contradictory.
var ErrConfig = errors.New("invalid auth config")

// Request is what an Authenticator sees of an HTTP request. Body must be the
// exact bytes received.
type Request struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// Verified describes a request that passed authentication.
type Verified struct {
	// Scheme is the scheme that verified the request.
	Scheme string
	// Key is the index of the key that matched (0 = the current key; higher
	// values are older keys still accepted during a rotation).
	Key int
	// MessageID is the signed message id (Standard Webhooks webhook-id), if any.
	MessageID string
	// Signed is the exact byte range the signature covered (nil for API keys).
	Signed []byte
	// Retry is set when the message id was already received with the same
	// body (a sender's retry): the caller answers it as a duplicate, by the
	// message id, and changes nothing.
	Retry bool

	release func(context.Context) error
}

// Release undoes the replay claim of the message id, so that a retry of a
// message the gateway failed to commit (a 5xx) is accepted. It is a no-op for
// schemes without replay protection.
func (v *Verified) Release(ctx context.Context) error {
	if v == nil || v.release == nil {
		return nil
	}
	return v.release(ctx)
}

// Authenticator checks one partner's requests. Authenticate returns a
// Verified, or an error wrapping ErrUnauthorized and the precise sentinel
// (ErrMissingCredential, ErrBadCredential, ErrMalformed, ErrTimestamp,
// ErrReplay) or another error (for instance Redis being down) that is not
// the partner's fault. It must not modify r.
type Authenticator interface {
	Authenticate(ctx context.Context, r *Request) (*Verified, error)
}

// Config declares how a partner authenticates. Credentials are named by
// environment variable, never given.
type Config struct {
	// Scheme is apikey, rsa-pkcs1v15-sha256, rsa-pss-sha256, ed25519, hmac-sha256
	// or standard-webhooks.
	Scheme string
	// Header names the header carrying the API key or the signature.
	Header string
	// Query names the query parameter carrying the API key (apikey only).
	Query string
	// SignatureField is the top-level JSON body member carrying the signature
	// (EMG: Signature); SignedField is the member whose exact bytes are signed
	// (EMG: Task; when its value is a JSON string, the string's contents).
	SignatureField string
	SignedField    string
	// Encoding of a signature: base64 (default; standard or URL alphabet, padded
	// or not) or hex.
	Encoding string
	// Prefix is stripped from a signature header value, e.g. "sha256=".
	Prefix string
	// SecretEnv names the variables holding the API key or shared secret: the
	// first is required, the others are optional older secrets (rotation).
	// For standard-webhooks each variable may hold several whitespace-separated
	// whsec_ secrets (or whpk_ Ed25519 public keys).
	SecretEnv []string
	// PublicKeyFileEnv names the variables holding paths of PEM files with the
	// partner's public keys (first required, others optional). Every key in a
	// file is accepted.
	PublicKeyFileEnv []string
	// TimestampHeader names a header holding the time of sending as unix
	// seconds, covered by a header signature (hmac-sha256, rsa-*, ed25519):
	// a request whose timestamp is more than Tolerance from now is refused.
	// Empty: no signed timestamp.
	TimestampHeader string
	// Signed is the content a header signature covers, a template of
	// {timestamp} and {body} (which must appear once), e.g. "v0:{timestamp}:{body}".
	// Default "{timestamp}.{body}" with a TimestampHeader, else "{body}".
	Signed string
	// Tolerance is how far a signed timestamp may be from now (standard-webhooks,
	// TimestampHeader). Default 5 minutes.
	Tolerance time.Duration
}

// Options are the runtime collaborators of an authenticator. A nil *Options is
// the zero value, which works.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Replay records message ids (standard-webhooks); default a MemoryReplay.
	// Use a RedisReplay when several replicas serve the partner.
	Replay ReplayGuard
	// Partner scopes the replay ids; default "".
	Partner string
}

// DefaultTolerance is the default timestamp tolerance of signed webhooks.
const DefaultTolerance = 5 * time.Minute

// New builds the authenticator declared by cfg, reading credentials through
// env. A missing credential is ErrNotConfigured naming the variable, so the
// caller can disable the partner and say why.
func New(cfg Config, env func(string) string, opt *Options) (Authenticator, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch cfg.Scheme {
	case SchemeAPIKey:
		if cfg.Header == "" && cfg.Query == "" {
			return nil, fmt.Errorf("partnerauth: %w: apikey needs a header or a query parameter", ErrConfig)
		}
		keys, err := secretsFromEnv(env, cfg.SecretEnv)
		if err != nil {
			return nil, err
		}
		return &APIKey{Header: cfg.Header, Query: cfg.Query, Keys: keys}, nil
	case SchemeRSAPKCS1v15, SchemeRSAPSS, SchemeEd25519, SchemeHMAC:
		var ring KeyRing
		names := cfg.PublicKeyFileEnv
		if cfg.Scheme == SchemeHMAC {
			names = cfg.SecretEnv
		}
		if len(names) == 0 || names[0] == "" {
			return nil, fmt.Errorf("partnerauth: %w: %s needs the name of the variable holding its key", ErrConfig, cfg.Scheme)
		}
		for i, n := range names {
			if i > 0 && env(n) == "" {
				continue
			}
			v, err := VerifierFromEnv(cfg.Scheme, env, n)
			if err != nil {
				return nil, err
			}
			if r, ok := v.(KeyRing); ok {
				ring = append(ring, r...)
			} else {
				ring = append(ring, v)
			}
		}
		s := &Signature{Scheme: cfg.Scheme, Header: cfg.Header, SignatureField: cfg.SignatureField,
			SignedField: cfg.SignedField, Encoding: cfg.Encoding, Prefix: cfg.Prefix, Keys: ring,
			TimestampHeader: cfg.TimestampHeader, Signed: cfg.Signed, Tolerance: cfg.Tolerance, Now: o.Now}
		if err := s.check(); err != nil {
			return nil, err
		}
		return s, nil
	case SchemeStandardWebhooks:
		if len(cfg.SecretEnv) == 0 || cfg.SecretEnv[0] == "" {
			return nil, fmt.Errorf("partnerauth: %w: standard-webhooks needs the name of the variable holding its secret", ErrConfig)
		}
		var all []string
		for i, n := range cfg.SecretEnv {
			v := env(n)
			if v == "" {
				if i == 0 {
					return nil, fmt.Errorf("partnerauth: %w: %s is not set", ErrNotConfigured, n)
				}
				continue
			}
			all = append(all, strings.Fields(v)...)
		}
		w, err := NewWebhookVerifier(all, cfg.Tolerance, o.Replay, o.Partner)
		if err != nil {
			return nil, err
		}
		w.Now = o.Now
		return w, nil
	case "":
		return nil, fmt.Errorf("partnerauth: %w: no scheme declared", ErrConfig)
	default:
		return nil, fmt.Errorf("partnerauth: %w: %q", ErrUnsupported, cfg.Scheme)
	}
}

func secretsFromEnv(env func(string) string, names []string) ([]Secret, error) {
	if len(names) == 0 || names[0] == "" {
		return nil, fmt.Errorf("partnerauth: %w: no environment variable named for the secret", ErrConfig)
	}
	var out []Secret
	for i, n := range names {
		s, err := SecretFromEnv(env, n)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// APIKey accepts a request whose header Header or query parameter Query
// equals one of Keys, compared in constant time. The header wins when both
// are present.
type APIKey struct {
	Header string
	Query  string
	// Keys are the accepted keys: the current one first, then older ones.
	Keys []Secret
}

var _ Authenticator = (*APIKey)(nil)

// Authenticate implements Authenticator.
func (a *APIKey) Authenticate(_ context.Context, r *Request) (*Verified, error) {
	var got string
	var present bool
	if a.Header != "" {
		if vs := r.Header.Values(a.Header); len(vs) > 0 {
			got, present = vs[0], true
		}
	}
	if !present && a.Query != "" {
		if vs, ok := r.Query[a.Query]; ok && len(vs) > 0 {
			got, present = vs[0], true
		}
	}
	if !present || got == "" {
		return nil, unauthorized(ErrMissingCredential, "no API key in %s", a.where())
	}
	match := -1
	for i, k := range a.Keys {
		// Compare with every key so timing does not tell which one matched.
		if k.Equal([]byte(got)) && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return nil, unauthorized(ErrBadCredential, "API key in %s does not match", a.where())
	}
	return &Verified{Scheme: SchemeAPIKey, Key: match}, nil
}

func (a *APIKey) where() string {
	switch {
	case a.Header != "" && a.Query != "":
		return "header " + a.Header + " or query parameter " + a.Query
	case a.Header != "":
		return "header " + a.Header
	default:
		return "query parameter " + a.Query
	}
}

// Signature accepts a request signed with one of Keys. The signature is read
// from the header Header, or from the top-level body member SignatureField; it
// covers the whole body (header form) or the exact bytes of the member
// SignedField (body form). In the header form a TimestampHeader adds a signed
// time of sending: the signed content is then the Signed template (default
// "{timestamp}.{body}") and a timestamp more than Tolerance from Now is refused.
type Signature struct {
	Scheme         string
	Header         string
	SignatureField string
	SignedField    string
	// Encoding is base64 (default) or hex; Prefix (e.g. "sha256=") is stripped first.
	Encoding string
	Prefix   string
	Keys     KeyRing
	// TimestampHeader names the header holding unix seconds; "" for none.
	TimestampHeader string
	// Signed is the signed-content template ({timestamp}, {body}); "" is the default.
	Signed string
	// Tolerance is the accepted distance of the timestamp from Now; 0 means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock of the timestamp check; nil means time.Now.
	Now func() time.Time
}

var _ Authenticator = (*Signature)(nil)

func (s *Signature) check() error {
	switch {
	case s.Header == "" && s.SignatureField == "":
		return fmt.Errorf("partnerauth: %w: %s needs a header or a signature field", ErrConfig, s.Scheme)
	case s.SignatureField != "" && s.SignedField == "":
		return fmt.Errorf("partnerauth: %w: signature field %s needs the signed field", ErrConfig, s.SignatureField)
	}
	switch s.Encoding {
	case "", "base64", "hex":
	default:
		return fmt.Errorf("partnerauth: %w: encoding %q (want base64 or hex)", ErrConfig, s.Encoding)
	}
	if s.TimestampHeader != "" && s.SignatureField != "" {
		return fmt.Errorf("partnerauth: %w: a timestamp header needs a header signature, not signature field %s", ErrConfig, s.SignatureField)
	}
	return CheckSignedTemplate(s.Signed, s.TimestampHeader != "")
}

// CheckSignedTemplate reports whether t is a valid signed-content template:
// {body} exactly once, {timestamp} at most once and only with a timestamp
// header, no other {placeholder}. An empty t is valid (the default).
func CheckSignedTemplate(t string, timestamp bool) error {
	if t == "" {
		return nil
	}
	rest := strings.NewReplacer("{body}", "", "{timestamp}", "").Replace(t)
	switch {
	case strings.Count(t, "{body}") != 1:
		return fmt.Errorf("partnerauth: %w: signed content %q must hold {body} exactly once", ErrConfig, t)
	case strings.Count(t, "{timestamp}") > 1:
		return fmt.Errorf("partnerauth: %w: signed content %q holds {timestamp} more than once", ErrConfig, t)
	case strings.Contains(t, "{timestamp}") && !timestamp:
		return fmt.Errorf("partnerauth: %w: signed content %q uses {timestamp} but no timestamp header is declared", ErrConfig, t)
	case strings.ContainsAny(rest, "{}"):
		return fmt.Errorf("partnerauth: %w: signed content %q: only {timestamp} and {body} may be used", ErrConfig, t)
	}
	return nil
}

// signedContent returns the bytes a header signature covers, checking the
// timestamp when one is declared.
func (s *Signature) signedContent(r *Request) ([]byte, error) {
	if s.TimestampHeader == "" && s.Signed == "" {
		return r.Body, nil
	}
	var ts string
	if s.TimestampHeader != "" {
		ts = strings.TrimSpace(r.Header.Get(s.TimestampHeader))
		if ts == "" {
			return nil, unauthorized(ErrMissingCredential, "no timestamp in header %s", s.TimestampHeader)
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || len(ts) > 12 {
			return nil, unauthorized(ErrMalformed, "header %s is not unix seconds", s.TimestampHeader)
		}
		tol := s.Tolerance
		if tol <= 0 {
			tol = DefaultTolerance
		}
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		if d := now().Sub(time.Unix(sec, 0)); d > tol || -d > tol {
			return nil, unauthorized(ErrTimestamp, "header %s is %s away from now, tolerance %s", s.TimestampHeader, d.Round(time.Second), tol)
		}
	}
	t := s.Signed
	if t == "" {
		t = "{timestamp}.{body}"
	}
	before, after, _ := strings.Cut(t, "{body}")
	before = strings.Replace(before, "{timestamp}", ts, 1)
	after = strings.Replace(after, "{timestamp}", ts, 1)
	msg := make([]byte, 0, len(before)+len(r.Body)+len(after))
	msg = append(append(append(msg, before...), r.Body...), after...)
	return msg, nil
}

// Authenticate implements Authenticator.
func (s *Signature) Authenticate(_ context.Context, r *Request) (*Verified, error) {
	var enc string
	msg := r.Body
	if s.SignatureField != "" {
		if !gjson.ValidBytes(r.Body) {
			return nil, unauthorized(ErrMalformed, "body is not JSON")
		}
		root := gjson.ParseBytes(r.Body)
		if !root.IsObject() {
			return nil, unauthorized(ErrMalformed, "body is not a JSON object")
		}
		sig := root.Get(gjsonEscape(s.SignatureField))
		if !sig.Exists() || sig.String() == "" {
			return nil, unauthorized(ErrMissingCredential, "no %s in the body", s.SignatureField)
		}
		if sig.Type != gjson.String {
			return nil, unauthorized(ErrMalformed, "%s is not a string", s.SignatureField)
		}
		enc = sig.String()
		signed := root.Get(gjsonEscape(s.SignedField))
		if !signed.Exists() {
			return nil, unauthorized(ErrMalformed, "no %s in the body", s.SignedField)
		}
		if signed.Type == gjson.String {
			msg = []byte(signed.String())
		} else {
			msg = rawBytes(r.Body, signed)
		}
	} else {
		vs := r.Header.Values(s.Header)
		if len(vs) == 0 || vs[0] == "" {
			return nil, unauthorized(ErrMissingCredential, "no signature in header %s", s.Header)
		}
		enc = vs[0]
		var err error
		if msg, err = s.signedContent(r); err != nil {
			return nil, err
		}
	}
	enc = strings.TrimSpace(enc)
	if s.Prefix != "" {
		var ok bool
		if enc, ok = strings.CutPrefix(enc, s.Prefix); !ok {
			return nil, unauthorized(ErrMalformed, "signature does not start with %q", s.Prefix)
		}
	}
	sig, err := decodeSig(enc, s.Encoding)
	if err != nil {
		return nil, unauthorized(ErrMalformed, "signature is not %s", encName(s.Encoding))
	}
	i, err := s.Keys.verify(msg, sig)
	if err != nil {
		return nil, err
	}
	return &Verified{Scheme: s.Scheme, Key: i, Signed: msg}, nil
}

// rawBytes returns the exact bytes of r within body (gjson results hold an
// index into the parsed input).
func rawBytes(body []byte, r gjson.Result) []byte {
	if r.Index > 0 && r.Index+len(r.Raw) <= len(body) {
		return body[r.Index : r.Index+len(r.Raw)]
	}
	return []byte(r.Raw)
}

// gjsonEscape escapes the gjson path metacharacters of a plain member name.
func gjsonEscape(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch c {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func encName(e string) string {
	if e == "" {
		return "base64"
	}
	return e
}

func decodeSig(s, enc string) ([]byte, error) {
	if enc == "hex" {
		return hex.DecodeString(s)
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := e.DecodeString(s); err == nil && len(b) > 0 {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
