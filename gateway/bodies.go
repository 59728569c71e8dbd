package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/equus/sogateway/internal/jsonguard"
)

// DrainBytes bounds how much of an oversized request body the gateway reads
// and discards before answering 413. Clients that write the whole body before
// reading (Python requests, .NET HttpWebRequest) would otherwise see the
// connection reset instead of the answer; a body larger than this still is.
const DrainBytes = 16 << 20

// ctxOrigBody is the gin context key of the request body before the size cap.
const ctxOrigBody = "gateway.orig_body"

// drain reads and discards what is left of the request body, up to
// DrainBytes, so the answer reaches a client still writing it.
func drain(c *gin.Context) {
	b, _ := c.Get(ctxOrigBody)
	if body, ok := b.(io.Reader); ok {
		_, _ = io.CopyN(io.Discard, body, DrainBytes)
	}
}

// readJSONBody reads the request body through jsonguard: at most the body cap,
// nesting at most 32 levels, valid UTF-8, no duplicate members, exactly one
// value. On failure it answers (413 or 400, naming the byte offset) and
// returns false.
func readJSONBody(c *gin.Context, max int64) ([]byte, bool) {
	body, err := jsonguard.Read(c.Request.Body, &jsonguard.Limits{MaxBytes: max})
	if err == nil {
		return body, true
	}
	var mbe *http.MaxBytesError
	var ge *jsonguard.Error
	switch {
	case errors.As(err, &mbe):
		WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("request body exceeds the limit of %d bytes", mbe.Limit)})
	case errors.As(err, &ge) && ge.Kind == jsonguard.KindTooLarge:
		WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("request body exceeds the limit of %d bytes", ge.Limit)})
	case errors.As(err, &ge):
		p := Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: ge.Error()}
		switch ge.Kind {
		case jsonguard.KindInvalidUTF8:
			p.Title = "Invalid UTF-8"
		case jsonguard.KindDuplicateKey:
			p.Title = "Duplicate member"
			field := ge.Key
			if ge.Path != "" {
				field = ge.Path + "." + ge.Key
			}
			p.Errors = []FieldProblem{{Field: field, Rule: "is sent more than once"}}
		}
		WriteProblem(c, p)
	default:
		WriteProblem(c, Problem{Status: http.StatusBadRequest, Detail: "the request body could not be read"})
	}
	return nil, false
}

// unknownPartner answers 422 naming the known partners.
func unknownPartner(c *gin.Context, got string, known []string) {
	known = slices.Sorted(slices.Values(known))
	rule := "must be one of " + strings.Join(known, ", ")
	if got == "" {
		rule = "is required: one of " + strings.Join(known, ", ")
	}
	WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid input",
		Detail: fmt.Sprintf("partner %q is not known; %s", got, rule),
		Errors: []FieldProblem{{Field: "partner", Rule: rule}}})
}

// registerRuntimeCollectors adds the Go runtime and process collectors to
// reg, unless the caller's registry has them already.
func registerRuntimeCollectors(reg prometheus.Registerer) {
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
		}
	}
}
