package partnerauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// keys are generated once per test binary: RSA generation is slow.
var keys struct {
	once             sync.Once
	rsaA, rsaB, rsaC *rsa.PrivateKey
	edA, edB, edC    ed25519.PrivateKey
	rsaSmall         *rsa.PrivateKey
}

func testKeys(t testing.TB) {
	t.Helper()
	keys.once.Do(func() {
		var err error
		if keys.rsaA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.rsaB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.rsaC, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
		_, keys.edA, _ = ed25519.GenerateKey(rand.Reader)
		_, keys.edB, _ = ed25519.GenerateKey(rand.Reader)
		_, keys.edC, _ = ed25519.GenerateKey(rand.Reader)
	})
}

// pemFile writes blocks to a temp file and returns its path.
func pemFile(t testing.TB, blocks ...*pem.Block) string {
	t.Helper()
	var b []byte
	for _, blk := range blocks {
		b = append(b, pem.EncodeToMemory(blk)...)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pkixBlock(t testing.TB, k crypto.PublicKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PUBLIC KEY", Bytes: der}
}

func pkcs8Block(t testing.TB, k crypto.PrivateKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
