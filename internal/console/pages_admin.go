package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/readers"
	"github.com/equus/sogateway/mappings"
)

// --- mappings -------------------------------------------------------------

type mappingRow struct {
	Partner string
	Status  mappings.PartnerStatus
}

func (c *Console) mappingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Mappings == nil {
		c.fail(w, r, s, http.StatusNotFound, "Mappings are not set up in this gateway.")
		return
	}
	st := c.d.Mappings.Status()
	var rows []mappingRow
	for _, p := range sortedKeys(st) {
		rows = append(rows, mappingRow{Partner: p, Status: st[p]})
	}
	c.render(w, r, s, http.StatusOK, "mappings", rows)
}

type playgroundView struct {
	Partners []string
	Partner  string
	Payload  string
	Result   string
	Error    string
	Version  string
}

// playground translates a pasted payload with the partner's live mapping, as
// `gatewayd mappings translate --explain` does; nothing is committed.
func (c *Console) playground(w http.ResponseWriter, r *http.Request, s *session) {
	if c.d.Mappings == nil {
		c.fail(w, r, s, http.StatusNotFound, "Mappings are not set up in this gateway.")
		return
	}
	v := playgroundView{Partners: c.d.Mappings.Names(), Partner: r.URL.Query().Get("partner")}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		v.Partner, v.Payload = r.PostForm.Get("partner"), r.PostForm.Get("payload")
		m := c.d.Mappings.Get(v.Partner)
		switch {
		case m == nil:
			v.Error, status = fmt.Sprintf("No mapping is running for partner %q.", v.Partner), http.StatusUnprocessableEntity
		case strings.TrimSpace(v.Payload) == "":
			v.Error, status = "Paste a payload to translate.", http.StatusUnprocessableEntity
		default:
			v.Version = m.Version()
			out, err := mappings.TranslateExplained(m, readers.Production(), []byte(v.Payload))
			if err != nil {
				// The author asked for the mapping's verdict: its own message
				// (rule and line included) is the answer, as in the CLI.
				v.Error, status = err.Error(), http.StatusUnprocessableEntity
			} else {
				v.Result = string(out)
			}
		}
	}
	c.render(w, r, s, status, "playground", v)
}

// --- integrations and keys -------------------------------------------------

type integrationsView struct {
	Vendors []integrationRow
	Groups  []groupRow
}

type groupRow struct {
	Name  string
	Group configs.GroupConfig
}

type integrationRow struct {
	Name      string
	Vendor    configs.VendorConfig
	Endpoint  string
	Available *dispatch.VendorStatus
}

func (c *Console) integrations(w http.ResponseWriter, r *http.Request, s *session) {
	var v integrationsView
	if c.d.Integrations != nil {
		gs := c.d.Integrations.Groups()
		for _, name := range sortedKeys(gs) {
			v.Groups = append(v.Groups, groupRow{Name: name, Group: gs[name]})
		}
		vs := c.d.Integrations.Vendors()
		var st map[string]dispatch.VendorStatus
		if c.d.Dispatch != nil {
			st = c.d.Dispatch.Status(r.Context())
		}
		for _, name := range sortedKeys(vs) {
			row := integrationRow{Name: name, Vendor: vs[name], Endpoint: redactURL(vs[name].Endpoint)}
			if x, ok := st[name]; ok {
				row.Available = &x
			}
			v.Vendors = append(v.Vendors, row)
		}
	}
	c.render(w, r, s, http.StatusOK, "integrations", v)
}

// redactURL keeps scheme, host and path of an endpoint: credentials and query
// strings may carry secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if raw == "" {
			return ""
		}
		return "(set)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// record logs a change made through the console and appends it to the
// audit trail /v1 writes, under the session's principal.
func (c *Console) record(r *http.Request, s *session, action, kind, key string, before, after any) {
	who := s.Principal.Who()
	c.log.InfoContext(r.Context(), "console: change", "action", action, "kind", kind, "id", key, "by", who)
	if c.d.Audit == nil {
		return
	}
	if err := c.d.Audit.Append(r.Context(), who+" via console", action, kind, key, before, after); err != nil {
		c.log.ErrorContext(r.Context(), "audit record lost", "kind", kind, "id", key, "action", action, "err", err)
	}
}

type keysView struct {
	Me    *access.Principal
	Keys  []*access.Key
	Error string
	// Created and Token show a new key's token, once.
	Created *access.Key
	Token   string
	Form    access.NewKey
}

func (c *Console) apiKeys(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderKeys(w, r, s, http.StatusOK, keysView{})
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, s *session, status int, v keysView) {
	v.Me = s.Principal
	if c.d.Keys != nil {
		ks, err := c.d.Keys.List(r.Context())
		if err != nil {
			v.Error = c.explain(r.Context(), err)
		}
		slices.SortFunc(ks, func(a, b *access.Key) int { return b.CreatedAt.Compare(a.CreatedAt) })
		v.Keys = ks
	} else if v.Error == "" {
		v.Error = "API keys are not set up in this gateway."
	}
	c.render(w, r, s, status, "api_keys", v)
}

// createKey creates an API key and shows its token on this answer only (it
// is never stored in the session or shown again).
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	n := access.NewKey{Name: strings.TrimSpace(r.PostForm.Get("name")), Partner: strings.TrimSpace(r.PostForm.Get("partner")),
		Vendor: strings.TrimSpace(r.PostForm.Get("vendor"))}
	for _, sc := range r.PostForm["scope"] {
		n.Scopes = append(n.Scopes, access.Scope(sc))
	}
	if c.d.Keys == nil {
		c.renderKeys(w, r, s, http.StatusServiceUnavailable, keysView{Form: n})
		return
	}
	k, tok, err := c.d.Keys.Create(r.Context(), n, s.Principal.Who())
	if err != nil {
		var fe *access.FieldError
		msg := c.explain(r.Context(), err)
		if errors.As(err, &fe) {
			msg = fe.Field + " " + fe.Rule
		}
		c.renderKeys(w, r, s, http.StatusUnprocessableEntity, keysView{Form: n, Error: "Key not created: " + msg})
		return
	}
	c.record(r, s, "create", "api-key", k.ID, nil, k)
	c.renderKeys(w, r, s, http.StatusCreated, keysView{Created: k, Token: tok})
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("key")
	if c.d.Keys == nil {
		c.back(w, r, s, "/console/api-keys", "API keys are not set up in this gateway.")
		return
	}
	before, err := c.d.Keys.Get(r.Context(), id)
	if err == nil {
		err = c.d.Keys.Revoke(r.Context(), id)
	}
	if errors.Is(err, access.ErrNotFound) {
		c.back(w, r, s, "/console/api-keys", "Not revoked: there is no key "+id+".")
		return
	}
	if err != nil {
		c.back(w, r, s, "/console/api-keys", "Not revoked: "+c.explain(r.Context(), err))
		return
	}
	c.record(r, s, "revoke", "api-key", id, before, nil)
	c.back(w, r, s, "/console/api-keys", "Key "+before.Name+" ("+id+") revoked; it stops working at once.")
}
