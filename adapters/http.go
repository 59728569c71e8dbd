package adapters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/equus/sogateway/internal/stdwebhooks"

	"github.com/equus/sogateway/configs"
)

// maxResponse caps how much of a partner's answer is read.
const maxResponse = 64 << 10

// HTTP delivers rendered JSON (or any rendered body) with an HTTP request.
type HTTP struct {
	vendor   string
	endpoint string
	method   string
	timeout  time.Duration
	auth     configs.OutboundAuth
	token    configs.Secret
	user     configs.Secret
	password configs.Secret
	signKey  []byte
	body     *bodySigner
	client   *http.Client
	now      func() time.Time
}

var _ Adapter = (*HTTP)(nil)

// NewHTTP builds the HTTP JSON transport from a vendor's config, resolving the
// auth and signing secrets from the environment variables it names.
func NewHTTP(vendor string, cfg *configs.VendorConfig, env *Env) (Adapter, error) {
	return newHTTP(vendor, cfg, env)
}

func newHTTP(vendor string, cfg *configs.VendorConfig, env *Env) (*HTTP, error) {
	c := *cfg
	c.SetDefaults()
	h := &HTTP{vendor: vendor, endpoint: c.Endpoint, method: c.Method, timeout: c.Timeout, auth: c.Auth, now: env.now}
	var err error
	switch c.Auth.Kind {
	case "bearer", "header":
		if h.token, err = env.lookup(c.Auth.TokenEnv); err != nil {
			return nil, err
		}
	case "basic":
		if h.user, err = env.lookup(c.Auth.UserEnv); err != nil {
			return nil, err
		}
		if h.password, err = env.lookup(c.Auth.PasswordEnv); err != nil {
			return nil, err
		}
	}
	if c.Signing.SecretEnv != "" {
		s, err := env.lookup(c.Signing.SecretEnv)
		if err != nil {
			return nil, err
		}
		if h.signKey, err = stdwebhooks.ParseSecret(s.Reveal()); err != nil {
			return nil, fmt.Errorf("adapters: %s: %w: %w", c.Signing.SecretEnv, err, ErrMissingCredential)
		}
	}
	if c.Signing.KeyFileEnv != "" {
		path, err := env.lookup(c.Signing.KeyFileEnv)
		if err != nil {
			return nil, err
		}
		k, err := loadRSAKey(path.Reveal())
		if err != nil {
			return nil, &CredentialError{Var: c.Signing.KeyFileEnv, Problem: "names a key file that cannot be used (" + strings.TrimPrefix(err.Error(), "signing key: ") + ")"}
		}
		h.body = &bodySigner{key: k, field: c.Signing.Field, sigField: c.Signing.SignatureField}
	}
	if env != nil && env.HTTPClient != nil {
		h.client = env.HTTPClient
	} else {
		// Redirects are not followed: a POST turned into a GET would "succeed"
		// without delivering. A 3xx is a permanent failure naming Location.
		h.client = &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return h, nil
}

// Transport returns "http".
func (h *HTTP) Transport() string { return configs.TransportHTTP }

// Deliver sends m's body to the vendor's endpoint and classifies the answer:
// 2xx success; 410 ErrGone; 429 and 503 ErrTransient with Retry-After; 408 and
// other 5xx ErrTransient; 3xx (redirects are not followed) and other statuses
// ErrPermanent; network errors and timeouts ErrTransient.
func (h *HTTP) Deliver(ctx context.Context, m *Message) (*Result, error) {
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hdr := http.Header{}
	for k, v := range m.Headers {
		if strings.EqualFold(k, "SOAPAction") {
			continue
		}
		hdr.Set(k, v)
	}
	hdr.Set("Content-Type", ct)
	if h.body != nil {
		signed, err := h.body.wrap(m.Body)
		if err != nil {
			return nil, err
		}
		c := *m
		c.Body = signed
		m = &c
	}
	return doHTTP(ctx, h.client, h.timeout, h.method, h.endpoint, hdr, m, h.now(), h.authorize(m), nil)
}

// authorize returns a function that adds credentials and signature headers.
func (h *HTTP) authorize(m *Message) func(*http.Request) {
	return func(req *http.Request) {
		switch h.auth.Kind {
		case "bearer":
			req.Header.Set(h.auth.Header, "Bearer "+h.token.Reveal())
		case "header":
			req.Header.Set(h.auth.Header, h.token.Reveal())
		case "basic":
			req.SetBasicAuth(h.user.Reveal(), h.password.Reveal())
		}
		req.Header.Set("X-Delivery-Id", m.DeliveryID)
		if h.signKey != nil {
			ts := h.now().Unix()
			req.Header.Set("webhook-id", m.DeliveryID)
			req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("webhook-signature", stdwebhooks.Sign(h.signKey, m.DeliveryID, ts, m.Body))
		}
	}
}

// doHTTP sends one request and classifies the answer; parse, when set, may turn
// a response body into a failure (SOAP faults).
func doHTTP(ctx context.Context, client *http.Client, timeout time.Duration, method, url string, hdr http.Header,
	m *Message, now time.Time, authorize func(*http.Request), parse func(status int, body []byte) error) (*Result, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(m.Body))
	if err != nil {
		return nil, permanent(0, "bad request", err)
	}
	req.Header = hdr
	if authorize != nil {
		authorize(req)
	}
	req.Header.Set("User-Agent", "sogateway/1")
	resp, err := client.Do(req)
	if err != nil {
		// Never echo the URL: it may carry a token in its query.
		var detail string
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			detail = "timed out"
		case errors.Is(err, context.Canceled):
			detail = "cancelled"
		default:
			detail = "connection failed"
		}
		return nil, transient(0, detail, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	snippet := Snippet(body, 512)
	if parse != nil {
		if err := parse(resp.StatusCode, body); err != nil {
			return nil, err
		}
	}
	st := resp.StatusCode
	switch {
	case st >= 200 && st < 300:
		return &Result{StatusCode: st, Response: snippet}, nil
	case st == http.StatusGone:
		return nil, &DeliveryError{Kind: ErrGone, StatusCode: st, Detail: "the endpoint answered 410 Gone: " + snippet}
	case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable:
		e := transient(st, snippet, nil)
		e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return nil, e
	case st == http.StatusRequestTimeout || st >= 500:
		return nil, transient(st, snippet, nil)
	case st >= 300 && st < 400:
		return nil, permanent(st, "the endpoint redirects to "+Snippet([]byte(resp.Header.Get("Location")), 256)+"; update the vendor's endpoint", nil)
	default:
		return nil, permanent(st, snippet, nil)
	}
}

// unwrapURLError drops *url.Error's wrapper, which repeats the URL (and any
// token in its query).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an HTTP
// date (relative to now). It returns zero when v is empty or unparsable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Snippet returns at most n bytes of b as valid UTF-8 text on one line.
func Snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	return s
}
