package partnerauth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/stdwebhooks"
	"github.com/equus/sogateway/internal/testutil"
)

const (
	whCurrent = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	whOld     = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24="
	whWrong   = "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXdyb25n"
)

func webhookReq(t *testing.T, id string, ts time.Time, body []byte, sigs ...string) *Request {
	t.Helper()
	h := http.Header{}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	return &Request{Header: h, Body: body}
}

func sigOf(t *testing.T, secret, id string, ts time.Time, body []byte) string {
	t.Helper()
	key, err := stdwebhooks.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return stdwebhooks.Sign(key, id, ts.Unix(), body)
}

// runWebhookSuite runs the Standard Webhooks table over a replay guard, so the
// same rules are shown for the in-memory guard, miniredis and a real Redis.
func runWebhookSuite(t *testing.T, guard ReplayGuard) {
	testKeys(t)
	now := time.Unix(1_750_000_000, 0)
	clock := func() time.Time { return now }
	edPub := "whpk_" + base64.StdEncoding.EncodeToString([]byte(keys.edA.Public().(ed25519.PublicKey)))
	env := envOf(map[string]string{"WH": whCurrent + " " + edPub, "WH_OLD": whOld})
	partner := "p" + strconv.FormatInt(time.Now().UnixNano(), 36)
	a, err := New(Config{Scheme: SchemeStandardWebhooks, SecretEnv: []string{"WH", "WH_OLD"}, Tolerance: 5 * time.Minute},
		env, &Options{Now: clock, Replay: guard, Partner: partner})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)
	n := 0
	fresh := func() string { n++; return "msg_" + strconv.Itoa(n) }
	cases := []struct {
		name    string
		req     func(id string) *Request
		want    error
		wantKey int
	}{
		{"valid", func(id string) *Request { return webhookReq(t, id, now, body, sigOf(t, whCurrent, id, now, body)) }, nil, 0},
		{"rotated: old secret still accepted", func(id string) *Request {
			return webhookReq(t, id, now, body, sigOf(t, whOld, id, now, body))
		}, nil, 2},
		{"sender rotation: unknown first, valid second", func(id string) *Request {
			return webhookReq(t, id, now, body, sigOf(t, whWrong, id, now, body), sigOf(t, whCurrent, id, now, body))
		}, nil, 0},
		{"ed25519 v1a", func(id string) *Request {
			return webhookReq(t, id, now, body, stdwebhooks.SignEd25519(keys.edA, id, now.Unix(), body))
		}, nil, 1},
		{"unknown version ignored", func(id string) *Request {
			return webhookReq(t, id, now, body, "v9,AAAA", sigOf(t, whCurrent, id, now, body))
		}, nil, 0},
		{"timestamp at tolerance", func(id string) *Request {
			ts := now.Add(-5 * time.Minute)
			return webhookReq(t, id, ts, body, sigOf(t, whCurrent, id, ts, body))
		}, nil, 0},
		{"tampered body", func(id string) *Request {
			return webhookReq(t, id, now, []byte(`{"type":"invoice.paid","data":{"id":"in_2"}}`), sigOf(t, whCurrent, id, now, body))
		}, ErrBadCredential, 0},
		{"wrong secret", func(id string) *Request { return webhookReq(t, id, now, body, sigOf(t, whWrong, id, now, body)) }, ErrBadCredential, 0},
		{"wrong ed25519 key", func(id string) *Request {
			return webhookReq(t, id, now, body, stdwebhooks.SignEd25519(keys.edB, id, now.Unix(), body))
		}, ErrBadCredential, 0},
		{"id swapped", func(id string) *Request { return webhookReq(t, id, now, body, sigOf(t, whCurrent, "other", now, body)) }, ErrBadCredential, 0},
		{"old timestamp", func(id string) *Request {
			ts := now.Add(-5*time.Minute - time.Second)
			return webhookReq(t, id, ts, body, sigOf(t, whCurrent, id, ts, body))
		}, ErrTimestamp, 0},
		{"future timestamp", func(id string) *Request {
			ts := now.Add(6 * time.Minute)
			return webhookReq(t, id, ts, body, sigOf(t, whCurrent, id, ts, body))
		}, ErrTimestamp, 0},
		{"timestamp re-signed by attacker without key", func(id string) *Request {
			r := webhookReq(t, id, now.Add(-time.Hour), body, sigOf(t, whCurrent, id, now.Add(-time.Hour), body))
			r.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
			return r
		}, ErrBadCredential, 0},
		{"timestamp not a number", func(id string) *Request {
			r := webhookReq(t, id, now, body, sigOf(t, whCurrent, id, now, body))
			r.Header.Set(HeaderWebhookTimestamp, "2025-06-15T00:00:00Z")
			return r
		}, ErrMalformed, 0},
		{"missing signature", func(id string) *Request { return webhookReq(t, id, now, body) }, ErrMissingCredential, 0},
		{"missing id", func(string) *Request { return webhookReq(t, "", now, body, sigOf(t, whCurrent, "", now, body)) }, ErrMissingCredential, 0},
		{"entry without comma", func(id string) *Request { return webhookReq(t, id, now, body, "v1") }, ErrMalformed, 0},
		{"entry not base64", func(id string) *Request { return webhookReq(t, id, now, body, "v1,@@@") }, ErrMalformed, 0},
		{"id with a dot", func(string) *Request {
			return webhookReq(t, "a.b", now, body, sigOf(t, whCurrent, "a.b", now, body))
		}, ErrMalformed, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := a.Authenticate(context.Background(), c.req(fresh()))
			if c.want == nil {
				if err != nil {
					t.Fatalf("Authenticate() = %v, want nil", err)
				}
				if v.Key != c.wantKey {
					t.Fatalf("Authenticate().Key = %d, want %d", v.Key, c.wantKey)
				}
				return
			}
			if !errors.Is(err, c.want) || !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate() = %v, want %v", err, c.want)
			}
		})
	}

	t.Run("replayed id", func(t *testing.T) {
		id := fresh()
		r := webhookReq(t, id, now, body, sigOf(t, whCurrent, id, now, body))
		v, err := a.Authenticate(context.Background(), r)
		if err != nil {
			t.Fatalf("first Authenticate() = %v", err)
		}
		if v.Retry || v.MessageID != id {
			t.Fatalf("first Authenticate() = %+v, want a fresh message %s", v, id)
		}
		// The sender's retry (same id, same body) passes as a retry.
		if rv, err := a.Authenticate(context.Background(), r); err != nil || !rv.Retry {
			t.Fatalf("retried Authenticate() = %+v, %v, want Retry", rv, err)
		}
		// Another body under the used id is a replay.
		other := []byte(`{"other":true}`)
		if _, err := a.Authenticate(context.Background(), webhookReq(t, id, now, other, sigOf(t, whCurrent, id, now, other))); !errors.Is(err, ErrReplay) {
			t.Fatalf("other body under a used id: Authenticate() = %v, want ErrReplay", err)
		}
		// The gateway failed to commit: it releases the id, and the retry is fresh again.
		if err := v.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rv, err := a.Authenticate(context.Background(), r); err != nil || rv.Retry {
			t.Fatalf("Authenticate() after Release = %+v, %v, want a fresh message", rv, err)
		}
		if _, err := a.Authenticate(context.Background(), webhookReq(t, id, now, other, sigOf(t, whCurrent, id, now, other))); !errors.Is(err, ErrReplay) {
			t.Fatalf("other body after the retry = %v, want ErrReplay", err)
		}
	})
	t.Run("failed check does not burn the id", func(t *testing.T) {
		id := fresh()
		bad := webhookReq(t, id, now, body, sigOf(t, whWrong, id, now, body))
		if _, err := a.Authenticate(context.Background(), bad); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("Authenticate(bad) = %v", err)
		}
		good := webhookReq(t, id, now, body, sigOf(t, whCurrent, id, now, body))
		if _, err := a.Authenticate(context.Background(), good); err != nil {
			t.Fatalf("Authenticate(good after bad) = %v, want nil", err)
		}
	})
}

func TestWebhooksMemoryReplay(t *testing.T) { runWebhookSuite(t, NewMemoryReplay(nil)) }

func TestWebhooksMiniRedisReplay(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	runWebhookSuite(t, NewRedisReplay(rdb))
}

func TestWebhooksRedisReplay(t *testing.T) {
	srv := testutil.StartRedis(t)
	runWebhookSuite(t, NewRedisReplay(srv.Client()))
}

// runReplaySuite shows the ReplayGuard contract on one implementation.
func runReplaySuite(t *testing.T, g ReplayGuard, advance func(time.Duration)) {
	ctx := context.Background()
	claim := func(partner, id string) bool {
		t.Helper()
		ok, err := g.Claim(ctx, partner, id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("emg", "a") {
		t.Fatal(`Claim("emg","a") = false on first sight, want true`)
	}
	if claim("emg", "a") {
		t.Fatal(`Claim("emg","a") = true on second sight, want false`)
	}
	if !claim("pruvan", "a") {
		t.Fatal(`Claim("pruvan","a") = false, want true: ids are scoped per partner`)
	}
	if err := g.Forget(ctx, "emg", "a"); err != nil {
		t.Fatal(err)
	}
	if !claim("emg", "a") {
		t.Fatal(`Claim after Forget = false, want true`)
	}
	advance(time.Minute + time.Second)
	if !claim("emg", "a") {
		t.Fatal(`Claim after the ttl = false, want true`)
	}
	// Concurrent claims of one id: exactly one wins.
	wins := make(chan bool, 8)
	for range 8 {
		go func() {
			ok, err := g.Claim(ctx, "emg", "race", time.Minute)
			wins <- ok && err == nil
		}()
	}
	n := 0
	for range 8 {
		if <-wins {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("concurrent claims won = %d, want 1", n)
	}
}

func TestMemoryReplay(t *testing.T) {
	now := time.Unix(0, 0)
	g := NewMemoryReplay(func() time.Time { return now })
	runReplaySuite(t, g, func(d time.Duration) { now = now.Add(d) })
}

func TestMiniRedisReplay(t *testing.T) {
	m, rdb := testutil.MiniRedis(t)
	runReplaySuite(t, NewRedisReplay(rdb), m.FastForward)
}

func TestRedisReplay(t *testing.T) {
	srv := testutil.StartRedis(t)
	rdb := srv.Client()
	// A real server cannot be fast-forwarded: expire the keys of this partner instead.
	runReplaySuite(t, NewRedisReplay(rdb), func(time.Duration) {
		if err := rdb.Del(context.Background(), replayKey("emg", "a")).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if ttl := rdb.PTTL(context.Background(), replayKey("emg", "race")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL(replay key) = %s, want within (0, 1m]", ttl)
	}
}

func TestParseWebhookSignatures(t *testing.T) {
	got, err := ParseWebhookSignatures("v1,AAEC  v1a,AwQ= v2,BQ==")
	if err != nil || len(got) != 3 || got[0].Version != "v1" || string(got[0].Sig) != "\x00\x01\x02" || got[2].Version != "v2" {
		t.Fatalf("ParseWebhookSignatures() = %+v, %v", got, err)
	}
	bad := map[string]error{
		"":                                 ErrMissingCredential,
		"   ":                              ErrMissingCredential,
		"v1":                               ErrMalformed,
		",AAAA":                            ErrMalformed,
		"v1,":                              ErrMalformed,
		"v1,A":                             ErrMalformed,
		strings.Repeat("v1,AAAA ", 17):     ErrMalformed,
		"v1," + strings.Repeat("A", 9<<10): ErrMalformed,
	}
	for h, want := range bad {
		if _, err := ParseWebhookSignatures(h); !errors.Is(err, want) {
			t.Errorf("ParseWebhookSignatures(%.20q) = %v, want %v", h, err, want)
		}
	}
}

func FuzzParseWebhookSignatures(f *testing.F) {
	for _, s := range []string{"v1,AAEC", "v1,AAEC v1a,AwQ=", "", "v1", ",", "v1,@", " v1,AA== \t v2,x", "v1,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := ParseWebhookSignatures(h)
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("ParseWebhookSignatures(%q) = %v, not ErrUnauthorized", h, err)
			}
			return
		}
		if len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("ParseWebhookSignatures(%q) = %d entries", h, len(sigs))
		}
		// Every accepted entry re-encodes to an entry of the header.
		for _, s := range sigs {
			e := s.Version + "," + base64.StdEncoding.EncodeToString(s.Sig)
			if !strings.Contains(h, e) {
				t.Fatalf("entry %q not in header %q", e, h)
			}
		}
	})
}
