package gateway

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/model"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldProblem `json:"errors,omitempty"`
	// Extra members (RFC 9457 extensions) such as the maintenance notice.
	Extra map[string]any `json:"-"`
}

// FieldProblem names one field and the rule it broke.
type FieldProblem struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

// WriteProblem answers c with p as application/problem+json and aborts the chain.
func WriteProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		p.Instance = c.Request.URL.Path
	}
	body := gin.H{"type": p.Type, "title": p.Title, "status": p.Status, "instance": p.Instance}
	if p.Detail != "" {
		body["detail"] = p.Detail
	}
	if len(p.Errors) > 0 {
		body["errors"] = p.Errors
	}
	for k, v := range p.Extra {
		body[k] = v
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, body)
	c.Writer.Header().Set("Content-Type", "application/problem+json")
}

// WriteError maps err onto a problem: validation errors to 422 naming each field,
// ErrNotFound to 404, ErrVersionConflict to 412, ErrConflict to 409, ErrRefused to 422,
// anything else to 500 without leaking the message. The detail is rendered
// by model.Describe from the error's typed parts, never from err.Error():
// the wrapping chain (package prefixes, our own context) goes to the log.
func WriteError(c *gin.Context, err error) {
	var ves model.ValidationErrors
	var ve *model.ValidationError
	var re *model.RuleError
	detail := model.Describe(err)
	switch {
	case errors.As(err, &ves):
		p := Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid order", Detail: detail}
		for _, e := range ves {
			p.Errors = append(p.Errors, FieldProblem{Field: e.Field, Rule: e.Rule})
		}
		WriteProblem(c, p)
	case errors.As(err, &ve):
		WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input", Detail: detail,
			Errors: []FieldProblem{{Field: ve.Field, Rule: ve.Rule}}})
	case errors.Is(err, model.ErrVersionConflict):
		WriteProblem(c, Problem{Status: http.StatusPreconditionFailed, Title: "Version conflict", Detail: detail})
	case errors.Is(err, model.ErrNotFound):
		WriteProblem(c, Problem{Status: http.StatusNotFound, Title: "Not found", Detail: detail})
	case errors.As(err, &re):
		status := http.StatusUnprocessableEntity
		if errors.Is(err, model.ErrConflict) {
			status = http.StatusConflict
		}
		WriteProblem(c, Problem{Status: status, Title: "Refused", Detail: detail,
			Errors: []FieldProblem{{Field: re.Field, Rule: re.Rule}}})
	case errors.Is(err, model.ErrConflict):
		WriteProblem(c, Problem{Status: http.StatusConflict, Title: "Conflict", Detail: detail})
	case errors.Is(err, model.ErrRefused), errors.Is(err, model.ErrInvalid):
		WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity, Title: "Refused", Detail: detail})
	default:
		_ = c.Error(err)
		WriteProblem(c, Problem{Status: http.StatusInternalServerError, Title: "Internal error",
			Detail: "the gateway could not complete the request; see its log for request id " + c.GetString("request_id")})
	}
}
