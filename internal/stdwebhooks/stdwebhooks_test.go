package stdwebhooks

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The specification's reference vector (standard-webhooks libraries' tests).
const (
	refSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	refID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	refTS     = 1614265330
	refBody   = `{"test": 2432232314}`
	refSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignReferenceVector(t *testing.T) {
	for _, secret := range []string{refSecret, strings.TrimPrefix(refSecret, SecretPrefix)} {
		key, err := ParseSecret(secret)
		if err != nil {
			t.Fatalf("ParseSecret(%q) = %v", secret, err)
		}
		if got := Sign(key, refID, refTS, []byte(refBody)); got != refSig {
			t.Errorf("Sign(ParseSecret(%q)) = %s, want %s", secret, got, refSig)
		}
	}
}

// TestParseSecretRefusesRaw is the decision docs/partners.md states: a
// secret that is not whsec_<base64> is refused, never used as raw bytes.
func TestParseSecretRefusesRaw(t *testing.T) {
	for _, s := range []string{"", "whsec_", "s3cret-password!", "whsec_not base64", "whsec_%%%%"} {
		if k, err := ParseSecret(s); !errors.Is(err, ErrSecret) {
			t.Errorf("ParseSecret(%q) = %x, %v; want ErrSecret", s, k, err)
		}
	}
}

func TestSignEd25519Verifies(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	entry := SignEd25519(priv, refID, refTS, []byte(refBody))
	b64, ok := strings.CutPrefix(entry, "v1a,")
	sig, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || !ed25519.Verify(pub, Content(refID, "1614265330", []byte(refBody)), sig) {
		t.Errorf("SignEd25519() = %s, which does not verify over Content", entry)
	}
}
