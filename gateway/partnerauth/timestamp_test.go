package partnerauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestSignedTimestamp: a header signature over "<template with timestamp
// and body>", with the timestamp checked against the tolerance (Slack-style
// "v0:{timestamp}:{body}" with a "v0=" hex prefix, and the default
// "{timestamp}.{body}").
func TestSignedTimestamp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"job":"J-1","status":"done"}`)
	mac := func(secret, msg string) string {
		h := hmac.New(sha256.New, []byte(secret))
		h.Write([]byte(msg))
		return hex.EncodeToString(h.Sum(nil))
	}
	for _, tc := range []struct {
		name   string
		signed string
		build  func(ts string) string // the signed content as the sender builds it
	}{
		{"default template", "", func(ts string) string { return ts + "." + string(body) }},
		{"slack style", "v0:{timestamp}:{body}", func(ts string) string { return "v0:" + ts + ":" + string(body) }},
	} {
		cfg := Config{Scheme: SchemeHMAC, Header: "X-Sig", Prefix: "v0=", Encoding: "hex", SecretEnv: []string{"S"},
			TimestampHeader: "X-Ts", Signed: tc.signed, Tolerance: time.Minute}
		a, err := New(cfg, envOf(map[string]string{"S": "topsecret"}), &Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatalf("New(%s) = %v", tc.name, err)
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		old := strconv.FormatInt(now.Add(-2*time.Minute).Unix(), 10)
		cases := []struct {
			name    string
			ts, sig string
			want    error
		}{
			{"fresh", ts, "v0=" + mac("topsecret", tc.build(ts)), nil},
			{"signed with another timestamp", ts, "v0=" + mac("topsecret", tc.build(old)), ErrBadCredential},
			{"too old", old, "v0=" + mac("topsecret", tc.build(old)), ErrTimestamp},
			{"no timestamp", "", "v0=" + mac("topsecret", tc.build(ts)), ErrMissingCredential},
			{"timestamp not seconds", "soon", "v0=" + mac("topsecret", tc.build("soon")), ErrMalformed},
			{"prefix missing", ts, mac("topsecret", tc.build(ts)), ErrMalformed},
			{"body only", ts, "v0=" + mac("topsecret", string(body)), ErrBadCredential},
		}
		for _, c := range cases {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				h := http.Header{}
				h.Set("X-Sig", c.sig)
				if c.ts != "" {
					h.Set("X-Ts", c.ts)
				}
				_, err := a.Authenticate(context.Background(), &Request{Header: h, Body: body})
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("Authenticate() = %v, want %v", err, c.want)
				}
			})
		}
	}
}

func TestCheckSignedTemplate(t *testing.T) {
	for _, c := range []struct {
		t    string
		ts   bool
		want bool
	}{
		{"", false, true},
		{"{body}", false, true},
		{"{timestamp}.{body}", true, true},
		{"v0:{timestamp}:{body}", true, true},
		{"{timestamp}.{body}", false, false},
		{"{timestamp}", true, false},
		{"{body}{body}", false, false},
		{"{id}.{body}", false, false},
		{"{timestamp}{timestamp}{body}", true, false},
	} {
		err := CheckSignedTemplate(c.t, c.ts)
		if (err == nil) != c.want || err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("CheckSignedTemplate(%q, %v) = %v, want ok=%v", c.t, c.ts, err, c.want)
		}
	}
	_, err := New(Config{Scheme: SchemeRSAPKCS1v15, SignatureField: "Signature", SignedField: "Task", TimestampHeader: "X-Ts",
		PublicKeyFileEnv: []string{"PK"}}, envOf(map[string]string{"PK": "/nonexistent"}), nil)
	if err == nil {
		t.Error("New(signature field with a timestamp header) = nil, want an error")
	}
}
