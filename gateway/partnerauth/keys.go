package partnerauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrKey is wrapped when a PEM file holds no usable key.
var ErrKey = errors.New("unusable key")

// maxPEM bounds the size of a key file we read.
const maxPEM = 64 << 10

// ParsePublicKeyPEM parses the first public key in data; see ParsePublicKeysPEM.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	ks, err := ParsePublicKeysPEM(data)
	if err != nil {
		return nil, err
	}
	return ks[0], nil
}

// ParsePublicKeysPEM parses every public key in data: PKIX "PUBLIC KEY",
// PKCS#1 "RSA PUBLIC KEY", and the key of each "CERTIFICATE"; other blocks are
// skipped. Each key is an *rsa.PublicKey (at least 2048 bits) or an
// ed25519.PublicKey. Several keys in one file let a partner rotate keys.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch blk.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("partnerauth: %w: %s block: %w", ErrKey, blk.Type, err)
		}
		pk, err := checkPublic(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("partnerauth: %w: no PEM public key block", ErrKey)
	}
	return out, nil
}

func checkPublic(k any) (crypto.PublicKey, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("partnerauth: %w: RSA key of %d bits, want at least 2048", ErrKey, k.N.BitLen())
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	default:
		return nil, fmt.Errorf("partnerauth: %w: key type %T, want RSA or Ed25519", ErrKey, k)
	}
}

// ParsePrivateKeyPEM parses the first private key in data: PKCS#1 "RSA PRIVATE
// KEY" or PKCS#8 "PRIVATE KEY". It returns an *rsa.PrivateKey or an
// ed25519.PrivateKey.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, fmt.Errorf("partnerauth: %w: no PEM private key block", ErrKey)
		}
		var (
			k   any
			err error
		)
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("partnerauth: %w: %s block: %w", ErrKey, blk.Type, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			if _, err := checkPublic(&k.PublicKey); err != nil {
				return nil, err
			}
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("partnerauth: %w: key type %T, want RSA or Ed25519", ErrKey, k)
		}
	}
}

// readKeyFile reads the file named by the environment variable name.
func readKeyFile(env func(string) string, name string) ([]byte, string, error) {
	if name == "" {
		return nil, "", fmt.Errorf("partnerauth: %w: no environment variable named for the key file", ErrNotConfigured)
	}
	path := env(name)
	if path == "" {
		return nil, "", fmt.Errorf("partnerauth: %w: %s is not set", ErrNotConfigured, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, path, fmt.Errorf("partnerauth: %w: %s names %s: %w", ErrNotConfigured, name, path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, path, fmt.Errorf("partnerauth: %w: %s names %s: %w", ErrNotConfigured, name, path, err)
	}
	if len(data) > maxPEM {
		return nil, path, fmt.Errorf("partnerauth: %w: %s names %s: larger than %d bytes", ErrKey, name, path, maxPEM)
	}
	return data, path, nil
}

// PublicKeysFromEnv loads every public key of the PEM file whose path is in
// the environment variable name.
func PublicKeysFromEnv(env func(string) string, name string) ([]crypto.PublicKey, error) {
	data, path, err := readKeyFile(env, name)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublicKeysPEM(data)
	if err != nil {
		return nil, fmt.Errorf("partnerauth: %s (%s): %w", name, path, err)
	}
	return k, nil
}

// PrivateKeyFromEnv loads the private key from the PEM file whose path is in
// the environment variable name.
func PrivateKeyFromEnv(env func(string) string, name string) (crypto.Signer, error) {
	data, path, err := readKeyFile(env, name)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("partnerauth: %s (%s): %w", name, path, err)
	}
	return k, nil
}
