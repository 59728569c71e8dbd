package gateway

import (
	"context"
	"encoding/json"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/catalog"
)

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
	g.getResource(c, catalog.KindGroup, "group", func(e *catalog.Entry) any {
		return groupView{Name: e.Name, Version: e.Version, Group: decodeObject(e.Doc)}
	})
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

func (g *Gateway) deleteGroup(c *gin.Context) { g.deleteResource(c, catalog.KindGroup, "group") }
