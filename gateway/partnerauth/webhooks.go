package partnerauth

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/stdwebhooks"
)

// The Standard Webhooks headers.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// Limits on what a stranger's webhook-signature header may hold.
const (
	maxSignatureHeader = 8 << 10
	maxSignatures      = 16
	maxWebhookID       = 256
)

// WebhookSignature is one entry of a webhook-signature header: "v1,<base64>"
// (HMAC-SHA256) or "v1a,<base64>" (Ed25519).
type WebhookSignature struct {
	Version string
	Sig     []byte
}

// ParseWebhookSignatures parses a webhook-signature header: space-separated
// "<version>,<base64>" entries. Entries of unknown versions are kept (the
// verifier ignores them), so a sender may add schemes. It fails with
// ErrMalformed on an empty or oversized header, too many entries, an entry
// without a comma or with a signature that is not base64.
func ParseWebhookSignatures(h string) ([]WebhookSignature, error) {
	if len(h) > maxSignatureHeader {
		return nil, unauthorized(ErrMalformed, "%s longer than %d bytes", HeaderWebhookSignature, maxSignatureHeader)
	}
	fields := strings.Fields(h)
	if len(fields) == 0 {
		return nil, unauthorized(ErrMissingCredential, "empty %s", HeaderWebhookSignature)
	}
	if len(fields) > maxSignatures {
		return nil, unauthorized(ErrMalformed, "%s has %d entries, at most %d", HeaderWebhookSignature, len(fields), maxSignatures)
	}
	out := make([]WebhookSignature, 0, len(fields))
	for i, f := range fields {
		ver, b64, ok := strings.Cut(f, ",")
		if !ok || ver == "" || b64 == "" {
			return nil, unauthorized(ErrMalformed, "%s entry %d is not <version>,<base64>", HeaderWebhookSignature, i+1)
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, unauthorized(ErrMalformed, "%s entry %d is not base64", HeaderWebhookSignature, i+1)
		}
		out = append(out, WebhookSignature{Version: ver, Sig: sig})
	}
	return out, nil
}

// WebhookVerifier verifies Standard Webhooks requests: the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>", signed with HMAC-SHA256 under a
// whsec_ secret (v1) or Ed25519 under a whpk_ public key (v1a). Any listed
// key may match (rotation), any entry of the header may match (the sender's
// rotation), the timestamp must be within Tolerance of Now, and a webhook-id
// is accepted with one body only within the replay window: a retry with the
// same body passes (Verified.Retry), another body is ErrReplay.
type WebhookVerifier struct {
	// keys in configuration order: the current one first.
	keys []webhookKey
	// Tolerance is the accepted distance of webhook-timestamp from Now.
	Tolerance time.Duration
	// Replay records ids; nil disables replay protection.
	Replay ReplayGuard
	// Partner scopes replay ids.
	Partner string
	// Now is the clock.
	Now func() time.Time
}

var _ Authenticator = (*WebhookVerifier)(nil)

// webhookKey is an HMAC secret (v1) or an Ed25519 public key (v1a).
type webhookKey struct {
	hmac []byte
	ed   ed25519.PublicKey
}

// NewWebhookVerifier returns a verifier for the given secrets: "whsec_<base64>"
// HMAC secrets (the prefix is optional; anything else is ErrKey, see
// internal/stdwebhooks) and "whpk_<base64>" Ed25519 public keys. Tolerance 0 means DefaultTolerance; a nil replay guard means a new
// MemoryReplay.
func NewWebhookVerifier(secrets []string, tolerance time.Duration, replay ReplayGuard, partner string) (*WebhookVerifier, error) {
	w := &WebhookVerifier{Tolerance: tolerance, Replay: replay, Partner: partner, Now: time.Now}
	if w.Tolerance <= 0 {
		w.Tolerance = DefaultTolerance
	}
	if w.Replay == nil {
		w.Replay = NewMemoryReplay(nil)
	}
	for i, s := range secrets {
		if pk, ok := strings.CutPrefix(s, "whpk_"); ok {
			b, err := base64.StdEncoding.DecodeString(pk)
			if err != nil || len(b) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("partnerauth: %w: webhook key %d is not a base64 Ed25519 public key", ErrKey, i+1)
			}
			w.keys = append(w.keys, webhookKey{ed: ed25519.PublicKey(b)})
			continue
		}
		b, err := stdwebhooks.ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("partnerauth: %w: webhook secret %d is %w", ErrKey, i+1, err)
		}
		w.keys = append(w.keys, webhookKey{hmac: b})
	}
	if len(w.keys) == 0 {
		return nil, fmt.Errorf("partnerauth: %w: no webhook secret", ErrNotConfigured)
	}
	return w, nil
}

// Authenticate implements Authenticator.
func (w *WebhookVerifier) Authenticate(ctx context.Context, r *Request) (*Verified, error) {
	id := r.Header.Get(HeaderWebhookID)
	ts := r.Header.Get(HeaderWebhookTimestamp)
	sh := r.Header.Get(HeaderWebhookSignature)
	switch {
	case id == "" || ts == "" || sh == "":
		return nil, unauthorized(ErrMissingCredential, "%s, %s and %s are required", HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature)
	case len(id) > maxWebhookID:
		return nil, unauthorized(ErrMalformed, "%s longer than %d bytes", HeaderWebhookID, maxWebhookID)
	case strings.ContainsAny(id, "."):
		// The id is a part of the signed content; a dot would make it ambiguous.
		return nil, unauthorized(ErrMalformed, "%s contains a dot", HeaderWebhookID)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, unauthorized(ErrMalformed, "%s is not unix seconds", HeaderWebhookTimestamp)
	}
	now := w.now()
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > w.Tolerance || -d > w.Tolerance {
		return nil, unauthorized(ErrTimestamp, "%s is %s away from now, tolerance %s", HeaderWebhookTimestamp, d.Round(time.Second), w.Tolerance)
	}
	sigs, err := ParseWebhookSignatures(sh)
	if err != nil {
		return nil, err
	}
	content := stdwebhooks.Content(id, ts, r.Body)
	key, ok := w.match(content, sigs)
	if !ok {
		return nil, unauthorized(ErrBadCredential, "no %s entry verifies", HeaderWebhookSignature)
	}
	v := &Verified{Scheme: SchemeStandardWebhooks, Key: key, MessageID: id, Signed: r.Body}
	if w.Replay != nil {
		// The id must stay remembered as long as its timestamp is acceptable.
		// A sender retries with the same id and the same body (the spec asks
		// it to): that passes, and the inbound path answers it as the
		// duplicate it is. The same id with another body is a replay.
		ttl := 2 * w.Tolerance
		sum := sha256.Sum256(r.Body)
		withBody := id + "\x00" + base64.RawURLEncoding.EncodeToString(sum[:])
		fresh, err := w.Replay.Claim(ctx, w.Partner, withBody, ttl)
		if err != nil {
			return nil, fmt.Errorf("partnerauth: replay guard: %w", err)
		}
		if !fresh {
			v.Retry = true
			return v, nil
		}
		if fresh, err = w.Replay.Claim(ctx, w.Partner, id, ttl); err != nil || !fresh {
			_ = w.Replay.Forget(ctx, w.Partner, withBody)
			if err != nil {
				return nil, fmt.Errorf("partnerauth: replay guard: %w", err)
			}
			return nil, unauthorized(ErrReplay, "%s %q was already received with another body", HeaderWebhookID, id)
		}
		v.release = func(ctx context.Context) error {
			return errors.Join(w.Replay.Forget(ctx, w.Partner, id), w.Replay.Forget(ctx, w.Partner, withBody))
		}
	}
	return v, nil
}

func (w *WebhookVerifier) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

// match returns the index of the key that verifies one of sigs.
func (w *WebhookVerifier) match(content []byte, sigs []WebhookSignature) (int, bool) {
	for i, k := range w.keys {
		var mac []byte
		for _, s := range sigs {
			switch {
			case s.Version == "v1" && k.hmac != nil:
				if mac == nil {
					mac = stdwebhooks.MAC(k.hmac, content)
				}
				if hmac.Equal(mac, s.Sig) {
					return i, true
				}
			case s.Version == "v1a" && k.ed != nil:
				if len(s.Sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, content, s.Sig) {
					return i, true
				}
			}
		}
	}
	return -1, false
}
