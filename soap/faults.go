package soap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// authFault answers a failed authentication: HTTP 401 with a Basic challenge.
func authFault(err error) *Fault {
	return &Fault{Code: CodeClient, Reason: ReasonAuthenticationFailed, Status: http.StatusUnauthorized, Err: err, Text: err.Error()}
}

func tooLarge(max int64) *Fault {
	return &Fault{Code: CodeClient, Reason: ReasonTooLarge, Status: http.StatusRequestEntityTooLarge, Err: ErrTooLarge,
		Text: fmt.Sprintf("%v: the limit is %d bytes", ErrTooLarge, max)}
}

// parseFault turns a parser error into its fault.
func parseFault(err error) *Fault {
	f := &Fault{Code: CodeClient, Reason: ReasonMalformed, Err: err, Text: err.Error()}
	var pe *ParamError
	switch {
	case errors.As(err, &pe):
		return paramFault(err)
	case errors.Is(err, ErrDocType):
		f.Reason = ReasonDocType
	case errors.Is(err, ErrTooDeep):
		f.Reason = ReasonTooDeep
	case errors.Is(err, ErrVersionMismatch):
		f.Code, f.Reason = CodeVersionMismatch, ReasonVersionMismatch
	case errors.Is(err, ErrMustUnderstand):
		f.Code, f.Reason = CodeMustUnderstand, ReasonMustUnderstand
	}
	return f
}

func paramFault(err error) *Fault {
	f := &Fault{Code: CodeClient, Reason: ReasonInvalidParameter, Err: err, Text: err.Error()}
	var pe *ParamError
	if errors.As(err, &pe) {
		f.Element = pe.Element
	}
	return f
}

// backendFault maps a Backend error onto a fault. Errors of unknown kind are
// logged with a reference and answered without their text.
func (h *Handler) backendFault(ctx context.Context, call *Call, err error) *Fault {
	op, _ := h.c.operation(call.Operation)
	var re *model.RuleError
	var ve *model.ValidationError
	switch {
	case errors.Is(err, model.ErrNotFound):
		f := &Fault{Code: CodeClient, Reason: ReasonUnknownTask, Err: err, Text: "unknown task"}
		if op != nil && len(op.Params) > 0 {
			name := op.Params[0].Name
			f.Element = name
			f.Text = fmt.Sprintf("unknown task: no task matches %s %s", name, strconv.Quote(clip(call.Params[name])))
		}
		return f
	case errors.Is(err, model.ErrRefused), errors.Is(err, model.ErrConflict), errors.Is(err, model.ErrInvalid):
		// The text is rendered from the error's typed parts: what the
		// client sent and the rule it broke, never the wrapping chain nor
		// the mapping rule's file and line (those go to the log).
		f := &Fault{Code: CodeClient, Reason: ReasonRefused, Err: err, Text: model.Describe(err)}
		if errors.Is(err, model.ErrConflict) {
			f.Reason = ReasonConflict
		}
		if errors.Is(err, model.ErrInvalid) {
			f.Reason = ReasonInvalidParameter
		}
		var mre *mappings.RuleError
		switch {
		case errors.As(err, &mre):
			f.Element = mre.Path
			if f.Element == "" {
				f.Element = mre.Field
			}
			f.Text = mre.Msg
			if f.Element != "" {
				f.Text = f.Element + ": " + mre.Msg
			}
			if mre.Rule != "" {
				h.log.LogAttrs(ctx, slog.LevelInfo, "soap call refused by a mapping rule", slog.String("operation", call.Operation),
					slog.String("rule", mre.Rule), slog.String("field", mre.Field), slog.String("reason", mre.Msg))
			}
		case errors.As(err, &re):
			f.Element = re.Field
		case errors.As(err, &ve):
			f.Element = ve.Field
		}
		return f
	}
	sum := sha256.Sum256(call.Raw)
	ref := hex.EncodeToString(sum[:6])
	h.log.LogAttrs(ctx, slog.LevelError, "soap backend failed", slog.String("operation", call.Operation),
		slog.String("user", call.Username), slog.String("reference", ref), slog.String("error", err.Error()))
	return &Fault{Code: CodeServer, Reason: ReasonInternal, Err: err,
		Text: "the server could not process the call; reference " + ref}
}

// writeXML writes an envelope with the content type of version v.
func writeXML(w http.ResponseWriter, v string, status int, body []byte) {
	writeXMLRealm(w, v, status, body, "soap")
}

// writeXMLRealm is writeXML naming the Basic realm of a 401.
func writeXMLRealm(w http.ResponseWriter, v string, status int, body []byte, realm string) {
	ct := "text/xml; charset=utf-8"
	if v == V12 {
		ct = "application/soap+xml; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
