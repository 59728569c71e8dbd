package partnerauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := SecretString("hunter2-top-secret")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("configured", "key", s, slog.Any("nested", struct{ K Secret }{s}))
	log.Info("text", "k", fmt.Sprint(s))
	fmt.Fprintf(&buf, "%v %+v %#v %s %q %x", s, s, s, s, s, s)
	j, _ := json.Marshal(map[string]Secret{"k": s})
	buf.Write(j)
	if strings.Contains(buf.String(), "hunter2") {
		t.Fatalf("secret leaked: %s", buf.String())
	}
	if !strings.Contains(buf.String(), redacted) {
		t.Fatalf("output %s does not say %s", buf.String(), redacted)
	}
	if !s.Equal([]byte("hunter2-top-secret")) || s.Equal([]byte("hunter2")) || (Secret{}).Equal(nil) {
		t.Fatal("Secret.Equal compares wrongly")
	}
}

func TestSecretFromEnv(t *testing.T) {
	_, err := SecretFromEnv(envOf(nil), "PRUVAN_API_KEY")
	if !errors.Is(err, ErrNotConfigured) || !strings.Contains(err.Error(), "PRUVAN_API_KEY is not set") {
		t.Fatalf("SecretFromEnv(unset) = %v, want ErrNotConfigured naming the variable", err)
	}
	s, err := SecretFromEnv(envOf(map[string]string{"K": "v"}), "K")
	if err != nil || string(s.Reveal()) != "v" {
		t.Fatalf("SecretFromEnv(K) = %v, %v", s, err)
	}
}
