package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

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

// entry loads the catalog document of kind named by the route parameter
// param, answering the error itself when there is none.
func (g *Gateway) entry(c *gin.Context, kind catalog.Kind, param string) (*catalog.Entry, bool) {
	if !g.catalogOK(c) {
		return nil, false
	}
	e, err := g.d.Catalog.Get(c.Request.Context(), kind, c.Param(param))
	if err != nil {
		writeCatalogError(c, err, "")
		return nil, false
	}
	return e, true
}

func (g *Gateway) vendorEntry(c *gin.Context) (*catalog.Entry, bool) {
	return g.entry(c, catalog.KindVendor, "vendor")
}

// getResource answers the document of kind named by param with its ETag,
// shown by view.
func (g *Gateway) getResource(c *gin.Context, kind catalog.Kind, param string, view func(*catalog.Entry) any) {
	e, ok := g.entry(c, kind, param)
	if !ok {
		return
	}
	c.Header("ETag", etag(e.Version))
	c.JSON(http.StatusOK, view(e))
}

// deleteResource deletes the document of kind named by param at the
// If-Match version (required), audited; 204.
func (g *Gateway) deleteResource(c *gin.Context, kind catalog.Kind, param string) {
	e, ok := g.entry(c, kind, param)
	if !ok {
		return
	}
	ver, ok := requireIfMatch(c)
	if !ok {
		return
	}
	if err := g.d.Catalog.Delete(c.Request.Context(), kind, e.Name, ver); err != nil {
		writeCatalogError(c, err, "")
		return
	}
	g.audit(c, "delete", string(kind), e.Name, json.RawMessage(e.Doc), nil)
	c.Status(http.StatusNoContent)
}

func (g *Gateway) getVendor(c *gin.Context) {
	g.getResource(c, catalog.KindVendor, "vendor", func(e *catalog.Entry) any {
		return vendorView{Name: e.Name, Version: e.Version, Vendor: decodeObject(e.Doc)}
	})
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

func (g *Gateway) deleteVendor(c *gin.Context) { g.deleteResource(c, catalog.KindVendor, "vendor") }

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
