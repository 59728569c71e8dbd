// Package console is the operator console at /console: server-rendered
// html/template pages with their assets embedded by go:embed (no CDN, no
// JavaScript), logged into with an API key. A session lives in Redis behind an
// HttpOnly, SameSite=Strict cookie, and every form carries a CSRF token.
//
// The console holds no data of its own and adds no second path to it: every
// page calls the same services the /v1 platform API calls (the order store,
// the dispatch service, the mappings registry, the mail intakes), through the
// small interfaces in Deps.
package console
