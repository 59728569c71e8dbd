package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/equus/sogateway/internal/catalog"
)

// ExportYAML renders the live vendors and groups as the `vendors:` and
// `groups:` sections of configs/gateway.yaml (${NAME} references kept).
func ExportYAML(ctx context.Context, st *catalog.Store) ([]byte, error) {
	out := map[string]map[string]any{"vendors": {}, "groups": {}}
	for kind, sec := range map[catalog.Kind]string{catalog.KindVendor: "vendors", catalog.KindGroup: "groups"} {
		es, err := st.List(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			var v any
			if err := json.Unmarshal(e.Doc, &v); err != nil {
				return nil, fmt.Errorf("export %s %s: %w", kind, e.Name, err)
			}
			out[sec][e.Name] = v
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Integrations exported from the live gateway (gatewayd config export).\n# Credentials are named by variable (*_env, ${NAME}); no value is in here.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, sec := range []string{"vendors", "groups"} {
		names := make([]string, 0, len(out[sec]))
		for n := range out[sec] {
			names = append(names, n)
		}
		sort.Strings(names)
		node := &yaml.Node{Kind: yaml.MappingNode}
		for _, n := range names {
			var v yaml.Node
			if err := v.Encode(out[sec][n]); err != nil {
				return nil, err
			}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, &v)
		}
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: sec}, node}}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	_ = enc.Close()
	// The encoder separates documents with ---; the sections belong to one.
	return bytes.ReplaceAll(buf.Bytes(), []byte("---\n"), nil), nil
}

func (g *Gateway) exportIntegrations(c *gin.Context) {
	if !g.catalogOK(c) {
		return
	}
	b, err := ExportYAML(c.Request.Context(), g.d.Catalog)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Data(http.StatusOK, "application/yaml", b)
}

// integrationPaths describes the integrations routes for /openapi.json.
func integrationPaths() map[string]any {
	param := func(names ...string) []any {
		var out []any
		for _, n := range names {
			out = append(out, map[string]any{"name": n, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		return out
	}
	doc := "#/components/schemas/Document"
	return map[string]any{
		"/v1/vendors": map[string]any{"get": op("Every vendor (its document as in configs/gateway.yaml vendors.<name>, and its version)", "200")},
		"/v1/vendors/{vendor}": map[string]any{"parameters": param("vendor"),
			"get":    op("One vendor; ETag carries its version", "200", "404"),
			"put":    withBody(op("Create (no If-Match) or replace (If-Match: the version read) a vendor: endpoint, transport, auth variable names, permissions, definitions, disabled (availability). Validated as configs/gateway.yaml; errors name the field. Applied on every replica at once (admin)", "200", "201", "409", "412", "422"), doc),
			"delete": op("Remove a vendor (If-Match required; admin)", "204", "404", "412", "428")},
		"/v1/vendors/{vendor}/permission-set": map[string]any{"parameters": param("vendor"),
			"get": op("The vendor's permission set (service types, visible fields); ETag is the vendor's version", "200", "404"),
			"put": withBody(op("Replace the permission set (If-Match required; admin)", "200", "404", "412", "422", "428"), doc)},
		"/v1/vendors/{vendor}/definitions": map[string]any{"parameters": param("vendor"),
			"get":  op("The vendor's integrated event definitions, each with its id <company>:<service_type>:<event>", "200", "404"),
			"post": withBody(op("Add an integrated event definition {company, service_type, event, active, required_fields, block_if_missing, watch, render}; the next Save and Send uses it on every replica (admin)", "201", "404", "409", "412", "422"), doc)},
		"/v1/vendors/{vendor}/definitions/{definition}": map[string]any{"parameters": param("vendor", "definition"),
			"get":    op("One definition; ETag is the vendor's version", "200", "404"),
			"put":    withBody(op("Replace a definition (If-Match required; admin)", "200", "404", "412", "422", "428"), doc),
			"delete": op("Remove a definition (If-Match required; admin)", "204", "404", "412", "428")},
		"/v1/definitions": map[string]any{"get": withQuery(op("Every vendor's definitions; filters vendor, company, service_type, event", "200"), "vendor", "company", "service_type", "event")},
		"/v1/groups":      map[string]any{"get": op("Every integrated group (a group served by a vendor)", "200")},
		"/v1/groups/{group}": map[string]any{"parameters": param("group"),
			"get":    op("One group; ETag carries its version", "200", "404"),
			"put":    withBody(op("Create (no If-Match) or replace (If-Match) a group {vendor, integrated, description} (admin)", "200", "201", "409", "412", "422"), doc),
			"delete": op("Remove a group (If-Match required; admin)", "204", "404", "412", "428")},
		"/v1/integrations/export": map[string]any{"get": op("The live vendors and groups as the YAML sections of configs/gateway.yaml (what gatewayd config export writes)", "200")},
	}
}
