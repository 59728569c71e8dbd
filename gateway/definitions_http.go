package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/catalog"
)

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
