package partners

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/tidwall/gjson"

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
	raw, err = io.ReadAll(io.LimitReader(c.Request.Body, max+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(raw)) > max {
		if mbe != nil && mbe.Limit < max {
			max = mbe.Limit
		}
		return nil, nil, perr(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", max)
	}
	if err != nil {
		return nil, nil, perr(http.StatusBadRequest, "", "request body could not be read")
	}
	doc = raw
	if isForm {
		v, pe := formField(raw, ct, params, rt.FormField)
		if pe != nil {
			return nil, nil, pe
		}
		doc = v
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, nil, perr(http.StatusBadRequest, "", "request body is empty; send a JSON document")
	}
	if err := CheckJSON(doc, ps.opt.MaxDepth); err != nil {
		return nil, nil, perr(http.StatusBadRequest, "", "%s", err.Error())
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

// CheckJSON reports whether b is exactly one JSON value (surrounding
// whitespace allowed) with no duplicate object members and nesting at most
// maxDepth deep. Its errors name the problem and, for syntax errors, the byte
// offset. Duplicate members are refused because two readers may pick
// different ones (a signature check and a mapping, for instance).
func CheckJSON(b []byte, maxDepth int) error {
	if !gjson.ValidBytes(b) {
		var x json.RawMessage
		err := json.Unmarshal(b, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return errors.New("malformed JSON")
	}
	return walkJSON(gjson.ParseBytes(b), 0, maxDepth, "")
}

func walkJSON(r gjson.Result, depth, max int, path string) error {
	if !r.IsObject() && !r.IsArray() {
		return nil
	}
	if depth >= max {
		return fmt.Errorf("JSON nested deeper than %d levels at %s", max, pathOr(path))
	}
	var err error
	if r.IsArray() {
		i := 0
		r.ForEach(func(_, v gjson.Result) bool {
			err = walkJSON(v, depth+1, max, path+"["+strconv.Itoa(i)+"]")
			i++
			return err == nil
		})
		return err
	}
	var seen []string
	var seenMap map[string]struct{}
	r.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		dup := false
		if seenMap != nil {
			_, dup = seenMap[name]
			seenMap[name] = struct{}{}
		} else {
			for _, s := range seen {
				if s == name {
					dup = true
				}
			}
			seen = append(seen, name)
			if len(seen) > 16 {
				seenMap = make(map[string]struct{}, 32)
				for _, s := range seen {
					seenMap[s] = struct{}{}
				}
			}
		}
		if dup {
			err = fmt.Errorf("duplicate member %q in %s", name, pathOr(path))
			return false
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		err = walkJSON(v, depth+1, max, p)
		return err == nil
	})
	return err
}

func pathOr(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}
