package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/catalog"
)

// Integrations as data (issue 15, docs/integrations.md): vendors with their
// permission set and integrated event definitions, and integrated groups, are
// catalog documents edited through /v1 with ETag / If-Match, validated by the
// same rules as configs/gateway.yaml (errors name the field), recorded in the
// audit trail, and applied on every replica at once (catalog.Watch).

func (g *Gateway) mountIntegrations(v1 *gin.RouterGroup) {
	v1.GET("/vendors", g.listVendors)
	v1.GET("/vendors/:vendor", g.getVendor)
	v1.PUT("/vendors/:vendor", g.putVendor)
	v1.DELETE("/vendors/:vendor", g.deleteVendor)
	v1.GET("/vendors/:vendor/permission-set", g.getPermissionSet)
	v1.PUT("/vendors/:vendor/permission-set", g.putPermissionSet)
	v1.GET("/vendors/:vendor/definitions", g.listVendorDefinitions)
	v1.POST("/vendors/:vendor/definitions", g.addDefinition)
	v1.GET("/vendors/:vendor/definitions/:definition", g.getDefinition)
	v1.PUT("/vendors/:vendor/definitions/:definition", g.putDefinition)
	v1.DELETE("/vendors/:vendor/definitions/:definition", g.deleteDefinition)
	v1.GET("/definitions", g.listDefinitions)
	v1.GET("/groups", g.listGroups)
	v1.GET("/groups/:group", g.getGroup)
	v1.PUT("/groups/:group", g.putGroup)
	v1.DELETE("/groups/:group", g.deleteGroup)
	v1.GET("/integrations/export", g.exportIntegrations)
}

// Catalog returns the integrations catalog (nil when none is configured).
func (g *Gateway) Catalog() *catalog.Store { return g.d.Catalog }

// catalogOK answers 503 and returns false when no catalog is configured.
func (g *Gateway) catalogOK(c *gin.Context) bool {
	if g.d.Catalog == nil {
		WriteProblem(c, Problem{Status: http.StatusServiceUnavailable, Detail: "integrations are not stored as data in this gateway"})
		return false
	}
	return true
}

// docObject is a stored document as a JSON object.
type docObject = map[string]any

func decodeObject(raw []byte) docObject {
	m := docObject{}
	_ = json.Unmarshal(raw, &m)
	return m
}

// readObject reads a JSON object body.
func readObject(c *gin.Context) (docObject, bool) {
	var raw json.RawMessage
	if !readJSON(c, &raw) {
		return nil, false
	}
	m := docObject{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input", Detail: "the body must be a JSON object"})
		return nil, false
	}
	return m, true
}

// ifMatch reads If-Match: the version the caller read. ok false means it was
// malformed (answered here); present false means there was none.
func ifMatch(c *gin.Context) (v int64, present, ok bool) {
	im := c.GetHeader("If-Match")
	if im == "" {
		return 0, false, true
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(im, "W/"), `"`), 10, 64)
	if err != nil || n < 1 {
		WriteProblem(c, Problem{Status: http.StatusBadRequest, Detail: fmt.Sprintf("If-Match must be a version such as \"3\", got %q", im),
			Errors: []FieldProblem{{Field: "If-Match", Rule: "must be a version"}}})
		return 0, false, false
	}
	return n, true, true
}

// requireIfMatch is ifMatch where a change of an existing document needs it (428 otherwise).
func requireIfMatch(c *gin.Context) (int64, bool) {
	v, present, ok := ifMatch(c)
	if !ok {
		return 0, false
	}
	if !present {
		WriteProblem(c, Problem{Status: http.StatusPreconditionRequired, Title: "Version required",
			Detail: "send the ETag you read as If-Match, so a concurrent change is never overwritten",
			Errors: []FieldProblem{{Field: "If-Match", Rule: "is required"}}})
		return 0, false
	}
	return v, true
}

// writeCatalogError renders catalog and validation errors.
func writeCatalogError(c *gin.Context, err error, strip string) {
	var ve *catalog.VersionError
	switch {
	case errors.As(err, &ve):
		c.Header("ETag", etag(ve.Current))
		WriteProblem(c, Problem{Status: http.StatusPreconditionFailed, Title: "Version conflict",
			Detail: fmt.Sprintf("the resource is at version %d; read it again and retry with that If-Match", ve.Current)})
	case errors.Is(err, catalog.ErrExists):
		WriteProblem(c, Problem{Status: http.StatusConflict, Title: "Conflict", Detail: "it exists already; change it with PUT and If-Match"})
	case errors.Is(err, catalog.ErrNotFound):
		WriteProblem(c, Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "no such " + c.FullPath()[strings.LastIndexByte(c.FullPath(), ':')+1:] + " " + lastParam(c)})
	case len(configs.FieldErrors(err)) > 0:
		p := Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input"}
		var details []string
		for _, fe := range configs.FieldErrors(err) {
			f := strings.TrimPrefix(strings.TrimPrefix(fe.Key, strip), ".")
			if f == "" {
				f = "(body)"
			}
			p.Errors = append(p.Errors, FieldProblem{Field: f, Rule: fe.Rule})
			details = append(details, f+": "+fe.Rule)
		}
		p.Detail = strings.Join(details, "; ")
		WriteProblem(c, p)
	default:
		WriteError(c, err)
	}
}

func lastParam(c *gin.Context) string {
	if len(c.Params) == 0 {
		return ""
	}
	return c.Params[len(c.Params)-1].Value
}

// validateVendor checks a vendor document as configs/gateway.yaml would.
func (g *Gateway) validateVendor(name string, doc docObject) error {
	if !vendorName(name) {
		return &configs.ConfigError{Key: "vendors." + name, Rule: "vendor names must match [a-z0-9_-]{1,64}", Value: name}
	}
	b, _ := json.Marshal(doc)
	_, _, err := configs.ResolveVendor(name, b, os.LookupEnv, &g.d.Config.Dispatch)
	return err
}

func vendorName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// vendorView is a vendor as GET answers it.
type vendorView struct {
	Name    string    `json:"name"`
	Version int64     `json:"version"`
	Vendor  docObject `json:"vendor"`
}

func (g *Gateway) listVendors(c *gin.Context) {
	listCatalog(g, c, catalog.KindVendor, "vendors", func(e catalog.Entry) vendorView {
		return vendorView{Name: e.Name, Version: e.Version, Vendor: decodeObject(e.Doc)}
	})
}

// listCatalog answers GET of every document of kind as {plural: [view(entry)…]}.
func listCatalog[V any](g *Gateway, c *gin.Context, kind catalog.Kind, plural string, view func(catalog.Entry) V) {
	if !g.catalogOK(c) {
		return
	}
	es, err := g.d.Catalog.List(c.Request.Context(), kind)
	if err != nil {
		WriteError(c, err)
		return
	}
	out := make([]V, 0, len(es))
	for _, e := range es {
		out = append(out, view(e))
	}
	c.JSON(http.StatusOK, gin.H{plural: out})
}

func (g *Gateway) vendorEntry(c *gin.Context) (*catalog.Entry, bool) {
	if !g.catalogOK(c) {
		return nil, false
	}
	e, err := g.d.Catalog.Get(c.Request.Context(), catalog.KindVendor, c.Param("vendor"))
	if err != nil {
		writeCatalogError(c, err, "")
		return nil, false
	}
	return e, true
}

func (g *Gateway) getVendor(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, vendorView{Name: e.Name, Version: e.Version, Vendor: decodeObject(e.Doc)})
}

// putDoc stores doc as kind/name under the If-Match rules: with If-Match the
// document must be at that version; without it, it must not exist yet.
func (g *Gateway) putDoc(c *gin.Context, kind catalog.Kind, name string, doc docObject, before *catalog.Entry, ver int64) (*catalog.Entry, bool) {
	b, err := json.Marshal(doc)
	if err != nil {
		WriteError(c, err)
		return nil, false
	}
	e, err := g.d.Catalog.Put(c.Request.Context(), kind, name, b, ver)
	if err != nil {
		writeCatalogError(c, err, "")
		return nil, false
	}
	action := "update"
	var prev any
	if before != nil {
		prev = json.RawMessage(before.Doc)
	} else if ver == 0 {
		action = "create"
	}
	g.audit(c, action, string(kind), name, prev, json.RawMessage(b))
	return e, true
}

func (g *Gateway) putVendor(c *gin.Context) {
	name := c.Param("vendor")
	g.putResource(c, catalog.KindVendor, name, "/v1/vendors/", func(doc docObject) error { return g.validateVendor(name, doc) },
		"vendors."+name, func(v int64, doc docObject) any { return vendorView{Name: name, Version: v, Vendor: doc} })
}

// putResource creates (no If-Match: 201) or replaces (If-Match: 200) the
// document kind/name after validate accepts it, answering with view.
func (g *Gateway) putResource(c *gin.Context, kind catalog.Kind, name, location string, validate func(docObject) error, strip string, view func(int64, docObject) any) {
	if !g.catalogOK(c) {
		return
	}
	ver, present, ok := ifMatch(c)
	if !ok {
		return
	}
	doc, ok := readObject(c)
	if !ok {
		return
	}
	if err := validate(doc); err != nil {
		writeCatalogError(c, err, strip)
		return
	}
	var before *catalog.Entry
	if present {
		before, _ = g.d.Catalog.Get(c.Request.Context(), kind, name)
	}
	e, ok := g.putDoc(c, kind, name, doc, before, ver)
	if !ok {
		return
	}
	status := http.StatusOK
	if !present {
		status = http.StatusCreated
		c.Header("Location", location+name)
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(status, view(e.Version, doc))
}

func (g *Gateway) deleteVendor(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	ver, ok := requireIfMatch(c)
	if !ok {
		return
	}
	if err := g.d.Catalog.Delete(c.Request.Context(), catalog.KindVendor, e.Name, ver); err != nil {
		writeCatalogError(c, err, "")
		return
	}
	g.audit(c, "delete", string(catalog.KindVendor), e.Name, json.RawMessage(e.Doc), nil)
	c.Status(http.StatusNoContent)
}

func (g *Gateway) getPermissionSet(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	ps, _ := decodeObject(e.Doc)["permissions"].(map[string]any)
	if ps == nil {
		ps = map[string]any{}
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, gin.H{"vendor": e.Name, "version": e.Version, "permission_set": ps})
}

func (g *Gateway) putPermissionSet(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	ver, ok := requireIfMatch(c)
	if !ok {
		return
	}
	ps, ok := readObject(c)
	if !ok {
		return
	}
	doc := decodeObject(e.Doc)
	doc["permissions"] = ps
	if err := g.validateVendor(e.Name, doc); err != nil {
		writeCatalogError(c, err, "vendors."+e.Name+".permissions")
		return
	}
	ne, ok := g.putDoc(c, catalog.KindVendor, e.Name, doc, e, ver)
	if !ok {
		return
	}
	c.Header("ETag", etag(ne.Version))
	c.JSON(http.StatusOK, gin.H{"vendor": e.Name, "version": ne.Version, "permission_set": ps})
}

// definitionView is one integrated event definition with its id
// (<company>:<service_type>:<event>) and its vendor's version (the ETag).
type definitionView struct {
	ID         string    `json:"id"`
	Vendor     string    `json:"vendor"`
	Version    int64     `json:"version"`
	Definition docObject `json:"definition"`
}

// definitionID names a definition by what makes it unique in its vendor.
func definitionID(d map[string]any) string {
	ev := fmt.Sprint(d["event"])
	if ev == configs.EventUpdateValues {
		ev = "order.updated"
	}
	return fmt.Sprint(d["company"]) + ":" + fmt.Sprint(d["service_type"]) + ":" + ev
}

func definitionsOf(doc docObject) []map[string]any {
	raw, _ := doc["definitions"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func setDefinitions(doc docObject, defs []map[string]any) {
	out := make([]any, len(defs))
	for i, d := range defs {
		out[i] = d
	}
	doc["definitions"] = out
}

func (g *Gateway) listVendorDefinitions(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	out := []definitionView{}
	for _, d := range definitionsOf(decodeObject(e.Doc)) {
		out = append(out, definitionView{ID: definitionID(d), Vendor: e.Name, Version: e.Version, Definition: d})
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, gin.H{"vendor": e.Name, "version": e.Version, "definitions": out})
}

func (g *Gateway) listDefinitions(c *gin.Context) {
	if !g.catalogOK(c) {
		return
	}
	es, err := g.d.Catalog.List(c.Request.Context(), catalog.KindVendor)
	if err != nil {
		WriteError(c, err)
		return
	}
	out := []definitionView{}
	for _, e := range es {
		if v := c.Query("vendor"); v != "" && v != e.Name {
			continue
		}
		for _, d := range definitionsOf(decodeObject(e.Doc)) {
			if !matches(c, d, "company", "service_type", "event") {
				continue
			}
			out = append(out, definitionView{ID: definitionID(d), Vendor: e.Name, Version: e.Version, Definition: d})
		}
	}
	c.JSON(http.StatusOK, gin.H{"definitions": out})
}

func matches(c *gin.Context, d map[string]any, names ...string) bool {
	for _, n := range names {
		if q := c.Query(n); q != "" && fmt.Sprint(d[n]) != q {
			return false
		}
	}
	return true
}

// changeDefinitions applies change to the vendor's definitions, validates
// the whole vendor, and stores it at the version read (If-Match, or the
// version just read for an addition, retried when another change won).
func (g *Gateway) changeDefinitions(c *gin.Context, needIfMatch bool, change func(defs []map[string]any) ([]map[string]any, int, error)) (*catalog.Entry, []map[string]any, int, bool) {
	var ver int64
	if needIfMatch {
		v, ok := requireIfMatch(c)
		if !ok {
			return nil, nil, 0, false
		}
		ver = v
	} else if v, present, ok := ifMatch(c); !ok {
		return nil, nil, 0, false
	} else if present {
		ver = v
	}
	for attempt := 0; attempt < 5; attempt++ {
		e, ok := g.vendorEntry(c)
		if !ok {
			return nil, nil, 0, false
		}
		want := ver
		if want == 0 {
			want = e.Version
		}
		doc := decodeObject(e.Doc)
		defs, idx, err := change(definitionsOf(doc))
		if err != nil {
			writeCatalogError(c, err, "")
			return nil, nil, 0, false
		}
		setDefinitions(doc, defs)
		if err := g.validateVendor(e.Name, doc); err != nil {
			strip := "vendors." + e.Name
			if idx >= 0 {
				strip = fmt.Sprintf("vendors.%s.definitions[%d]", e.Name, idx)
			}
			writeCatalogError(c, err, strip)
			return nil, nil, 0, false
		}
		b, _ := json.Marshal(doc)
		ne, err := g.d.Catalog.Put(c.Request.Context(), catalog.KindVendor, e.Name, b, want)
		if errors.Is(err, catalog.ErrVersion) && ver == 0 {
			continue // an addition without If-Match: re-read and apply again
		}
		if err != nil {
			writeCatalogError(c, err, "")
			return nil, nil, 0, false
		}
		return ne, defs, idx, true
	}
	WriteProblem(c, Problem{Status: http.StatusConflict, Detail: "the vendor kept changing; try again"})
	return nil, nil, 0, false
}

func (g *Gateway) addDefinition(c *gin.Context) {
	d, ok := readObject(c)
	if !ok {
		return
	}
	id := definitionID(d)
	e, defs, idx, ok := g.changeDefinitions(c, false, func(defs []map[string]any) ([]map[string]any, int, error) {
		for _, x := range defs {
			if definitionID(x) == id {
				return nil, 0, fmt.Errorf("definition %s: %w", id, catalog.ErrExists)
			}
		}
		return append(defs, d), len(defs), nil
	})
	if !ok {
		return
	}
	g.audit(c, "create", "definition", e.Name+"/"+id, nil, defs[idx])
	c.Header("ETag", etag(e.Version))
	c.Header("Location", "/v1/vendors/"+e.Name+"/definitions/"+id)
	c.JSON(http.StatusCreated, definitionView{ID: id, Vendor: e.Name, Version: e.Version, Definition: defs[idx]})
}

func findDefinition(defs []map[string]any, id string) int {
	for i, x := range defs {
		if definitionID(x) == id {
			return i
		}
	}
	return -1
}

func (g *Gateway) getDefinition(c *gin.Context) {
	e, ok := g.vendorEntry(c)
	if !ok {
		return
	}
	defs := definitionsOf(decodeObject(e.Doc))
	i := findDefinition(defs, c.Param("definition"))
	if i < 0 {
		writeCatalogError(c, catalog.ErrNotFound, "")
		return
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, definitionView{ID: c.Param("definition"), Vendor: e.Name, Version: e.Version, Definition: defs[i]})
}

func (g *Gateway) putDefinition(c *gin.Context) {
	d, ok := readObject(c)
	if !ok {
		return
	}
	id := c.Param("definition")
	var before map[string]any
	e, defs, idx, ok := g.changeDefinitions(c, true, func(defs []map[string]any) ([]map[string]any, int, error) {
		i := findDefinition(defs, id)
		if i < 0 {
			return nil, 0, fmt.Errorf("definition %s: %w", id, catalog.ErrNotFound)
		}
		if definitionID(d) != id {
			return nil, 0, &configs.ConfigError{Key: "event", Rule: "company, service_type and event make the id " + id + "; create another definition to change them", Value: definitionID(d)}
		}
		before = defs[i]
		defs[i] = d
		return defs, i, nil
	})
	if !ok {
		return
	}
	g.audit(c, "update", "definition", e.Name+"/"+id, before, defs[idx])
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, definitionView{ID: id, Vendor: e.Name, Version: e.Version, Definition: defs[idx]})
}

func (g *Gateway) deleteDefinition(c *gin.Context) {
	id := c.Param("definition")
	var before map[string]any
	e, _, _, ok := g.changeDefinitions(c, true, func(defs []map[string]any) ([]map[string]any, int, error) {
		i := findDefinition(defs, id)
		if i < 0 {
			return nil, 0, fmt.Errorf("definition %s: %w", id, catalog.ErrNotFound)
		}
		before = defs[i]
		return append(defs[:i:i], defs[i+1:]...), -1, nil
	})
	if !ok {
		return
	}
	g.audit(c, "delete", "definition", e.Name+"/"+id, before, nil)
	c.Header("ETag", etag(e.Version))
	c.Status(http.StatusNoContent)
}

// groupView is a group as GET answers it.
type groupView struct {
	Name    string    `json:"name"`
	Version int64     `json:"version"`
	Group   docObject `json:"group"`
}

func (g *Gateway) listGroups(c *gin.Context) {
	listCatalog(g, c, catalog.KindGroup, "groups", func(e catalog.Entry) groupView {
		return groupView{Name: e.Name, Version: e.Version, Group: decodeObject(e.Doc)}
	})
}

func (g *Gateway) getGroup(c *gin.Context) {
	if !g.catalogOK(c) {
		return
	}
	e, err := g.d.Catalog.Get(c.Request.Context(), catalog.KindGroup, c.Param("group"))
	if err != nil {
		writeCatalogError(c, err, "")
		return
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, groupView{Name: e.Name, Version: e.Version, Group: decodeObject(e.Doc)})
}

// liveVendors resolves the stored vendors, for checking a group's vendor.
func (g *Gateway) liveVendors(ctx context.Context) map[string]configs.VendorConfig {
	out := map[string]configs.VendorConfig{}
	es, err := g.d.Catalog.List(ctx, catalog.KindVendor)
	if err != nil {
		return out
	}
	for _, e := range es {
		if v, _, err := configs.ResolveVendor(e.Name, e.Doc, os.LookupEnv, nil); err == nil {
			out[e.Name] = v
		}
	}
	return out
}

func (g *Gateway) putGroup(c *gin.Context) {
	name := c.Param("group")
	g.putResource(c, catalog.KindGroup, name, "/v1/groups/", func(doc docObject) error {
		b, _ := json.Marshal(doc)
		_, err := configs.ResolveGroup(name, b, g.liveVendors(c.Request.Context()))
		return err
	}, "groups."+name, func(v int64, doc docObject) any { return groupView{Name: name, Version: v, Group: doc} })
}

func (g *Gateway) deleteGroup(c *gin.Context) {
	if !g.catalogOK(c) {
		return
	}
	e, err := g.d.Catalog.Get(c.Request.Context(), catalog.KindGroup, c.Param("group"))
	if err != nil {
		writeCatalogError(c, err, "")
		return
	}
	ver, ok := requireIfMatch(c)
	if !ok {
		return
	}
	if err := g.d.Catalog.Delete(c.Request.Context(), catalog.KindGroup, e.Name, ver); err != nil {
		writeCatalogError(c, err, "")
		return
	}
	g.audit(c, "delete", string(catalog.KindGroup), e.Name, json.RawMessage(e.Doc), nil)
	c.Status(http.StatusNoContent)
}

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
