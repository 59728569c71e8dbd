package console

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
)

// secretMarker is in every fake answer: a page that shows it leaked data.
const secretMarker = "SECRET-ORDER-DATA"

// fakeServices records every call that would change something.
type fakeServices struct {
	mu      sync.Mutex
	changes []string
}

func (f *fakeServices) changed(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, what)
}

func (f *fakeServices) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.changes)
}

var testOrder = &model.Order{ID: "o1", Partner: "acme", Refs: model.Refs{Requestor: secretMarker}, Status: model.StatusSent}

func (f *fakeServices) Search(context.Context, OrderQuery) (*OrderPage, error) {
	return &OrderPage{Orders: []*model.Order{testOrder, testOrder}}, nil
}
func (f *fakeServices) GetOrder(_ context.Context, id string) (*model.Order, error) {
	if id != "o1" {
		return nil, model.ErrNotFound
	}
	return testOrder, nil
}
func (f *fakeServices) Events(context.Context, string) ([]*model.Event, error) {
	return []*model.Event{{ID: "e1", Type: model.EventOrderCreated, Raw: secretMarker}}, nil
}
func (f *fakeServices) Vendors() []string { return []string{"acme"} }
func (f *fakeServices) Status(context.Context) map[string]dispatch.VendorStatus {
	return map[string]dispatch.VendorStatus{"acme": {Transport: "http", Available: true, Reason: secretMarker}}
}
func (f *fakeServices) QueueStats(context.Context, string) (dispatch.QueueStats, error) {
	return dispatch.QueueStats{}, nil
}
func (f *fakeServices) Deliveries(context.Context, string) ([]*dispatch.Delivery, error) {
	return nil, nil
}
func (f *fakeServices) Send(context.Context, string, dispatch.SendOptions) (*dispatch.SendResult, error) {
	f.changed("send")
	return &dispatch.SendResult{}, nil
}
func (f *fakeServices) GetWindow(context.Context, string) (*dispatch.Window, error) {
	return &dispatch.Window{Start: time.Now(), End: time.Now().Add(time.Hour), Active: true}, nil
}
func (f *fakeServices) PutWindow(_ context.Context, _ string, s, e time.Time) (*dispatch.Window, error) {
	f.changed("put window")
	return &dispatch.Window{Start: s, End: e}, nil
}
func (f *fakeServices) DeleteWindow(context.Context, string) error {
	f.changed("delete window")
	return nil
}
func (f *fakeServices) DeadLetters(context.Context, string, int, int) ([]*dispatch.Delivery, error) {
	return []*dispatch.Delivery{{Delivery: model.Delivery{ID: "dlv_1", LastError: secretMarker}, Vendor: "acme"}}, nil
}
func (f *fakeServices) Replay(context.Context, string) (*dispatch.Delivery, error) {
	f.changed("replay")
	return &dispatch.Delivery{}, nil
}
func (f *fakeServices) ReplayDead(context.Context, string) (int, error) {
	f.changed("replay dead")
	return 1, nil
}

// keys accepts "admin-key" (admin) and "read-key" (read only).
type testKeys struct{}

func (testKeys) Verify(_ context.Context, key string) (*access.Principal, error) {
	switch key {
	case "admin-key":
		return &access.Principal{KeyID: access.AdminID, Name: "ops", Scopes: []access.Scope{access.ScopeAdmin}}, nil
	case "read-key":
		return &access.Principal{KeyID: access.AdminID, Name: "viewer", Scopes: []access.Scope{access.ScopeRead}}, nil
	case "bound-key":
		return &access.Principal{KeyID: access.AdminID, Name: "acme", Scopes: []access.Scope{access.ScopeRead}, Vendor: "acme"}, nil
	}
	return nil, access.ErrUnauthenticated
}

func newTestConsole(t *testing.T) (*httptest.Server, *fakeServices) {
	t.Helper()
	_, rdb := testutil.MiniRedis(t)
	f := &fakeServices{}
	c, err := New(Deps{Redis: rdb, Auth: testKeys{}, Orders: f, Dispatch: f, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv, f
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// concrete fills a route pattern's wildcards.
func concrete(path string) string {
	r := strings.NewReplacer("{id}", "o1", "{vendor}", "acme", "{partner}", "ssp7", "{uid}", "7", "{key}", "k1")
	return r.Replace(path)
}

func send(t *testing.T, method, u string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in with key and returns the session cookie and the CSRF token of
// the session's forms.
func login(t *testing.T, srv *httptest.Server, key string) (*http.Cookie, string) {
	t.Helper()
	resp, body := send(t, "GET", srv.URL+"/console/login", nil)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil || len(resp.Cookies()) == 0 {
		t.Fatalf("login form has no token or cookie:\n%s", body)
	}
	resp, _ = send(t, "POST", srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "api_key": {key}, "next": {"/console/vendors"}}, resp.Cookies()[0])
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/vendors" {
		t.Fatalf("login = %d to %q, want 303 to /console/vendors", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil {
		t.Fatal("no session cookie after login")
	}
	_, body = send(t, "GET", srv.URL+"/console/vendors", nil, sess)
	m = csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("vendors page has no CSRF token:\n%s", body)
	}
	return sess, m[1]
}

// TestEveryRouteRefusesAnonymous walks every protected route (and a path no
// route has) without a session, and with a forged one: pages send the
// browser to the login form, anything else is 401, and no answer carries data.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	srv, f := newTestConsole(t)
	forged := &http.Cookie{Name: sessionCookie, Value: "forged-session-id"}
	all := append(Routes(), "GET /console/nowhere", "POST /console/nowhere")
	for _, rt := range all {
		method, path, _ := strings.Cut(rt, " ")
		for _, cookies := range [][]*http.Cookie{nil, {forged}} {
			resp, body := send(t, method, srv.URL+concrete(path), url.Values{"csrf": {"x"}}, cookies...)
			if strings.Contains(body, secretMarker) {
				t.Errorf("%s %s (cookies %v) leaked data", method, path, cookies)
			}
			switch method {
			case "GET":
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?next=") {
					t.Errorf("anonymous %s %s = %d to %q, want 303 to the login form", method, path, resp.StatusCode, loc)
				}
			default:
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous %s %s = %d, want 401", method, path, resp.StatusCode)
				}
			}
		}
	}
	if n := f.count(); n != 0 {
		t.Errorf("anonymous requests changed something: %v", f.changes)
	}
}

// TestEveryFormRefusesWithoutCSRF posts to every form route with a valid
// session but no token, a wrong token, and another session's token.
func TestEveryFormRefusesWithoutCSRF(t *testing.T) {
	srv, f := newTestConsole(t)
	sess, token := login(t, srv, "admin-key")
	_, otherToken := login(t, srv, "admin-key")
	posts := 0
	for _, rt := range Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if method != "POST" {
			continue
		}
		posts++
		form := url.Values{"end": {"10m"}, "id": {"dlv_1"}, "partner": {"acme"}, "payload": {"{}"}}
		for name, tok := range map[string]string{"none": "", "wrong": token + "x", "another session's": otherToken} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			resp, _ := send(t, method, srv.URL+concrete(path), f, sess)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with %s token = %d, want 403", method, path, name, resp.StatusCode)
			}
		}
	}
	if posts < 8 {
		t.Fatalf("walked %d form routes, want every one (at least 8)", posts)
	}
	if n := f.count(); n != 0 {
		t.Errorf("requests without a valid CSRF token changed something: %v", f.changes)
	}
	// The same form with its token works, so the refusals above were the token's.
	resp, _ := send(t, "POST", srv.URL+"/console/vendors/acme/window/cancel", url.Values{"csrf": {token}}, sess)
	if resp.StatusCode != http.StatusSeeOther || f.count() != 1 {
		t.Fatalf("cancel with the token = %d (changes %v), want 303 and one change", resp.StatusCode, f.changes)
	}
}

func TestLoginRefusals(t *testing.T) {
	srv, _ := newTestConsole(t)
	resp, body := send(t, "GET", srv.URL+"/console/login", nil)
	tok := csrfRe.FindStringSubmatch(body)[1]
	lc := resp.Cookies()[0]
	if !lc.HttpOnly || lc.SameSite != http.SameSiteStrictMode {
		t.Errorf("login cookie = %+v, want HttpOnly and SameSite=Strict", lc)
	}
	resp, body = send(t, "POST", srv.URL+"/console/login", url.Values{"csrf": {tok}, "api_key": {"nope"}}, lc)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("wrong key = %d, want 401 saying the key is not valid", resp.StatusCode)
	}
	resp, body = send(t, "POST", srv.URL+"/console/login", url.Values{"csrf": {tok}, "api_key": {"bound-key"}}, lc)
	if resp.StatusCode != http.StatusForbidden || hasCookie(resp, sessionCookie) || !strings.Contains(body, "bound") {
		t.Errorf("a key bound to a vendor = %d (session cookie set: %v), want 403 saying why and no session", resp.StatusCode, hasCookie(resp, sessionCookie))
	}
	resp, _ = send(t, "POST", srv.URL+"/console/login", url.Values{"api_key": {"admin-key"}}, lc)
	if resp.StatusCode != http.StatusForbidden || hasCookie(resp, sessionCookie) {
		t.Errorf("login without its token = %d (session cookie set: %v), want 403 and no session", resp.StatusCode, hasCookie(resp, sessionCookie))
	}
	resp, _ = send(t, "POST", srv.URL+"/console/login", url.Values{"csrf": {tok}, "api_key": {"admin-key"}})
	if resp.StatusCode != http.StatusForbidden || hasCookie(resp, sessionCookie) {
		t.Errorf("login without the token's cookie = %d, want 403 and no session", resp.StatusCode)
	}
	resp, _ = send(t, "POST", srv.URL+"/console/login", url.Values{"csrf": {tok}, "api_key": {"admin-key"}, "next": {"//evil.example/x"}}, lc)
	if loc := resp.Header.Get("Location"); loc != "/console/orders" {
		t.Errorf("login with an outside next = redirect to %q, want /console/orders", loc)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.Secure) {
			t.Errorf("session cookie over plain HTTP = %+v, want HttpOnly, SameSite=Strict, Path=/console, not Secure", c)
		}
	}
}

func hasCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// TestSecureCookiesOverTLS: over TLS the session cookie is Secure.
func TestSecureCookiesOverTLS(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	c, err := New(Deps{Redis: rdb, Auth: testKeys{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	get := httptest.NewRequest("GET", "https://gw.example/console/login", nil)
	get.TLS = &tls.ConnectionState{}
	rec := testutil.Serve(t, c, get)
	tok := csrfRe.FindStringSubmatch(rec.Body.String())[1]
	lc := rec.Result().Cookies()[0]
	if !lc.Secure {
		t.Errorf("login cookie over TLS = %+v, want Secure", lc)
	}
	post := httptest.NewRequest("POST", "https://gw.example/console/login", strings.NewReader(url.Values{"csrf": {tok}, "api_key": {"admin-key"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.TLS = &tls.ConnectionState{}
	post.AddCookie(lc)
	rec = testutil.Serve(t, c, post)
	found := false
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == sessionCookie {
			found = true
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie over TLS = %+v, want Secure, HttpOnly, SameSite=Strict", ck)
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie after login over TLS (status %d)", rec.Code)
	}
}

// TestReadKeyCannotChange: a read-only key sees pages but every change is 403.
func TestReadKeyCannotChange(t *testing.T) {
	srv, f := newTestConsole(t)
	sess, token := login(t, srv, "read-key")
	if resp, _ := send(t, "GET", srv.URL+"/console/orders/o1", nil, sess); resp.StatusCode != 200 {
		t.Errorf("read key GET order = %d, want 200", resp.StatusCode)
	}
	for _, p := range []string{"/console/vendors/acme/window/cancel", "/console/dead-letters/replay", "/console/orders/o1/send"} {
		if resp, _ := send(t, "POST", srv.URL+p, url.Values{"csrf": {token}, "one": {"dlv_1"}}, sess); resp.StatusCode != http.StatusForbidden {
			t.Errorf("read key POST %s = %d, want 403", p, resp.StatusCode)
		}
	}
	if resp, _ := send(t, "GET", srv.URL+"/console/api-keys", nil, sess); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read key GET api-keys = %d, want 403", resp.StatusCode)
	}
	if f.count() != 0 {
		t.Errorf("a read key changed something: %v", f.changes)
	}
}

// TestLogoutEndsTheSession: after logout the old cookie is anonymous.
func TestLogoutEndsTheSession(t *testing.T) {
	srv, _ := newTestConsole(t)
	sess, token := login(t, srv, "admin-key")
	if resp, _ := send(t, "POST", srv.URL+"/console/logout", url.Values{"csrf": {token}}, sess); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d, want 303", resp.StatusCode)
	}
	if resp, _ := send(t, "GET", srv.URL+"/console/orders", nil, sess); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET after logout = %d, want 303 to login", resp.StatusCode)
	}
}

func TestPagesSecurityHeaders(t *testing.T) {
	srv, _ := newTestConsole(t)
	resp, _ := send(t, "GET", srv.URL+"/console/login", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers = CSP %q, X-Frame-Options %q; want no scripts and no framing", csp, resp.Header.Get("X-Frame-Options"))
	}
	resp, body := send(t, "GET", srv.URL+"/console/static/console.css", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "--accent") {
		t.Errorf("GET console.css = %d, want the embedded stylesheet", resp.StatusCode)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"45m", now.Add(45 * time.Minute), false},
		{"10s", now.Add(10 * time.Second), false},
		{"2026-12-02T15:00", time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), false},
		{"2026-12-02T15:00:00+01:00", time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC), false},
		{"-5m", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
	} {
		got, err := parseWhen(tc.in, now)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q) = %v, %v, want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/orders/o1":     "/console/orders/o1",
		"/console/orders?ref=x":  "/console/orders?ref=x",
		"//evil.example/console": "/console/orders",
		"https://evil.example/":  "/console/orders",
		"/v1/orders":             "/console/orders",
		"/console\\@evil":        "/console/orders",
		"":                       "/console/orders",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func (f *fakeServices) Groups() map[string]configs.GroupConfig {
	return map[string]configs.GroupConfig{"network-ops": {Vendor: "acme", Integrated: true}}
}
func (f *fakeServices) Mailboxes() []mail.MailboxStatus {
	return []mail.MailboxStatus{{Name: "ssp7", Inbox: "INBOX", Connected: true, Quarantined: 1, QuarantinedBy: map[string]int64{"no_tag": 1}}}
}
func (f *fakeServices) Quarantined(context.Context, string, int) ([]mail.QuarantinedMail, error) {
	return []mail.QuarantinedMail{{UID: 7, Reason: "no_tag", From: "a@b.example", Subject: "hello", Raw: "Subject: hello\r\n\r\nbody"}}, nil
}
func (f *fakeServices) Reprocess(context.Context, string, uint32) error {
	f.changed("reprocess")
	return nil
}

type fakeVendors struct{ *fakeServices }

func (fakeVendors) Vendors() map[string]configs.VendorConfig {
	return map[string]configs.VendorConfig{"acme": {Mapping: "equus", Transport: "http", Endpoint: "https://user:pw@acme.example/hook?token=s3cret",
		Definitions: []configs.EventDefinition{{Company: "globex", ServiceType: "move", Event: "order.submitted", Active: true}}}}
}

// TestEveryPageRenders logs in and renders every page with data, so a
// template that fails at run time fails here; the endpoint's credentials
// never reach the integrations page.
func TestEveryPageRenders(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	f := &fakeServices{}
	reg, err := mappings.NewRegistry("../../mappings", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Deps{Redis: rdb, Auth: testKeys{}, Orders: f, Dispatch: f, Mappings: reg, Integrations: fakeVendors{f},
		Mailboxes: f, Quarantine: f, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	sess, token := login(t, srv, "admin-key")
	for _, rt := range Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if method != "GET" || path == "/console" {
			continue
		}
		resp, body := send(t, method, srv.URL+concrete(path), nil, sess)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "</html>") {
			t.Errorf("GET %s = %d, want a whole page:\n%s", path, resp.StatusCode, body)
		}
		if strings.Contains(body, "s3cret") || strings.Contains(body, "pw@") {
			t.Errorf("GET %s shows an endpoint credential", path)
		}
	}
	resp, body := send(t, "POST", srv.URL+"/console/mappings/playground", url.Values{"csrf": {token}, "partner": {"nobody"}, "payload": {"{}"}}, sess)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "No mapping is running") {
		t.Errorf("playground with an unknown partner = %d, want 422 naming the problem", resp.StatusCode)
	}
	// A raw mail is read as the mail intake reads it (the new text, the
	// TaskId tag's correlation), a SOAP envelope as the SOAP service does.
	eml, err := os.ReadFile("../../mappings/ssp7/fixtures/mail-outlook-reply.input.eml")
	if err != nil {
		t.Fatal(err)
	}
	resp, body = send(t, "POST", srv.URL+"/console/mappings/playground", url.Values{"csrf": {token}, "partner": {"ssp7"}, "payload": {string(eml)}}, sess)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "REQ-102") || !strings.Contains(body, "Part ordered, arrives Friday") {
		t.Errorf("playground with an Outlook reply = %d, want the text on task REQ-102:\n%s", resp.StatusCode, body)
	}
	resp, body = send(t, "POST", srv.URL+"/console/mappings/playground", url.Values{"csrf": {token}, "partner": {"ssp7"},
		"payload": {`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ProcessInstanceTaskExternalAcknowledgement xmlns="http://tempuri.org/"><taskId>12345</taskId></ProcessInstanceTaskExternalAcknowledgement></soap:Body></soap:Envelope>`}}, sess)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "InvalidParameter") || !strings.Contains(body, "externalReference") {
		t.Errorf("playground with a call lacking a required parameter = %d, want 422 with the SOAP service's fault:\n%s", resp.StatusCode, body)
	}
	resp, _ = send(t, "POST", srv.URL+"/console/mail/ssp7/7/reprocess", url.Values{"csrf": {token}}, sess)
	if resp.StatusCode != http.StatusSeeOther || f.count() != 1 {
		t.Errorf("reprocess = %d (changes %v), want 303 and one reprocess", resp.StatusCode, f.changes)
	}
}

// TestKeysThroughTheConsole uses the /v1 key store: the admin creates a read
// key on the API keys page (its token shown once), logs in with it in a
// second session, revokes it, and that session ends at its next request.
func TestKeysThroughTheConsole(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	keys := access.NewKeys(rdb, &access.Options{AdminToken: "bootstrap-token"})
	c, err := New(Deps{Redis: rdb, Auth: keys, Keys: keys, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	admin, token := login(t, srv, "bootstrap-token")
	resp, body := send(t, "POST", srv.URL+"/console/api-keys", url.Values{"csrf": {token}, "name": {"night-shift"}, "scope": {"read"}}, admin)
	m := regexp.MustCompile(`id="new-token" class="mono wide" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create key = %d, want 201 showing the token:\n%s", resp.StatusCode, body)
	}
	if _, again := send(t, "GET", srv.URL+"/console/api-keys", nil, admin); strings.Contains(again, m[1]) {
		t.Fatal("the token is shown again after its creation")
	}
	reader, _ := login(t, srv, m[1])
	if resp, _ := send(t, "GET", srv.URL+"/console/orders", nil, reader); resp.StatusCode != http.StatusOK {
		t.Fatalf("new key's session GET orders = %d, want 200", resp.StatusCode)
	}
	ks, _ := keys.List(context.Background())
	if len(ks) != 1 {
		t.Fatalf("keys = %v, want one", ks)
	}
	if resp, _ := send(t, "POST", srv.URL+"/console/api-keys/"+ks[0].ID+"/revoke", url.Values{"csrf": {token}}, admin); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d, want 303", resp.StatusCode)
	}
	if resp, _ := send(t, "GET", srv.URL+"/console/orders", nil, reader); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("revoked key's session GET orders = %d, want 303 to login", resp.StatusCode)
	}
}
