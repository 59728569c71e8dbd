package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/access"
)

// pageNames are the templates under templates/, each parsed with layout.html.
var pageNames = []string{"login", "error", "orders", "order", "vendors", "dead_letters", "mail", "mappings", "playground", "integrations", "api_keys"}

// page is what every template receives.
type page struct {
	// Active is the navigation entry to highlight.
	Active string
	// Principal and CSRF are empty on the login page.
	Principal *access.Principal
	CSRF      string
	Flash     string
	Data      any
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return ""
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"json": func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	},
	"pretty": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
	"join": strings.Join,
	"scopes": func(ss []access.Scope) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = string(s)
		}
		return strings.Join(out, ", ")
	},
	"lower": strings.ToLower,
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "0s"
		}
		return d.Round(time.Second).String()
	},
	"eq2": func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
}

func (c *Console) parse() error {
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// render writes a page; s is nil for pages shown without a session.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, data any) {
	p := page{Active: name, Data: data}
	if s != nil {
		p.Principal, p.CSRF, p.Flash = s.Principal, s.csrf, s.flash
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.ErrorContext(r.Context(), "console: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the gateway log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is what the error page shows.
type errorView struct {
	Status  int
	Title   string
	Message string
}

// fail renders the error page with a message written for the operator.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, r, s, status, "error", errorView{Status: status, Title: http.StatusText(status), Message: msg})
}

// back redirects to the page a form came from, with a flash message.
func (c *Console) back(w http.ResponseWriter, r *http.Request, s *session, to, msg string) {
	if msg != "" {
		c.setFlash(r.Context(), s, msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
