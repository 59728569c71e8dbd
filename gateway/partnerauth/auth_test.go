package partnerauth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// schemeKeys returns, for a signature scheme, a current and an old signer and
// an env that names PEM files (or secrets) with the public halves.
type schemeCase struct {
	scheme   string
	cur, old Signer
	wrong    Signer
	cfg      Config
	env      map[string]string
}

func signatureCases(t *testing.T) []schemeCase {
	testKeys(t)
	mk := func(scheme string, key any) Signer {
		s, err := NewSigner(scheme, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// PKCS#1 public key for A, PKIX for B, both in the same file: rotation.
	rsaFile := pemFile(t,
		&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&keys.rsaA.PublicKey)},
		pkixBlock(t, &keys.rsaB.PublicKey))
	edFile := pemFile(t, pkixBlock(t, keys.edA.Public()))
	edOld := pemFile(t, pkixBlock(t, keys.edB.Public()))
	var cases []schemeCase
	for _, scheme := range []string{SchemeRSAPKCS1v15, SchemeRSAPSS} {
		cases = append(cases, schemeCase{
			scheme: scheme, cur: mk(scheme, keys.rsaA), old: mk(scheme, keys.rsaB), wrong: mk(scheme, keys.rsaC),
			cfg: Config{Scheme: scheme, Header: "X-Signature", PublicKeyFileEnv: []string{"PK"}},
			env: map[string]string{"PK": rsaFile},
		})
	}
	cases = append(cases, schemeCase{
		scheme: SchemeEd25519, cur: mk(SchemeEd25519, keys.edA), old: mk(SchemeEd25519, keys.edB),
		wrong: mk(SchemeEd25519, keys.edC),
		cfg:   Config{Scheme: SchemeEd25519, Header: "X-Signature", PublicKeyFileEnv: []string{"PK", "PK_OLD"}},
		env:   map[string]string{"PK": edFile, "PK_OLD": edOld},
	})
	cases = append(cases, schemeCase{
		scheme: SchemeHMAC, cur: mk(SchemeHMAC, SecretString("s3cret-current")), old: mk(SchemeHMAC, SecretString("s3cret-old")),
		wrong: mk(SchemeHMAC, SecretString("guess")),
		cfg:   Config{Scheme: SchemeHMAC, Header: "X-Hub-Signature-256", Prefix: "sha256=", Encoding: "hex", SecretEnv: []string{"S", "S_OLD"}},
		env:   map[string]string{"S": "s3cret-current", "S_OLD": "s3cret-old"},
	})
	return cases
}

func encode(cfg Config, sig []byte) string {
	if cfg.Encoding == "hex" {
		return cfg.Prefix + hex.EncodeToString(sig)
	}
	return cfg.Prefix + base64.StdEncoding.EncodeToString(sig)
}

func TestSignatureHeader(t *testing.T) {
	body := []byte(`{"event":"repair_started","repairStartedAt":1700000000}`)
	for _, sc := range signatureCases(t) {
		a, err := New(sc.cfg, envOf(sc.env), nil)
		if err != nil {
			t.Fatalf("New(%s) = %v", sc.scheme, err)
		}
		sign := func(s Signer, b []byte) string {
			sig, err := s.Sign(b)
			if err != nil {
				t.Fatal(err)
			}
			return encode(sc.cfg, sig)
		}
		tampered := []byte(strings.Replace(string(body), "1700000000", "1700000001", 1))
		cases := []struct {
			name    string
			header  string
			body    []byte
			want    error
			wantKey int
		}{
			{"current key", sign(sc.cur, body), body, nil, 0},
			{"rotated: old key still accepted", sign(sc.old, body), body, nil, 1},
			{"tampered body", sign(sc.cur, body), tampered, ErrBadCredential, 0},
			{"wrong key", sign(sc.wrong, body), body, ErrBadCredential, 0},
			{"missing signature", "", body, ErrMissingCredential, 0},
			{"not encoded", sc.cfg.Prefix + "%%%not-a-signature%%%", body, ErrMalformed, 0},
			{"signature of a re-marshalled body", sign(sc.cur, remarshal(t, body)), body, ErrBadCredential, 0},
		}
		for _, c := range cases {
			t.Run(sc.scheme+"/"+c.name, func(t *testing.T) {
				h := http.Header{}
				if c.header != "" {
					h.Set(sc.cfg.Header, c.header)
				}
				v, err := a.Authenticate(context.Background(), &Request{Header: h, Body: c.body})
				if c.want == nil {
					if err != nil {
						t.Fatalf("Authenticate() = %v, want nil", err)
					}
					if v.Key != c.wantKey || v.Scheme != sc.scheme {
						t.Fatalf("Authenticate() = key %d scheme %s, want key %d scheme %s", v.Key, v.Scheme, c.wantKey, sc.scheme)
					}
					return
				}
				if !errors.Is(err, c.want) || !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("Authenticate() = %v, want %v and ErrUnauthorized", err, c.want)
				}
			})
		}
	}
}

// remarshal returns body pretty-printed: same JSON, different bytes.
func remarshal(t *testing.T, body []byte) []byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return b
}

func TestEnvelopeSignature(t *testing.T) {
	testKeys(t)
	env := envOf(map[string]string{"EMG_PUBLIC_KEY_FILE": pemFile(t, pkixBlock(t, &keys.rsaA.PublicKey))})
	a, err := New(Config{Scheme: SchemeRSAPKCS1v15, SignatureField: "Signature", SignedField: "Task",
		PublicKeyFileEnv: []string{"EMG_PUBLIC_KEY_FILE"}}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := NewSigner(SchemeRSAPKCS1v15, keys.rsaA)
	other, _ := NewSigner(SchemeRSAPKCS1v15, keys.rsaB)
	// The Task exactly as the partner serialised it (odd spacing on purpose).
	task := `{ "Id":"4f6ec8d0-902f-4892-aa31-8bfed1edc075",  "Verb" : "Update","Body":{"State":"InProgress"}}`
	sig := func(s Signer, msg string) string {
		b, err := s.Sign([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	quoted, _ := json.Marshal(task)
	cases := []struct {
		name string
		body string
		want error
	}{
		{"task object", `{"Task":` + task + `,"Signature":"` + sig(signer, task) + `"}`, nil},
		{"signature first", `{"Signature":"` + sig(signer, task) + `", "Task":` + task + `}`, nil},
		{"task as JSON string", `{"Task":` + string(quoted) + `,"Signature":"` + sig(signer, task) + `"}`, nil},
		{"tampered task", `{"Task":` + strings.Replace(task, "InProgress", "Closed", 1) + `,"Signature":"` + sig(signer, task) + `"}`, ErrBadCredential},
		{"task re-spaced", `{"Task":` + string(remarshal(t, []byte(task))) + `,"Signature":"` + sig(signer, task) + `"}`, ErrBadCredential},
		{"wrong key", `{"Task":` + task + `,"Signature":"` + sig(other, task) + `"}`, ErrBadCredential},
		{"no signature", `{"Task":` + task + `}`, ErrMissingCredential},
		{"signature not a string", `{"Task":` + task + `,"Signature":12}`, ErrMalformed},
		{"no task", `{"Signature":"` + sig(signer, task) + `"}`, ErrMalformed},
		{"not JSON", `{"Task":`, ErrMalformed},
		{"array body", `[1,2]`, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := a.Authenticate(context.Background(), &Request{Header: http.Header{}, Body: []byte(c.body)})
			if c.want == nil {
				if err != nil {
					t.Fatalf("Authenticate(%s) = %v, want nil", c.body, err)
				}
				if string(v.Signed) != task {
					t.Fatalf("Verified.Signed = %s, want %s", v.Signed, task)
				}
				return
			}
			if !errors.Is(err, c.want) || !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate(%s) = %v, want %v", c.body, err, c.want)
			}
		})
	}
}

func TestAPIKey(t *testing.T) {
	env := envOf(map[string]string{"PRUVAN_API_KEY": "k-current", "PRUVAN_API_KEY_PREVIOUS": "k-old"})
	a, err := New(Config{Scheme: SchemeAPIKey, Header: "X-Api-Key", Query: "apiKey",
		SecretEnv: []string{"PRUVAN_API_KEY", "PRUVAN_API_KEY_PREVIOUS"}}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		header  string
		query   string
		want    error
		wantKey int
	}{
		{"query", "", "apiKey=k-current", nil, 0},
		{"header", "k-current", "", nil, 0},
		{"rotated key", "", "apiKey=k-old", nil, 1},
		{"wrong key", "", "apiKey=k-curren", ErrBadCredential, 0},
		{"longer key", "", "apiKey=k-current2", ErrBadCredential, 0},
		{"header wins over query", "nope", "apiKey=k-current", ErrBadCredential, 0},
		{"missing", "", "", ErrMissingCredential, 0},
		{"empty", "", "apiKey=", ErrMissingCredential, 0},
		{"other parameter", "", "apikey=k-current", ErrMissingCredential, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.header != "" {
				h.Set("X-Api-Key", c.header)
			}
			q, _ := url.ParseQuery(c.query)
			v, err := a.Authenticate(context.Background(), &Request{Header: h, Query: q})
			if c.want == nil {
				if err != nil || v.Key != c.wantKey {
					t.Fatalf("Authenticate() = %+v, %v, want key %d", v, err, c.wantKey)
				}
				return
			}
			if !errors.Is(err, c.want) || !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate() = %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "k-current") {
				t.Fatalf("error %q reveals the key", err)
			}
		})
	}
}

func TestNewNotConfigured(t *testing.T) {
	testKeys(t)
	small := pemFile(t, pkixBlock(t, &keys.rsaSmall.PublicKey))
	garbage := pemFile(t, &pem.Block{Type: "PUBLIC KEY", Bytes: []byte("nope")})
	cases := []struct {
		name     string
		cfg      Config
		env      map[string]string
		want     error
		mentions string
	}{
		{"api key unset", Config{Scheme: SchemeAPIKey, Query: "apiKey", SecretEnv: []string{"PRUVAN_API_KEY"}}, nil, ErrNotConfigured, "PRUVAN_API_KEY"},
		{"key file unset", Config{Scheme: SchemeRSAPKCS1v15, Header: "X-Sig", PublicKeyFileEnv: []string{"EMG_PUBLIC_KEY_FILE"}}, nil, ErrNotConfigured, "EMG_PUBLIC_KEY_FILE"},
		{"key file missing", Config{Scheme: SchemeEd25519, Header: "X-Sig", PublicKeyFileEnv: []string{"K"}}, map[string]string{"K": "/nonexistent/key.pem"}, ErrNotConfigured, "/nonexistent/key.pem"},
		{"key too small", Config{Scheme: SchemeRSAPSS, Header: "X-Sig", PublicKeyFileEnv: []string{"K"}}, map[string]string{"K": small}, ErrKey, "1024 bits"},
		{"key garbage", Config{Scheme: SchemeRSAPSS, Header: "X-Sig", PublicKeyFileEnv: []string{"K"}}, map[string]string{"K": garbage}, ErrKey, "K"},
		{"rsa scheme, ed25519 key", Config{Scheme: SchemeRSAPSS, Header: "X-Sig", PublicKeyFileEnv: []string{"K"}}, map[string]string{"K": pemFile(t, pkixBlock(t, keys.edA.Public()))}, ErrKey, "RSA public key"},
		{"webhook secret unset", Config{Scheme: SchemeStandardWebhooks, SecretEnv: []string{"WH"}}, nil, ErrNotConfigured, "WH"},
		{"webhook secret not base64", Config{Scheme: SchemeStandardWebhooks, SecretEnv: []string{"WH"}}, map[string]string{"WH": "whsec_***"}, ErrKey, "whsec_"},
		// A raw secret is refused, as the push side refuses it (internal/stdwebhooks).
		{"webhook secret raw", Config{Scheme: SchemeStandardWebhooks, SecretEnv: []string{"WH"}}, map[string]string{"WH": "s3cret-password!"}, ErrKey, "whsec_"},
		{"no header nor field", Config{Scheme: SchemeHMAC, SecretEnv: []string{"S"}}, map[string]string{"S": "x"}, ErrConfig, "header"},
		{"signature field without signed field", Config{Scheme: SchemeHMAC, SignatureField: "Signature", SecretEnv: []string{"S"}}, map[string]string{"S": "x"}, ErrConfig, "signed field"},
		{"unknown scheme", Config{Scheme: "rot13"}, nil, ErrUnsupported, "rot13"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, envOf(c.env), nil)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.mentions) {
				t.Fatalf("New() = %v, want %v mentioning %q", err, c.want, c.mentions)
			}
		})
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	testKeys(t)
	msg := []byte("ack body")
	cases := []struct {
		name   string
		scheme string
		block  *pem.Block
		pub    crypto.PublicKey
	}{
		{"pkcs1 rsa", SchemeRSAPKCS1v15, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys.rsaA)}, &keys.rsaA.PublicKey},
		{"pkcs8 rsa pss", SchemeRSAPSS, pkcs8Block(t, keys.rsaA), &keys.rsaA.PublicKey},
		{"pkcs8 ed25519", SchemeEd25519, pkcs8Block(t, keys.edA), keys.edA.Public()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := envOf(map[string]string{"EMG_SIGNING_KEY_FILE": pemFile(t, &pem.Block{Type: "COMMENT", Bytes: []byte("x")}, c.block)})
			s, err := SignerFromEnv(c.scheme, env, "EMG_SIGNING_KEY_FILE")
			if err != nil {
				t.Fatalf("SignerFromEnv() = %v", err)
			}
			sig, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := NewVerifier(c.scheme, c.pub)
			if err := v.VerifySignature(msg, sig); err != nil {
				t.Fatalf("VerifySignature(Sign(msg)) = %v, want nil", err)
			}
			if err := v.VerifySignature([]byte("ack bodY"), sig); !errors.Is(err, ErrBadCredential) {
				t.Fatalf("VerifySignature(other msg) = %v, want ErrBadCredential", err)
			}
		})
	}
	if _, err := ParsePrivateKeyPEM([]byte("no pem here")); !errors.Is(err, ErrKey) {
		t.Fatalf("ParsePrivateKeyPEM(garbage) = %v, want ErrKey", err)
	}
	if _, err := SignerFromEnv(SchemeRSAPKCS1v15, envOf(nil), "EMG_SIGNING_KEY_FILE"); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("SignerFromEnv(unset) = %v, want ErrNotConfigured", err)
	}
}

func FuzzEnvelopeSignature(f *testing.F) {
	testKeys(f)
	ring := KeyRing{rsaPKCS1Verifier{&keys.rsaA.PublicKey}}
	a := &Signature{Scheme: SchemeRSAPKCS1v15, SignatureField: "Signature", SignedField: "Task", Keys: ring}
	signer, _ := NewSigner(SchemeRSAPKCS1v15, keys.rsaA)
	task := `{"Id":"1","Verb":"Create"}`
	sig, _ := signer.Sign([]byte(task))
	good := `{"Task":` + task + `,"Signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`
	for _, s := range []string{good, `{"Task":"{\"Id\":1}","Signature":"AA=="}`, `{}`, `[]`, `"x"`, `{"Task":1,"Signature":""}`, `{"Task":{},"Task":{},"Signature":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := a.Authenticate(context.Background(), &Request{Header: http.Header{}, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate(%q) = %v, not ErrUnauthorized", body, err)
			}
			return
		}
		// Only a body carrying the signed Task verifies.
		if string(v.Signed) != task {
			t.Fatalf("Authenticate(%q) verified %q", body, v.Signed)
		}
	})
}
