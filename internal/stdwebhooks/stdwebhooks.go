package stdwebhooks

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// ErrSecret is returned for a secret that is not "whsec_" (optional)
// followed by non-empty standard base64.
var ErrSecret = errors.New("not a Standard Webhooks secret (whsec_ followed by base64)")

// ParseSecret returns the HMAC key of a Standard Webhooks secret: the
// standard base64 after the optional "whsec_" prefix. It fails with ErrSecret
// on anything else, including a raw secret that is not base64.
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrSecret
	}
	return key, nil
}

// Content returns the signed content of a message: id, the timestamp in
// unix seconds as sent, and the body, joined by dots.
func Content(id, ts string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(ts)+2+len(body))
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}

// MAC returns the HMAC-SHA256 of content under key: the bytes of a "v1"
// signature.
func MAC(key, content []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return m.Sum(nil)
}

// Sign returns the webhook-signature entry "v1,<base64 HMAC-SHA256>" of body
// sent with id at ts (unix seconds) under key (from ParseSecret).
func Sign(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(MAC(key, Content(id, strconv.FormatInt(ts, 10), body)))
}

// SignEd25519 returns the webhook-signature entry "v1a,<base64 Ed25519>" of
// body sent with id at ts (unix seconds) under the private key.
func SignEd25519(key ed25519.PrivateKey, id string, ts int64, body []byte) string {
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, Content(id, strconv.FormatInt(ts, 10), body)))
}
