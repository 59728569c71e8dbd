package partnerauth

import (
	"errors"
	"fmt"
)

// Errors returned by authenticators. Every failure of a request wraps
// ErrUnauthorized and one of the more precise sentinels, so callers answer 401
// with errors.Is(err, ErrUnauthorized) and log the precise reason.
var (
	// ErrUnauthorized is wrapped by every request that fails authentication.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrMissingCredential: the request carries no key or signature.
	ErrMissingCredential = errors.New("missing credential")
	// ErrBadCredential: the key is wrong or no signature verifies with any configured key.
	ErrBadCredential = errors.New("bad credential")
	// ErrMalformed: a signature or timestamp header could not be parsed.
	ErrMalformed = errors.New("malformed credential")
	// ErrTimestamp: a signed timestamp is outside the tolerance.
	ErrTimestamp = errors.New("timestamp outside tolerance")
	// ErrReplay: a message id was seen before within the replay window.
	ErrReplay = errors.New("replayed message")
	// ErrNotConfigured: a credential the partner needs (an environment variable
	// or the file it names) is missing, so the partner is disabled.
	ErrNotConfigured = errors.New("not configured")
	// ErrUnsupported: the scheme name is unknown.
	ErrUnsupported = errors.New("unsupported scheme")
)

// unauthorized wraps ErrUnauthorized and kind with a lowercase detail.
func unauthorized(kind error, format string, a ...any) error {
	return fmt.Errorf("partnerauth: %w: %w: %s", ErrUnauthorized, kind, fmt.Sprintf(format, a...))
}
