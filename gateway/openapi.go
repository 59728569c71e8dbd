package gateway

import (
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
		},
		"/v1/orders/{id}": map[string]any{
			"parameters": idParam,
			"get":        op("Read an order; ETag carries its version", "200", "404"),
			"patch": withBody(op("Change an order; If-Match or a version field is required, a stale one answers 412", "200", "404", "412", "422", "428"),
				"/v1/schema#/$defs/Patch"),
		},
		"/v1/orders/{id}/events": map[string]any{"parameters": idParam, "get": op("The order's canonical events, oldest first", "200", "404")},
		"/v1/orders/{id}/messages": map[string]any{"parameters": idParam, "post": withBody(op("Add an update text from the platform (event order.message, direction out); dispatched to vendors whose definitions ask for messages", "201", "404", "409", "422"),
			"#/components/schemas/Message")},
	}
}

func (g *Gateway) openAPI(c *gin.Context) {
	paths := basePaths()
	g.mu.RLock()
	for k, v := range g.openapi {
		paths[k] = v
	}
	g.mu.RUnlock()
	c.JSON(http.StatusOK, map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Service-order integration gateway", "version": "1",
			"description": "Platform API (/v1), partner endpoints (/partners/...), SOAP (WorkflowService.asmx) and operations. Errors are RFC 9457 problem+json."},
		"paths": paths,
	})
}
