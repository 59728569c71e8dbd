package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/access"
)

// API key routes (admin scope): POST /v1/api-keys shows the token once;
// GET lists the keys without secrets; DELETE revokes one.

func (g *Gateway) mountAPIKeys(v1 *gin.RouterGroup) {
	v1.POST("/api-keys", g.createAPIKey)
	v1.GET("/api-keys", g.listAPIKeys)
	v1.GET("/api-keys/:key", g.getAPIKey)
	v1.DELETE("/api-keys/:key", g.revokeAPIKey)
}

// createdKey is the answer to POST /v1/api-keys: the record and the token,
// which is never shown again.
type createdKey struct {
	*access.Key
	Token string `json:"token"`
}

func (g *Gateway) createAPIKey(c *gin.Context) {
	var req access.NewKey
	if !readJSON(c, &req) {
		return
	}
	if g.d.Access == nil {
		WriteProblem(c, Problem{Status: http.StatusServiceUnavailable, Detail: "no key store is configured"})
		return
	}
	k, tok, err := g.d.Access.Create(c.Request.Context(), req, PrincipalOf(c).Who())
	if err != nil {
		writeAccessError(c, err)
		return
	}
	g.audit(c, "create", "api-key", k.ID, nil, k)
	c.Header("Location", "/v1/api-keys/"+k.ID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createdKey{Key: k, Token: tok})
}

func (g *Gateway) listAPIKeys(c *gin.Context) {
	ks, err := g.d.Access.List(c.Request.Context())
	if err != nil {
		writeAccessError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": ks})
}

func (g *Gateway) getAPIKey(c *gin.Context) {
	k, err := g.d.Access.Get(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeAccessError(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

func (g *Gateway) revokeAPIKey(c *gin.Context) {
	k, err := g.d.Access.Get(c.Request.Context(), c.Param("key"))
	if err == nil {
		err = g.d.Access.Revoke(c.Request.Context(), c.Param("key"))
	}
	if err != nil {
		writeAccessError(c, err)
		return
	}
	g.audit(c, "delete", "api-key", k.ID, k, nil)
	c.Status(http.StatusNoContent)
}

func writeAccessError(c *gin.Context, err error) {
	var fe *access.FieldError
	switch {
	case errors.As(err, &fe):
		WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input", Detail: fe.Error(),
			Errors: []FieldProblem{{Field: fe.Field, Rule: fe.Rule}}})
	case errors.Is(err, access.ErrNotFound):
		WriteProblem(c, Problem{Status: http.StatusNotFound, Title: "Not found", Detail: "no API key has id " + c.Param("key")})
	default:
		WriteError(c, err)
	}
}
