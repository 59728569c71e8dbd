package soap

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrAuth is wrapped by every authentication failure.
var ErrAuth = errors.New("authentication failed")

// ErrNonceCacheFull is returned by MemoryNonceCache when it holds its maximum
// number of live nonces; the call is refused as a Server fault.
var ErrNonceCacheFull = errors.New("nonce cache full")

// Secret is a credential value. It never prints: String, GoString, Format,
// LogValue and MarshalText all give "[redacted]"; Reveal returns the value.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether the secret is empty.
func (s Secret) Empty() bool { return s.v == "" }

// String returns "[redacted]".
func (s Secret) String() string { return "[redacted]" }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return "[redacted]" }

// Format prints "[redacted]" for every verb, so no fmt verb shows the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[redacted]") }

// LogValue returns "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText returns "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

var _ slog.LogValuer = Secret{}

// User is one account allowed to call the service.
type User struct {
	Name     string
	Password Secret
}

// UserFromEnv returns the user named by environment variable userVar with the
// password in passVar (SSP7: SSP7_SOAP_USER, SSP7_SOAP_PASSWORD). It fails
// naming the variable when either is unset or empty.
func UserFromEnv(userVar, passVar string) (User, error) {
	name, pass := os.Getenv(userVar), os.Getenv(passVar)
	if name == "" {
		return User{}, fmt.Errorf("%s is not set", userVar)
	}
	if pass == "" {
		return User{}, fmt.Errorf("%s is not set", passVar)
	}
	return User{Name: name, Password: NewSecret(pass)}, nil
}

// NonceCache remembers WS-Security nonces so that a replayed UsernameToken is
// refused. A Redis implementation is SET key 1 NX PX ttl.
type NonceCache interface {
	// Remember records key for ttl and reports true when key was not recorded
	// already (the nonce is fresh). An error means the cache could not decide;
	// the call is then refused.
	Remember(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error)
}

// MemoryNonceCache is an in-process NonceCache with a bounded number of live
// entries. Replicas behind one load balancer need a shared cache instead.
type MemoryNonceCache struct {
	mu   sync.Mutex
	m    map[string]time.Time
	max  int
	now  func() time.Time
	next time.Time // next sweep
}

var _ NonceCache = (*MemoryNonceCache)(nil)

// NewMemoryNonceCache returns a cache holding at most max live nonces
// (default 100000 when max <= 0), using now as its clock (default time.Now).
func NewMemoryNonceCache(max int, now func() time.Time) *MemoryNonceCache {
	if max <= 0 {
		max = 100000
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryNonceCache{m: make(map[string]time.Time), max: max, now: now}
}

// Remember implements NonceCache.
func (c *MemoryNonceCache) Remember(_ context.Context, key string, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if exp, ok := c.m[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.m) >= c.max || now.After(c.next) {
		for k, exp := range c.m {
			if !now.Before(exp) {
				delete(c.m, k)
			}
		}
		c.next = now.Add(ttl)
	}
	if len(c.m) >= c.max {
		return false, ErrNonceCacheFull
	}
	c.m[key] = now.Add(ttl)
	return true, nil
}

// authenticator checks HTTP Basic and WS-Security UsernameToken credentials.
type authenticator struct {
	users  map[string]Secret
	skew   time.Duration
	nonces NonceCache
	now    func() time.Time
}

// basic checks an Authorization: Basic header and returns the user name.
func (a *authenticator) basic(r *http.Request) (string, error) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return "", fmt.Errorf("%w: the Authorization header is not valid HTTP Basic", ErrAuth)
	}
	if !a.check(name, func(secret string) bool { return equal(pass, secret) }) {
		return "", fmt.Errorf("%w: unknown user or wrong password", ErrAuth)
	}
	return name, nil
}

// check runs ok against the user's password, and against a dummy for an
// unknown user so both paths cost the same.
func (a *authenticator) check(name string, ok func(secret string) bool) bool {
	secret, known := a.users[name]
	if !known {
		ok("\x00unknown-user\x00")
		return false
	}
	return ok(secret.Reveal())
}

// wsse checks a UsernameToken (PasswordText or PasswordDigest) and returns the user name.
func (a *authenticator) wsse(ctx context.Context, tok *usernameToken) (string, error) {
	name := strings.TrimSpace(tok.username)
	if name == "" {
		return "", fmt.Errorf("%w: wsse:Username is empty", ErrAuth)
	}
	var nonce []byte
	if tok.nonce != "" {
		if tok.nonceEncoding != "" && tok.nonceEncoding != base64BinaryEnc {
			return "", fmt.Errorf("%w: wsse:Nonce EncodingType %q is not supported, use %s", ErrAuth, tok.nonceEncoding, base64BinaryEnc)
		}
		n, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok.nonce))
		if err != nil {
			return "", fmt.Errorf("%w: wsse:Nonce is not base64", ErrAuth)
		}
		nonce = n
	}
	created := strings.TrimSpace(tok.created)
	switch tok.passwordType {
	case "", passwordText:
		if !a.check(name, func(secret string) bool { return equal(tok.password, secret) }) {
			return "", fmt.Errorf("%w: unknown user or wrong password", ErrAuth)
		}
	case passwordDigest:
		if nonce == nil || created == "" {
			return "", fmt.Errorf("%w: a PasswordDigest needs wsse:Nonce and wsu:Created", ErrAuth)
		}
		if !a.check(name, func(secret string) bool {
			h := sha1.New()
			h.Write(nonce)
			h.Write([]byte(created))
			h.Write([]byte(secret))
			return equal(strings.TrimSpace(tok.password), base64.StdEncoding.EncodeToString(h.Sum(nil)))
		}) {
			return "", fmt.Errorf("%w: unknown user or wrong password digest", ErrAuth)
		}
	default:
		return "", fmt.Errorf("%w: wsse:Password Type %q is not supported, use PasswordText or PasswordDigest", ErrAuth, tok.passwordType)
	}
	// The password is right; now the freshness checks, so that strangers cannot fill the nonce cache.
	if created != "" {
		at, err := parseDateTime(created)
		if err != nil {
			return "", fmt.Errorf("%w: wsu:Created %q is not an xsd:dateTime", ErrAuth, created)
		}
		now := a.now()
		if d := now.Sub(at); d > a.skew || d < -a.skew {
			return "", fmt.Errorf("%w: wsu:Created %s is more than %s away from the server time %s",
				ErrAuth, at.UTC().Format(time.RFC3339), a.skew, now.UTC().Format(time.RFC3339))
		}
	}
	if nonce != nil {
		fresh, err := a.nonces.Remember(ctx, "wsse-nonce:"+name+":"+base64.StdEncoding.EncodeToString(nonce), 2*a.skew)
		if err != nil {
			return "", fmt.Errorf("soap: nonce cache: %w", err)
		}
		if !fresh {
			return "", fmt.Errorf("%w: wsse:Nonce has been used already (replay refused)", ErrAuth)
		}
	}
	return name, nil
}

// equal compares two strings in time independent of where they differ.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// parseDateTime parses an xsd:dateTime; without a zone it is UTC.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("soap: %q is not an xsd:dateTime", s)
}
