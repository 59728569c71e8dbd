package partnerauth

import (
	"net/http"
	"testing"
)

// BenchmarkSchemes measures signing and verifying a 1 KiB body with each scheme.
func BenchmarkSchemes(b *testing.B) {
	testKeys(b)
	msg := make([]byte, 1024)
	cases := []struct {
		scheme    string
		priv, pub any
	}{
		{SchemeRSAPKCS1v15, keys.rsaA, &keys.rsaA.PublicKey},
		{SchemeRSAPSS, keys.rsaA, &keys.rsaA.PublicKey},
		{SchemeEd25519, keys.edA, keys.edA.Public()},
		{SchemeHMAC, SecretString("k"), SecretString("k")},
	}
	for _, c := range cases {
		s, _ := NewSigner(c.scheme, c.priv)
		v, _ := NewVerifier(c.scheme, c.pub)
		sig, _ := s.Sign(msg)
		b.Run(c.scheme+"/sign", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.scheme+"/verify", func(b *testing.B) {
			for b.Loop() {
				if err := v.VerifySignature(msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("apikey", func(b *testing.B) {
		a := &APIKey{Query: "apiKey", Keys: []Secret{SecretString("current-key"), SecretString("old-key")}}
		r := &Request{Header: http.Header{}, Query: map[string][]string{"apiKey": {"old-key"}}}
		for b.Loop() {
			if _, err := a.Authenticate(b.Context(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
