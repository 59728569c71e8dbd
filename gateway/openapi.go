package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

func op(summary string, responses ...string) map[string]any {
	rs := map[string]any{}
	for _, r := range responses {
		desc := http.StatusText(atoi(r))
		rs[r] = map[string]any{"description": desc}
	}
	return map[string]any{"summary": summary, "responses": rs}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func withBody(o map[string]any, ref string) map[string]any {
	o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": ref}}}}
	return o
}

var keyParam = []any{map[string]any{"name": "key", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}

// withQuery adds optional string query parameters to an operation.
func withQuery(o map[string]any, names ...string) map[string]any {
	ps, _ := o["parameters"].([]any)
	for _, n := range names {
		ps = append(ps, map[string]any{"name": n, "in": "query", "schema": map[string]any{"type": "string"}})
	}
	o["parameters"] = ps
	return o
}

// secure returns a copy of paths in which every operation under /v1 needs
// the bearer credential (the originals are shared, so they are not changed).
func secure(in map[string]any) map[string]any {
	var paths map[string]any
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &paths)
	for p, item := range paths {
		if !isV1(p) {
			continue
		}
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		for method, o := range m {
			if method == "parameters" {
				continue
			}
			if op, ok := o.(map[string]any); ok {
				if _, set := op["security"]; !set {
					op["security"] = []any{map[string]any{"bearer": []any{}}}
				}
				if rs, ok := op["responses"].(map[string]any); ok {
					for _, code := range []string{"401", "403"} {
						if _, has := rs[code]; !has {
							rs[code] = map[string]any{"description": http.StatusText(atoi(code))}
						}
					}
				}
			}
		}
	}
	return paths
}

var idParam = []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}}

// basePaths describes the operations and platform endpoints the gateway
// always serves; partner, SOAP and dispatch routes are added by their owners.
func basePaths() map[string]any {
	return map[string]any{
		"/healthz":      map[string]any{"get": op("Process is alive", "200")},
		"/readyz":       map[string]any{"get": op("Redis, mappings, partners and mailboxes are ready; each check with its detail", "200", "503")},
		"/metrics":      map[string]any{"get": op("Prometheus metrics", "200")},
		"/openapi.json": map[string]any{"get": op("This document", "200")},
		"/v1/schema":    map[string]any{"get": op("JSON Schema of the canonical model", "200")},
		"/v1/orders": map[string]any{
			"post": withBody(op("Create an order (version 1, event order.created)", "201", "415", "422", "409"), "/v1/schema#/$defs/Order"),
			"get": withQuery(op("Find orders, most recently updated first: filters partner, company, service_type, status, ref (requestor or servicer), updated_since (RFC 3339); limit (1..500, default 50) and cursor (the previous page's next). A bound key finds its partner's orders only", "200", "403", "422"),
				"partner", "company", "service_type", "status", "ref", "updated_since", "limit", "cursor"),
		},
		"/v1/orders/{id}": map[string]any{
			"parameters": idParam,
			"get":        op("Read an order; ETag carries its version", "200", "404"),
			"patch": withBody(op("Change an order; If-Match or a version field is required, a stale one answers 412", "200", "404", "412", "422", "428"),
				"/v1/schema#/$defs/Patch"),
		},
		"/v1/api-keys": map[string]any{
			"post": withBody(op(`Create an API key {"name","scopes":["read"|"write"|"admin"],"partner"|"vendor"}; the token is in this answer only (admin)`, "201", "401", "403", "422"), "#/components/schemas/NewKey"),
			"get":  op("List API keys without their secrets (admin)", "200", "401", "403"),
		},
		"/v1/api-keys/{key}": map[string]any{"parameters": keyParam,
			"get":    op("One API key without its secret (admin)", "200", "401", "403", "404"),
			"delete": op("Revoke an API key; it stops working at once on every replica (admin)", "204", "401", "403", "404"),
		},
		"/v1/audit": map[string]any{"get": withQuery(op("Changes made through the API, newest first: who, when, action, kind, id, before, after (admin); filters kind, id; cursor, limit", "200", "401", "403", "422"),
			"kind", "id", "cursor", "limit")},
		"/v1/orders/{id}/events": map[string]any{"parameters": idParam, "get": pageOp("One page of the order's canonical events, oldest first (limit, cursor)", "EventPage")},
		"/v1/orders/{id}/messages": map[string]any{"parameters": idParam, "get": pageOp("One page of the order's messages, oldest first (limit, cursor)", "MessagePage"), "post": withBody(op("Add an update text from the platform (event order.message, direction out); dispatched to vendors whose definitions ask for messages", "201", "404", "409", "422"),
			"#/components/schemas/Message")},
	}
}

func (g *Gateway) openAPI(c *gin.Context) {
	paths := basePaths()
	for k, v := range integrationPaths() {
		paths[k] = v
	}
	g.mu.RLock()
	for k, v := range g.openapi {
		paths[k] = v
	}
	g.mu.RUnlock()
	paths = secure(paths)
	c.JSON(http.StatusOK, map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Service-order integration gateway", "version": "1",
			"description": "Platform API (/v1), partner endpoints (/partners/...), SOAP (WorkflowService.asmx) and operations. Errors are RFC 9457 problem+json."},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "GATEWAY_ADMIN_TOKEN (or the generated token file of the embedded default) or an API key from POST /v1/api-keys. Every /v1 route needs it; /healthz, /readyz, /metrics and /openapi.json are open and carry no secret."},
			"vendorApiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "the vendor's pull key"},
		}},
	})
}
