package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/access"
)

// Cookie names. The session cookie is scoped to /console; the login cookie
// (the CSRF token of the login form, before there is a session) to the login page.
const (
	sessionCookie = "sog_console"
	loginCookie   = "sog_console_login"
)

// session is a logged-in operator.
type session struct {
	id        string // the cookie value (never stored)
	Principal *access.Principal
	csrf      string
	flash     string
}

// validCSRF compares the form's token with the session's in constant time.
func (s *session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// CSRF returns the token every form of this session carries.
func (s *session) CSRF() string { return s.csrf }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// newSession stores a session for p and returns it.
func (c *Console) newSession(ctx context.Context, p *access.Principal) (*session, error) {
	s := &session{id: randomToken(), Principal: p, csrf: randomToken()}
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	key := c.k.session(hashID(s.id))
	pipe := c.d.Redis.TxPipeline()
	pipe.HSet(ctx, key, "principal", doc, "csrf", s.csrf, "created", strconv.FormatInt(c.d.Now().UnixMilli(), 10))
	pipe.PExpire(ctx, key, c.d.SessionTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// current returns the request's session, and false when there is none (no
// cookie, an unknown or expired one, or Redis unreachable).
func (c *Console) current(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, false
	}
	key := c.k.session(hashID(ck.Value))
	m, err := c.d.Redis.HGetAll(r.Context(), key).Result()
	if err != nil || len(m) == 0 {
		return nil, false
	}
	var p access.Principal
	if json.Unmarshal([]byte(m["principal"]), &p) != nil || m["csrf"] == "" {
		return nil, false
	}
	if p.KeyID != access.AdminID && c.d.Keys != nil {
		// A revoked key ends its sessions: the check /v1 makes on every request.
		if _, err := c.d.Keys.Get(r.Context(), p.KeyID); err != nil {
			if errors.Is(err, access.ErrNotFound) {
				c.d.Redis.Del(r.Context(), key)
			}
			return nil, false
		}
	}
	s := &session{id: ck.Value, Principal: &p, csrf: m["csrf"], flash: m["flash"]}
	if s.flash != "" {
		c.d.Redis.HDel(r.Context(), key, "flash")
	}
	return s, true
}

// setFlash stores a one-time message shown on the next page of the session.
func (c *Console) setFlash(ctx context.Context, s *session, msg string) {
	if err := c.d.Redis.HSet(ctx, c.k.session(hashID(s.id)), "flash", msg).Err(); err != nil {
		c.log.WarnContext(ctx, "console: flash message not stored", "err", err)
	}
}

// secure says whether cookies must be marked Secure.
func (c *Console) secure(r *http.Request) bool { return c.d.SecureCookies || r.TLS != nil }

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: int(maxAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(r)})
}

// loginView is what the login page shows.
type loginView struct {
	CSRF  string
	Next  string
	Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, ok := c.current(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	token := randomToken()
	c.setCookie(w, r, loginCookie, token, "/console/login", 30*time.Minute)
	c.render(w, r, nil, http.StatusOK, "login", loginView{CSRF: token, Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the login form's token against its cookie (double submit),
// verifies the API key and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.render(w, r, nil, http.StatusBadRequest, "login", loginView{Error: "The form could not be read.", Next: "/console"})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(loginCookie)
	got := r.PostForm.Get("csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		token := randomToken()
		c.setCookie(w, r, loginCookie, token, "/console/login", 30*time.Minute)
		c.render(w, r, nil, http.StatusForbidden, "login", loginView{CSRF: token, Next: next,
			Error: "This form is missing its security token or the token has expired. Try again."})
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	p, err := c.d.Auth.Verify(r.Context(), key)
	if err != nil || p == nil {
		status, msg := http.StatusUnauthorized, "That API key is not valid."
		if err != nil && !errors.Is(err, access.ErrUnauthenticated) {
			status, msg = http.StatusServiceUnavailable, "The key could not be checked now; try again shortly."
			c.log.ErrorContext(r.Context(), "console: login check failed", "err", err)
		} else {
			c.log.WarnContext(r.Context(), "console: login refused", "remote", r.RemoteAddr)
		}
		c.render(w, r, nil, status, "login", loginView{CSRF: ck.Value, Next: next, Error: msg})
		return
	}
	if p.Bound() {
		// /v1 narrows a bound key to its partner's or vendor's orders; the
		// console shows every order and vendor, so it refuses such keys.
		c.log.WarnContext(r.Context(), "console: login refused for a bound key", "key", p.Who())
		c.render(w, r, nil, http.StatusForbidden, "login", loginView{CSRF: ck.Value, Next: next,
			Error: "This key is bound to one partner or vendor; the console needs a key that is not bound."})
		return
	}
	s, err := c.newSession(r.Context(), p)
	if err != nil {
		c.log.ErrorContext(r.Context(), "console: session not stored", "err", err)
		c.render(w, r, nil, http.StatusServiceUnavailable, "login", loginView{CSRF: ck.Value, Next: next, Error: "The session could not be stored; try again shortly."})
		return
	}
	c.setCookie(w, r, loginCookie, "", "/console/login", -time.Second)
	c.setCookie(w, r, sessionCookie, s.id, "/console", c.d.SessionTTL)
	c.log.InfoContext(r.Context(), "console: login", "key", p.Who())
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.d.Redis.Del(r.Context(), c.k.session(hashID(s.id))).Err(); err != nil {
		c.log.WarnContext(r.Context(), "console: session not deleted", "err", err)
	}
	c.setCookie(w, r, sessionCookie, "", "/console", -time.Second)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/orders"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/console/orders"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
