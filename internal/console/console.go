package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// KeyStore is the API key store /v1 uses; *access.Keys satisfies it.
type KeyStore interface {
	// List returns every key's record (never a secret).
	List(ctx context.Context) ([]*access.Key, error)
	// Get returns one key's record, or an error wrapping access.ErrNotFound.
	Get(ctx context.Context, id string) (*access.Key, error)
	// Create stores a new key and returns its record and its token, shown once.
	Create(ctx context.Context, n access.NewKey, by string) (*access.Key, string, error)
	// Revoke deletes a key; it stops working at once.
	Revoke(ctx context.Context, id string) error
}

var _ KeyStore = (*access.Keys)(nil)

// Auditor records who changed what; *audit.Log satisfies it.
type Auditor interface {
	Append(ctx context.Context, who, action, kind, key string, before, after any) error
}

// OrderQuery is a search of orders; empty fields do not filter.
type OrderQuery struct {
	// Ref matches an order id or any of its references (requestor, servicer).
	Ref         string
	Partner     string
	Company     string
	ServiceType string
	Status      string
	// Cursor continues a previous page ("" starts at the newest order).
	Cursor string
	// Limit caps the page; 0 means 25.
	Limit int
}

// OrderPage is one page of a search, newest first.
type OrderPage struct {
	Orders []*model.Order
	// Next continues the search; "" on the last page.
	Next string
}

// Orders is the order side of the platform API.
type Orders interface {
	// Search returns a page of the orders matching q.
	Search(ctx context.Context, q OrderQuery) (*OrderPage, error)
	// GetOrder returns an order, or an error wrapping model.ErrNotFound.
	GetOrder(ctx context.Context, id string) (*model.Order, error)
	// Events returns the order's events, oldest first.
	Events(ctx context.Context, id string) ([]*model.Event, error)
}

// Dispatch is the delivery side of the platform API; *dispatch.Service
// satisfies it.
type Dispatch interface {
	// Vendors lists the configured vendors, sorted.
	Vendors() []string
	// Status reports each vendor's availability and offline window.
	Status(ctx context.Context) map[string]dispatch.VendorStatus
	// QueueStats returns the vendor's queue figures (depth, held, dead …).
	QueueStats(ctx context.Context, vendor string) (dispatch.QueueStats, error)
	// Deliveries lists the order's deliveries with their live state.
	Deliveries(ctx context.Context, orderID string) ([]*dispatch.Delivery, error)
	// Send is Save and Send.
	Send(ctx context.Context, orderID string, opts dispatch.SendOptions) (*dispatch.SendResult, error)
	// GetWindow, PutWindow and DeleteWindow read, declare (or move) and
	// cancel the vendor's offline window.
	GetWindow(ctx context.Context, vendor string) (*dispatch.Window, error)
	PutWindow(ctx context.Context, vendor string, start, end time.Time) (*dispatch.Window, error)
	DeleteWindow(ctx context.Context, vendor string) error
	// DeadLetters lists the vendor's failed deliveries, most recent first.
	DeadLetters(ctx context.Context, vendor string, offset, limit int) ([]*dispatch.Delivery, error)
	// Replay replays one failed delivery; ReplayDead every one of a vendor.
	Replay(ctx context.Context, deliveryID string) (*dispatch.Delivery, error)
	ReplayDead(ctx context.Context, vendor string) (int, error)
}

var _ Dispatch = (*dispatch.Service)(nil)

// Mappings is the live mappings registry; *mappings.Registry satisfies it.
type Mappings interface {
	// Names lists the partners with a running mapping.
	Names() []string
	// Get returns a partner's running mapping, or nil.
	Get(partner string) *mappings.Mapping
	// Status returns each partner's running version and last reload error.
	Status() map[string]mappings.PartnerStatus
}

var _ Mappings = (*mappings.Registry)(nil)

// Integrations lists the integrations set up: vendors with their
// permission sets and integrated event definitions.
type Integrations interface {
	// Vendors returns the vendors' configuration by name (credentials are
	// named by variable, never held).
	Vendors() map[string]configs.VendorConfig
	// Groups returns the assignment groups by name; an integrated one names
	// the vendor that serves it.
	Groups() map[string]configs.GroupConfig
}

// Mailboxes lists the mail intakes and their quarantine.
type Mailboxes interface {
	// Mailboxes returns each mailbox's status, quarantine counts by reason included.
	Mailboxes() []mail.MailboxStatus
}

// Quarantine lists and reprocesses the mails a mailbox quarantined.
type Quarantine interface {
	// Quarantined lists up to limit quarantined mails of the partner's mailbox, newest first.
	Quarantined(ctx context.Context, partner string, limit int) ([]mail.QuarantinedMail, error)
	// Reprocess moves a quarantined mail back to the inbox for another attempt.
	Reprocess(ctx context.Context, partner string, uid uint32) error
}

// Deps are what the console is built from. Redis and Auth are required; a nil
// service hides the pages that need it behind a note saying it is not set up.
type Deps struct {
	// Redis holds the sessions.
	Redis redis.UniversalClient
	// Prefix starts every key; default "sog".
	Prefix string
	// Auth verifies the API key given at login: the verification /v1 runs on
	// a bearer token.
	Auth access.Verifier
	// Keys lists, creates and revokes API keys; a session whose key is
	// revoked ends at its next request. Nil hides the API keys page's list.
	Keys KeyStore
	// Audit records the changes made through the console, as /v1 does; nil
	// records nothing.
	Audit        Auditor
	Orders       Orders
	Dispatch     Dispatch
	Mappings     Mappings
	Integrations Integrations
	Mailboxes    Mailboxes
	Quarantine   Quarantine
	// SessionTTL is how long a session lasts after login; default 8h.
	SessionTTL time.Duration
	// SecureCookies marks the cookies Secure even on plain HTTP (behind a TLS
	// proxy); requests that arrive over TLS always get Secure cookies.
	SecureCookies bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives logins and failures (never keys); default slog.Default().
	Logger *slog.Logger
}

// Console is the operator console's HTTP handler; mount it at /console.
type Console struct {
	d     Deps
	k     keys
	mux   *http.ServeMux
	pages map[string]*template.Template
	log   *slog.Logger
}

// route is one protected console route: anonymous requests are refused, a
// principal without the scope gets 403, and a POST without the session's
// CSRF token gets 403.
type route struct {
	method, path string
	scope        access.Scope
	h            func(c *Console, w http.ResponseWriter, r *http.Request, s *session)
}

// routes lists every protected route (the tests walk it).
var routes = []route{
	{"GET", "/console", access.ScopeRead, (*Console).home},
	{"GET", "/console/orders", access.ScopeRead, (*Console).orders},
	{"GET", "/console/orders/{id}", access.ScopeRead, (*Console).order},
	{"POST", "/console/orders/{id}/send", access.ScopeWrite, (*Console).send},
	{"GET", "/console/vendors", access.ScopeRead, (*Console).vendors},
	{"POST", "/console/vendors/{vendor}/window", access.ScopeWrite, (*Console).putWindow},
	{"POST", "/console/vendors/{vendor}/window/shorten", access.ScopeWrite, (*Console).shortenWindow},
	{"POST", "/console/vendors/{vendor}/window/cancel", access.ScopeWrite, (*Console).cancelWindow},
	{"GET", "/console/dead-letters", access.ScopeRead, (*Console).deadLetters},
	{"POST", "/console/dead-letters/replay", access.ScopeWrite, (*Console).replay},
	{"GET", "/console/mail", access.ScopeRead, (*Console).mail},
	{"POST", "/console/mail/{partner}/{uid}/reprocess", access.ScopeWrite, (*Console).reprocess},
	{"GET", "/console/mappings", access.ScopeRead, (*Console).mappingsPage},
	{"GET", "/console/mappings/playground", access.ScopeRead, (*Console).playground},
	{"POST", "/console/mappings/playground", access.ScopeRead, (*Console).playground},
	{"GET", "/console/integrations", access.ScopeRead, (*Console).integrations},
	{"GET", "/console/api-keys", access.ScopeAdmin, (*Console).apiKeys},
	{"POST", "/console/api-keys", access.ScopeAdmin, (*Console).createKey},
	{"POST", "/console/api-keys/{key}/revoke", access.ScopeAdmin, (*Console).revokeKey},
	{"POST", "/console/logout", "", (*Console).logout},
}

// Routes returns "METHOD /path" of every route that needs a session, for
// tests that prove each one refuses anonymous requests and missing CSRF tokens.
func Routes() []string {
	out := make([]string, 0, len(routes))
	for _, rt := range routes {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// New builds the console. It fails when a template does not parse.
func New(d Deps) (*Console, error) {
	if d.Redis == nil || d.Auth == nil {
		return nil, errors.New("console: Redis and Auth are required")
	}
	if d.Prefix == "" {
		d.Prefix = "sog"
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = 8 * time.Hour
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	c := &Console{d: d, k: keys{prefix: d.Prefix}, mux: http.NewServeMux(), log: d.Logger}
	if err := c.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	c.mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /console/login", c.loginForm)
	c.mux.HandleFunc("POST /console/login", c.login)
	for _, rt := range routes {
		c.mux.Handle(rt.method+" "+rt.path, c.protect(rt))
	}
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := c.current(r); !ok {
			c.refuseAnonymous(w, r)
			return
		}
		c.fail(w, r, nil, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
	})
	return c, nil
}

// ServeHTTP serves the console with its security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// protect wraps a route with the session, scope and CSRF checks.
func (c *Console) protect(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.current(r)
		if !ok {
			c.refuseAnonymous(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, s, http.StatusBadRequest, "The form could not be read (it may be too large).")
				return
			}
			if !s.validCSRF(r.PostForm.Get("csrf")) {
				c.fail(w, r, s, http.StatusForbidden, "This form is missing its security token or the token has expired. Reload the page and try again.")
				return
			}
		}
		if rt.scope != "" && !s.Principal.Can(rt.scope) {
			c.fail(w, r, s, http.StatusForbidden, fmt.Sprintf("Your API key %q lacks the %s scope this page needs.", s.Principal.Name, string(rt.scope)))
			return
		}
		rt.h(c, w, r, s)
	})
}

// maxForm caps a form body (the playground's payload is the largest).
const maxForm = 1 << 20

// refuseAnonymous sends a page request to the login form and answers 401 to
// anything else.
func (c *Console) refuseAnonymous(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/console/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	token := randomToken()
	c.setCookie(w, r, loginCookie, token, "/console/login", 30*time.Minute)
	c.render(w, r, nil, http.StatusUnauthorized, "login", loginView{CSRF: token, Error: "Log in first: that request needs a session.", Next: "/console"})
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) {
	if r.URL.Path != "/console" {
		c.fail(w, r, s, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
		return
	}
	http.Redirect(w, r, "/console/orders", http.StatusSeeOther)
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
