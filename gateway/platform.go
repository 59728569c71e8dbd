package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/model"
)

// createOrderRequest is the body of POST /v1/orders: the order's own fields;
// id, version and timestamps are the gateway's.
type createOrderRequest struct {
	Partner       string             `json:"partner"`
	Company       string             `json:"company"`
	ServiceType   string             `json:"service_type"`
	Refs          model.Refs         `json:"refs"`
	Status        model.Status       `json:"status"`
	Flags         []model.Flag       `json:"flags"`
	PartnerStatus string             `json:"partner_status"`
	ClientStatus  string             `json:"client_status"`
	Fields        map[string]any     `json:"fields"`
	Tasks         []model.Task       `json:"tasks"`
	Attachments   []model.Attachment `json:"attachments"`
	Accepted      bool               `json:"accepted"`
}

// patchOrderRequest is the body of PATCH /v1/orders/{id}: a model.Patch plus
// the version the caller read (or an If-Match header).
type patchOrderRequest struct {
	model.Patch
	Version *int64 `json:"version,omitempty"`
}

func (g *Gateway) mountPlatform(v1 *gin.RouterGroup) {
	v1.GET("/schema", func(c *gin.Context) { c.Data(http.StatusOK, "application/schema+json", model.Schema()) })
	v1.POST("/orders", g.createOrder)
	v1.GET("/orders/:id", g.getOrder)
	v1.PATCH("/orders/:id", g.patchOrder)
	v1.GET("/orders/:id/events", g.orderEvents)
	v1.GET("/orders/:id/messages", g.orderMessages)
	v1.POST("/orders/:id/messages", g.postMessage)
}

// messageRequest is the body of POST /v1/orders/{id}/messages: an update text
// from the platform side (SSP7 "Update", direction Out).
type messageRequest struct {
	Text   string `json:"text"`
	Author string `json:"author"`
}

func (g *Gateway) postMessage(c *gin.Context) {
	var req messageRequest
	if !readJSON(c, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		WriteError(c, &model.ValidationError{Field: "text", Rule: "is required"})
		return
	}
	o, ev, err := g.d.Intake.AddMessage(c.Request.Context(), c.Param("id"), model.Message{
		Direction: model.DirectionOut, Author: req.Author, Text: req.Text, Protocol: model.ProtocolPlatform})
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusCreated, gin.H{"order_id": o.ID, "event": ev, "version": o.Version})
}

// readJSON decodes the request body strictly into v: unknown fields, trailing
// data, a wrong content type and an oversized body are answered here, and
// false is returned.
func readJSON(c *gin.Context, v any) bool {
	ct := c.ContentType()
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		WriteProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Detail: fmt.Sprintf("Content-Type must be application/json, got %q", ct)})
		return false
	}
	body, ok := readJSONBody(c, 1<<62)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		WriteProblem(c, jsonProblem(err))
		return false
	}
	if dec.More() {
		WriteProblem(c, Problem{Status: http.StatusBadRequest, Detail: "the body holds more than one JSON value"})
		return false
	}
	return true
}

func jsonProblem(err error) Problem {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: fmt.Sprintf("%v at byte %d", se, se.Offset)}
	case errors.As(err, &te):
		return Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input",
			Detail: fmt.Sprintf("%s must be a %s, got %s", te.Field, te.Type, te.Value),
			Errors: []FieldProblem{{Field: te.Field, Rule: "must be a " + te.Type.String()}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input", Detail: "unknown field " + f,
			Errors: []FieldProblem{{Field: f, Rule: "is not a field of this resource"}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "the body ends in the middle of a JSON value"}
	case errors.Is(err, io.EOF):
		return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "the body is empty"}
	}
	// Anything else the decoder says is its own wording: the client is told
	// what it can act on.
	return Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "the body is not a JSON document of this resource"}
}

func (g *Gateway) createOrder(c *gin.Context) {
	var req createOrderRequest
	if !readJSON(c, &req) {
		return
	}
	if g.d.Partners != nil {
		if known := g.d.Partners(); !slices.Contains(known, req.Partner) {
			unknownPartner(c, req.Partner, known)
			return
		}
	}
	if !g.mayCreateFor(c, req.Partner) {
		return
	}
	o := &model.Order{Partner: req.Partner, Company: req.Company, ServiceType: req.ServiceType, Refs: req.Refs,
		Status: req.Status, Flags: req.Flags, PartnerStatus: req.PartnerStatus, ClientStatus: req.ClientStatus,
		Tasks: req.Tasks, Attachments: req.Attachments}
	if len(req.Fields) > 0 {
		o.Fields = make(map[string]model.Field, len(req.Fields))
		owners := g.owners(req.Partner)
		for k, v := range req.Fields {
			o.Fields[k] = model.Field{Value: normalize(v), Owner: ownerOf(owners, k), LastWriter: model.WriterPlatform}
		}
	}
	if req.Accepted {
		// accepted: true is status accepted (one notion of acceptance).
		if o.Status.Valid() && o.Status != model.StatusNew && o.Status != model.StatusSent && o.Status != model.StatusAcknowledged {
			now := time.Now().UTC()
			o.AcceptedAt = &now
		} else {
			o.Status = model.StatusAccepted
		}
	}
	o.SyncAcceptance(time.Now().UTC())
	created, _, err := g.d.Intake.CreateOrder(c.Request.Context(), o)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Header("Location", "/v1/orders/"+created.ID)
	c.Header("ETag", etag(created.Version))
	c.JSON(http.StatusCreated, created)
}

func (g *Gateway) getOrder(c *gin.Context) {
	o, err := g.d.Store.GetOrder(c.Request.Context(), c.Param("id"))
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusOK, o)
}

func (g *Gateway) patchOrder(c *gin.Context) {
	var req patchOrderRequest
	if !readJSON(c, &req) {
		return
	}
	var version int64
	if im := c.GetHeader("If-Match"); im != "" {
		v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(im, "W/"), `"`), 10, 64)
		if err != nil {
			WriteProblem(c, Problem{Status: http.StatusBadRequest, Detail: fmt.Sprintf("If-Match must be an order version such as \"3\", got %q", im),
				Errors: []FieldProblem{{Field: "If-Match", Rule: "must be a version"}}})
			return
		}
		version = v
	}
	if req.Version != nil {
		if version != 0 && version != *req.Version {
			WriteProblem(c, Problem{Status: http.StatusBadRequest, Detail: fmt.Sprintf("If-Match %d and version %d disagree", version, *req.Version)})
			return
		}
		version = *req.Version
	}
	if version == 0 {
		WriteProblem(c, Problem{Status: http.StatusPreconditionRequired, Title: "Version required",
			Detail: "send the version you read, as If-Match or a version field, so a concurrent change is never overwritten",
			Errors: []FieldProblem{{Field: "version", Rule: "is required (or If-Match)"}}})
		return
	}
	for k, v := range req.Fields {
		req.Fields[k] = normalize(v)
	}
	updated, _, err := g.d.Intake.PatchOrderFor(c.Request.Context(), c.Param("id"), version, &req.Patch, g.owners)
	if err != nil {
		WriteError(c, err)
		return
	}
	c.Header("ETag", etag(updated.Version))
	c.JSON(http.StatusOK, updated)
}

func (g *Gateway) owners(partner string) map[string]model.Owner {
	if g.d.Owners == nil {
		return nil
	}
	return g.d.Owners(partner)
}

func ownerOf(owners map[string]model.Owner, field string) model.Owner {
	if o, ok := owners[field]; ok {
		return o
	}
	return model.OwnerShared
}

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// normalize turns json.Number into int64 or float64 so stored values have
// plain JSON types.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
