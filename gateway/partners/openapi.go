package partners

import (
	"fmt"
	"regexp"
	"strings"
)

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// OpenAPIPaths describes the mounted partner routes for /openapi.json.
func (ps *Set) OpenAPIPaths() map[string]any {
	out := map[string]any{}
	t := ps.live.Load()
	for _, name := range t.names {
		p := t.byName[name]
		st := p.state.Load()
		for _, rt := range p.spec.Routes {
			method := strings.ToLower(rt.Method)
			if method == "" {
				method = "post"
			}
			if method == "get" || method == "head" {
				continue
			}
			path := ginParam.ReplaceAllString("/partners/"+name+rt.Path, "{$1}")
			var params []any
			for _, m := range ginParam.FindAllStringSubmatch(rt.Path, -1) {
				params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			a := p.spec.Auth
			authDoc := "none declared (partner disabled)"
			if a != nil {
				authDoc = a.Kind
				switch {
				case a.Header != "":
					authDoc += " in header " + a.Header
					params = append(params, map[string]any{"name": a.Header, "in": "header", "required": true, "schema": map[string]any{"type": "string"}})
				case a.Query != "":
					authDoc += " in query parameter " + a.Query
					params = append(params, map[string]any{"name": a.Query, "in": "query", "required": true, "schema": map[string]any{"type": "string"}})
				case a.SignatureField != "":
					authDoc += " signature in body member " + a.SignatureField
				}
			}
			content := map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
			if rt.FormField != "" {
				form := map[string]any{"schema": map[string]any{"type": "object", "required": []string{rt.FormField},
					"properties": map[string]any{rt.FormField: map[string]any{"type": "string", "description": "the JSON document"}}}}
				content["application/x-www-form-urlencoded"] = form
				content["multipart/form-data"] = form
			}
			var responses map[string]any
			if p.resp != nil {
				responses = openAPIResponses(p.resp.codes())
			}
			desc := fmt.Sprintf("Partner %s, route %s; message kinds: %s. Auth: %s. Answers: %s.",
				name, rt.Name, strings.Join(rt.Kinds, ", "), authDoc, p.responder)
			if !st.enabled {
				desc += " Disabled: " + st.reason + " (answers 404)."
			}
			item := map[string]any{
				"summary":             p.spec.Description,
				"description":         desc,
				"tags":                []string{"partner:" + name},
				"requestBody":         map[string]any{"required": true, "content": content},
				"responses":           responses,
				"x-partner-enabled":   st.enabled,
				"x-partner-responder": p.responder,
			}
			if len(params) > 0 {
				item["parameters"] = params
			}
			pi, _ := out[path].(map[string]any)
			if pi == nil {
				pi = map[string]any{}
				out[path] = pi
			}
			pi[method] = item
		}
	}
	return out
}
