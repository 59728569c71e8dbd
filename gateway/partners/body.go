package partners

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/jsonguard"
	"github.com/equus/sogateway/mappings"
)

var simpleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readBody checks the content type, reads at most MaxBodyBytes, checks the
// JSON (one value, no trailing data, no duplicate members, bounded depth) and
// returns the exact bytes received and the JSON document for the mapping
// (the form field's value for form posts).
func (ps *Set) readBody(c *gin.Context, rt mappings.Route, p *partner) (raw, doc []byte, pe *partnerError) {
	ct, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	isJSON := err == nil && (ct == "application/json" || strings.HasSuffix(ct, "+json"))
	isForm := err == nil && rt.FormField != "" && (ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data")
	if !isJSON && !isForm {
		want := "application/json"
		if rt.FormField != "" {
			want += ", application/x-www-form-urlencoded or multipart/form-data (field " + rt.FormField + ")"
		}
		got := c.GetHeader("Content-Type")
		if got == "" {
			got = "none"
		}
		return nil, nil, perr(http.StatusUnsupportedMediaType, "Content-Type", "content type %s is not accepted; send %s", got, want)
	}
	max := ps.opt.MaxBodyBytes
	lim := &jsonguard.Limits{MaxBytes: max, MaxDepth: ps.opt.MaxDepth}
	if isJSON {
		// A JSON body is checked as it is read, before authentication and
		// before anything recursive reads it: a stranger's 1 MiB of "[" is
		// refused at the depth limit, after a few bytes, in bounded memory.
		raw, err = jsonguard.Read(c.Request.Body, lim)
		if pe := bodyError(err, max, ""); pe != nil {
			return nil, nil, pe
		}
		doc = raw
	} else {
		raw, err = io.ReadAll(io.LimitReader(c.Request.Body, max+1))
		if pe := sizeError(err, int64(len(raw)), max); pe != nil {
			return nil, nil, pe
		}
		if err != nil {
			return nil, nil, perr(http.StatusBadRequest, "", "request body could not be read")
		}
		v, pe := formField(raw, ct, params, rt.FormField)
		if pe != nil {
			return nil, nil, pe
		}
		if pe := bodyError(jsonguard.Check(v, lim), max, rt.FormField); pe != nil {
			return nil, nil, pe
		}
		doc = v
	}
	if isForm {
		// The field may hold the batch array itself: {"<split>": <array>}.
		if s := p.spec.Split; gjson.ParseBytes(doc).IsArray() && simpleName.MatchString(s) {
			doc = append(append([]byte(`{"`+s+`":`), doc...), '}')
		}
	}
	return raw, doc, nil
}

// formField returns the value of field in a form body.
func formField(raw []byte, ct string, params map[string]string, field string) ([]byte, *partnerError) {
	if ct == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, perr(http.StatusBadRequest, field, "form body is malformed")
		}
		vs, ok := vals[field]
		if !ok {
			return nil, perr(http.StatusBadRequest, field, "form field %s is required", field)
		}
		if len(vs) != 1 {
			return nil, perr(http.StatusBadRequest, field, "form field %s is sent %d times, want once", field, len(vs))
		}
		return []byte(vs[0]), nil
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	var found []byte
	for parts := 0; ; parts++ {
		if parts >= 16 {
			return nil, perr(http.StatusBadRequest, "", "multipart body has more than 16 parts")
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, perr(http.StatusBadRequest, "", "multipart body is malformed")
		}
		if part.FormName() == field {
			if found != nil {
				return nil, perr(http.StatusBadRequest, field, "form field %s is sent more than once", field)
			}
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, perr(http.StatusBadRequest, field, "multipart body is malformed")
			}
			found = b
		}
	}
	if found == nil {
		return nil, perr(http.StatusBadRequest, field, "form field %s is required", field)
	}
	return found, nil
}

// sizeError is the 413 of a body over max bytes (or over the engine's own
// cap, when that is smaller), nil when the body fits.
func sizeError(err error, n, max int64) *partnerError {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) && n <= max {
		return nil
	}
	if mbe != nil && mbe.Limit < max {
		max = mbe.Limit
	}
	return perr(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", max)
}

// bodyError renders a jsonguard refusal for the partner: 413 over the size
// limit, else 400 naming the rule and the byte offset (within the form field
// when field is set). A nil err is nil.
func bodyError(err error, max int64, field string) *partnerError {
	if err == nil {
		return nil
	}
	var ge *jsonguard.Error
	if !errors.As(err, &ge) {
		if pe := sizeError(err, 0, max); pe != nil {
			return pe
		}
		return perr(http.StatusBadRequest, "", "request body could not be read")
	}
	if ge.Kind == jsonguard.KindTooLarge {
		return perr(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", ge.Limit)
	}
	msg := ge.Error()
	if ge.Kind == jsonguard.KindEmpty {
		msg = "request body is empty; send a JSON document"
	}
	name := ge.Path
	if ge.Kind == jsonguard.KindDuplicateKey {
		name = ge.Key
		if ge.Path != "" {
			name = ge.Path + "." + ge.Key
		}
	}
	if field != "" {
		msg = "form field " + field + ": " + msg
		if name == "" {
			name = field
		}
	}
	return perr(http.StatusBadRequest, name, "%s", msg)
}

// CheckJSON reports whether b is exactly one JSON value (surrounding
// whitespace allowed) in valid UTF-8, with no duplicate object members and
// nesting at most maxDepth deep (jsonguard, which never recurses). Its errors
// name the problem and the byte offset. Duplicate members are refused because
// two readers may pick different ones (a signature check and a mapping, for
// instance).
func CheckJSON(b []byte, maxDepth int) error {
	return jsonguard.Check(b, &jsonguard.Limits{MaxBytes: int64(len(b)) + 1, MaxDepth: maxDepth})
}
