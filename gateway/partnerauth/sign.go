package partnerauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// The signature schemes, named as in a mapping's auth.kind.
const (
	SchemeAPIKey           = "apikey"
	SchemeRSAPKCS1v15      = "rsa-pkcs1v15-sha256"
	SchemeRSAPSS           = "rsa-pss-sha256"
	SchemeEd25519          = "ed25519"
	SchemeHMAC             = "hmac-sha256"
	SchemeStandardWebhooks = "standard-webhooks"
)

// SignatureVerifier checks a signature over a message. VerifySignature returns
// nil when sig is a valid signature of msg, else an error wrapping
// ErrUnauthorized and ErrBadCredential. msg must be the exact bytes received.
type SignatureVerifier interface {
	VerifySignature(msg, sig []byte) error
}

// Signer signs messages for a partner. Sign returns the raw signature of msg
// (callers encode it, usually base64); Scheme names the algorithm.
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	Scheme() string
}

type rsaPKCS1Verifier struct{ k *rsa.PublicKey }
type rsaPSSVerifier struct{ k *rsa.PublicKey }
type ed25519Verifier struct{ k ed25519.PublicKey }
type hmacVerifier struct{ s Secret }

var (
	_ SignatureVerifier = rsaPKCS1Verifier{}
	_ SignatureVerifier = rsaPSSVerifier{}
	_ SignatureVerifier = ed25519Verifier{}
	_ SignatureVerifier = hmacVerifier{}
	_ SignatureVerifier = KeyRing(nil)
)

func badSig(scheme string) error {
	return unauthorized(ErrBadCredential, "%s signature does not verify", scheme)
}

func (v rsaPKCS1Verifier) VerifySignature(msg, sig []byte) error {
	h := sha256.Sum256(msg)
	if rsa.VerifyPKCS1v15(v.k, crypto.SHA256, h[:], sig) != nil {
		return badSig(SchemeRSAPKCS1v15)
	}
	return nil
}

func (v rsaPSSVerifier) VerifySignature(msg, sig []byte) error {
	h := sha256.Sum256(msg)
	if rsa.VerifyPSS(v.k, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) != nil {
		return badSig(SchemeRSAPSS)
	}
	return nil
}

func (v ed25519Verifier) VerifySignature(msg, sig []byte) error {
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(v.k, msg, sig) {
		return badSig(SchemeEd25519)
	}
	return nil
}

func (v hmacVerifier) VerifySignature(msg, sig []byte) error {
	m := hmac.New(sha256.New, v.s.b)
	m.Write(msg)
	if !hmac.Equal(m.Sum(nil), sig) {
		return badSig(SchemeHMAC)
	}
	return nil
}

// KeyRing accepts a signature made with any of its keys, so a partner can
// rotate keys: the old and the new verifier are both listed until the old one
// is retired.
type KeyRing []SignatureVerifier

// VerifySignature returns nil when any key verifies sig.
func (r KeyRing) VerifySignature(msg, sig []byte) error {
	_, err := r.verify(msg, sig)
	return err
}

// verify returns the index of the first key that verifies sig.
func (r KeyRing) verify(msg, sig []byte) (int, error) {
	var last error = unauthorized(ErrBadCredential, "no key configured")
	for i, v := range r {
		if last = v.VerifySignature(msg, sig); last == nil {
			return i, nil
		}
	}
	return -1, last
}

// NewVerifier returns the verifier of scheme for key: an *rsa.PublicKey for
// the RSA schemes, an ed25519.PublicKey for ed25519, a Secret for hmac-sha256.
func NewVerifier(scheme string, key any) (SignatureVerifier, error) {
	switch scheme {
	case SchemeRSAPKCS1v15, SchemeRSAPSS:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("partnerauth: %w: %s needs an RSA public key, got %T", ErrKey, scheme, key)
		}
		if scheme == SchemeRSAPSS {
			return rsaPSSVerifier{k}, nil
		}
		return rsaPKCS1Verifier{k}, nil
	case SchemeEd25519:
		k, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("partnerauth: %w: %s needs an Ed25519 public key, got %T", ErrKey, scheme, key)
		}
		return ed25519Verifier{k}, nil
	case SchemeHMAC:
		s, ok := key.(Secret)
		if !ok || s.IsZero() {
			return nil, fmt.Errorf("partnerauth: %w: %s needs a non-empty secret", ErrKey, scheme)
		}
		return hmacVerifier{s}, nil
	default:
		return nil, fmt.Errorf("partnerauth: %w: %q (want %s, %s, %s or %s)", ErrUnsupported, scheme,
			SchemeRSAPKCS1v15, SchemeRSAPSS, SchemeEd25519, SchemeHMAC)
	}
}

type keySigner struct {
	scheme string
	rsa    *rsa.PrivateKey
	ed     ed25519.PrivateKey
	secret Secret
}

var _ Signer = (*keySigner)(nil)

func (s *keySigner) Scheme() string { return s.scheme }

func (s *keySigner) Sign(msg []byte) ([]byte, error) {
	switch s.scheme {
	case SchemeRSAPKCS1v15:
		h := sha256.Sum256(msg)
		return rsa.SignPKCS1v15(nil, s.rsa, crypto.SHA256, h[:])
	case SchemeRSAPSS:
		h := sha256.Sum256(msg)
		return rsa.SignPSS(rand.Reader, s.rsa, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case SchemeEd25519:
		return ed25519.Sign(s.ed, msg), nil
	default: // SchemeHMAC
		m := hmac.New(sha256.New, s.secret.b)
		m.Write(msg)
		return m.Sum(nil), nil
	}
}

// NewSigner returns the signer of scheme for key: an *rsa.PrivateKey for the
// RSA schemes, an ed25519.PrivateKey for ed25519, a Secret for hmac-sha256.
func NewSigner(scheme string, key any) (Signer, error) {
	switch scheme {
	case SchemeRSAPKCS1v15, SchemeRSAPSS:
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("partnerauth: %w: %s needs an RSA private key, got %T", ErrKey, scheme, key)
		}
		return &keySigner{scheme: scheme, rsa: k}, nil
	case SchemeEd25519:
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("partnerauth: %w: %s needs an Ed25519 private key, got %T", ErrKey, scheme, key)
		}
		return &keySigner{scheme: scheme, ed: k}, nil
	case SchemeHMAC:
		s, ok := key.(Secret)
		if !ok || s.IsZero() {
			return nil, fmt.Errorf("partnerauth: %w: %s needs a non-empty secret", ErrKey, scheme)
		}
		return &keySigner{scheme: scheme, secret: s}, nil
	default:
		return nil, fmt.Errorf("partnerauth: %w: %q cannot sign", ErrUnsupported, scheme)
	}
}

// SignerFromEnv returns a signer of scheme whose key is the PEM file named by
// the environment variable name (or, for hmac-sha256, the secret it holds).
func SignerFromEnv(scheme string, env func(string) string, name string) (Signer, error) {
	if scheme == SchemeHMAC {
		s, err := SecretFromEnv(env, name)
		if err != nil {
			return nil, err
		}
		return NewSigner(scheme, s)
	}
	k, err := PrivateKeyFromEnv(env, name)
	if err != nil {
		return nil, err
	}
	return NewSigner(scheme, k)
}

// VerifierFromEnv returns a verifier of scheme whose keys are those of the PEM
// file named by the environment variable name (every key of the file is
// accepted, for rotation), or, for hmac-sha256, the secret it holds.
func VerifierFromEnv(scheme string, env func(string) string, name string) (SignatureVerifier, error) {
	if scheme == SchemeHMAC {
		s, err := SecretFromEnv(env, name)
		if err != nil {
			return nil, err
		}
		return NewVerifier(scheme, s)
	}
	ks, err := PublicKeysFromEnv(env, name)
	if err != nil {
		return nil, err
	}
	ring := make(KeyRing, 0, len(ks))
	for _, k := range ks {
		v, err := NewVerifier(scheme, k)
		if err != nil {
			return nil, fmt.Errorf("partnerauth: %s: %w", name, err)
		}
		ring = append(ring, v)
	}
	return ring, nil
}
