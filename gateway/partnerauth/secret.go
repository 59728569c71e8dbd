package partnerauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret is a credential value (API key, shared secret, password). It never
// prints: String, GoString, Format and LogValue all give "[redacted]".
type Secret struct {
	b []byte
}

// NewSecret returns a Secret holding a copy of b.
func NewSecret(b []byte) Secret { return Secret{b: append([]byte(nil), b...)} }

// SecretString returns a Secret holding s.
func SecretString(s string) Secret { return Secret{b: []byte(s)} }

// Reveal returns the secret's bytes; callers must not log or keep them.
func (s Secret) Reveal() []byte { return s.b }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// Equal compares s with b in constant time, independent of both lengths:
// both sides are hashed with SHA-256 before the comparison.
func (s Secret) Equal(b []byte) bool {
	if len(s.b) == 0 {
		return false
	}
	x, y := sha256.Sum256(s.b), sha256.Sum256(b)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

const redacted = "[redacted]"

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer: a Secret logs as "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "[redacted]" so a Secret in a JSON or YAML dump stays secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

var (
	_ slog.LogValuer = Secret{}
	_ fmt.Formatter  = Secret{}
)

// SecretFromEnv reads the secret held by the environment variable name. An
// unset or empty variable is ErrNotConfigured naming the variable (never a value).
func SecretFromEnv(env func(string) string, name string) (Secret, error) {
	if name == "" {
		return Secret{}, fmt.Errorf("partnerauth: %w: no environment variable named for the secret", ErrNotConfigured)
	}
	v := env(name)
	if v == "" {
		return Secret{}, fmt.Errorf("partnerauth: %w: %s is not set", ErrNotConfigured, name)
	}
	return SecretString(v), nil
}
