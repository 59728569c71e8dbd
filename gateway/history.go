package gateway

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
)

// defaultPage is how many history entries a listing returns without ?limit.
const defaultPage = 100

// pageParams reads ?limit and ?cursor of a history listing; false when the
// limit is not a number (answered here).
func pageParams(c *gin.Context) (cursor string, limit int, ok bool) {
	limit = defaultPage
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			WriteError(c, &model.ValidationError{Field: "limit", Rule: "must be a number from 1 to " + strconv.Itoa(store.MaxPage)})
			return "", 0, false
		}
		limit = n
	}
	return c.Query("cursor"), limit, true
}

// orderEvents answers GET /v1/orders/{id}/events: one page of the order's
// events, oldest first, with next_cursor when there are more.
func (g *Gateway) orderEvents(c *gin.Context) {
	cursor, limit, ok := pageParams(c)
	if !ok {
		return
	}
	evs, next, err := g.d.Store.EventsPage(c.Request.Context(), c.Param("id"), cursor, limit)
	if err != nil {
		WriteError(c, err)
		return
	}
	body := gin.H{"order_id": c.Param("id"), "events": evs}
	if next != "" {
		body["next_cursor"] = next
	}
	c.JSON(http.StatusOK, body)
}

// orderMessages answers GET /v1/orders/{id}/messages: one page of the order's
// messages, oldest first, with next_cursor when there are more.
func (g *Gateway) orderMessages(c *gin.Context) {
	cursor, limit, ok := pageParams(c)
	if !ok {
		return
	}
	msgs, next, err := g.d.Store.MessagesPage(c.Request.Context(), c.Param("id"), cursor, limit)
	if err != nil {
		WriteError(c, err)
		return
	}
	body := gin.H{"order_id": c.Param("id"), "messages": msgs}
	if next != "" {
		body["next_cursor"] = next
	}
	c.JSON(http.StatusOK, body)
}

// pageQuery are the OpenAPI parameters of a history listing.
var pageQuery = []any{
	map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": store.MaxPage, "default": defaultPage}},
	map[string]any{"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": map[string]any{"type": "string"}},
}

// pageOp describes a history listing answering the schema definition def.
func pageOp(summary, def string) map[string]any {
	o := op(summary, "200", "404", "422")
	o["parameters"] = pageQuery
	o["responses"].(map[string]any)["200"] = map[string]any{"description": "OK",
		"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "/v1/schema#/$defs/" + def}}}}
	return o
}
