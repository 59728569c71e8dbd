package adapters

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/tidwall/gjson"
)

// bodySigner wraps a rendered JSON body into a signed message (EMG):
// {"<field>": <the rendered field, byte for byte>, "<sigField>": base64 of
// the RSA PKCS#1 v1.5 SHA-256 signature over exactly those bytes}.
type bodySigner struct {
	key      *rsa.PrivateKey
	field    string
	sigField string
}

// loadRSAKey reads a PEM RSA private key (PKCS#1 or PKCS#8).
func loadRSAKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("signing key: the file holds no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("signing key: not an RSA private key in PKCS#1 or PKCS#8 form")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("signing key: not an RSA key")
	}
	return rk, nil
}

// wrap returns the signed message for a rendered body. A body whose field is
// missing is a permanent failure (the mapping renders something else).
func (s *bodySigner) wrap(body []byte) ([]byte, error) {
	if !gjson.ValidBytes(body) {
		return nil, &DeliveryError{Kind: ErrPermanent, Detail: "the rendered body is not JSON, so it cannot be signed"}
	}
	f := gjson.GetBytes(body, gjsonKey(s.field))
	if !f.Exists() || !f.IsObject() {
		return nil, &DeliveryError{Kind: ErrPermanent, Detail: "the rendered body has no " + s.field + " object to sign"}
	}
	raw := []byte(f.Raw)
	h := sha256.Sum256(raw)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	if err != nil {
		return nil, &DeliveryError{Kind: ErrPermanent, Detail: "signing failed"}
	}
	fk, _ := json.Marshal(s.field)
	sk, _ := json.Marshal(s.sigField)
	out := make([]byte, 0, len(raw)+len(fk)+len(sk)+400)
	out = append(append(append(append(out, '{'), fk...), ':'), raw...)
	out = append(append(append(out, ','), sk...), ':', '"')
	out = append(append(out, base64.StdEncoding.EncodeToString(sig)...), '"', '}')
	return out, nil
}

// gjsonKey escapes a member name for a gjson path.
func gjsonKey(k string) string {
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
			out = append(out, '\\')
		}
		out = append(out, k[i])
	}
	return string(out)
}
