package partners

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/gateway/partnerauth"

	"github.com/google/uuid"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
)

// emgTaskHeader lists the Task members of the EMG envelope (seed 003).
var emgTaskHeader = map[string]bool{"Id": true, "Source": true, "Verb": true, "Resource": true, "ContentType": true,
	"CreationTimeUTC": true, "CreateTimeUTC": true, "Version": true, "Body": true, "OriginationId": true, "OriginationVerb": true}

// task returns the Task of the envelope, unwrapped when sent as a JSON string.
func (k *call) task() gjson.Result {
	t := gjson.GetBytes(k.doc, "Task")
	if t.Type == gjson.String {
		return gjson.Parse(t.Str)
	}
	return t
}

// signedAckResponder answers with a signed Ack envelope
// {"Task":{…,"Verb":"Ack"},"Signature":…} (EMG). It needs the partner's
// signing key and Source, and checks the strict envelope before translation.
type signedAckResponder struct{}

var _ responder = signedAckResponder{}

func (signedAckResponder) codes() []int {
	return []int{201, 202, 400, 401, 403, 404, 409, 413, 415, 422, 503}
}

// setup reads the key the Acks are signed with and the partner's Source.
func (signedAckResponder) setup(ps *Set, p *partner, st *state) string {
	a := p.spec.Auth
	if a.SigningKeyFileEnv == "" {
		return "answers are signed but the mapping names no auth.signing_key_file_env"
	}
	scheme := a.Kind
	switch scheme {
	case partnerauth.SchemeRSAPKCS1v15, partnerauth.SchemeRSAPSS, partnerauth.SchemeEd25519:
	default:
		scheme = partnerauth.SchemeRSAPKCS1v15
	}
	signer, err := partnerauth.SignerFromEnv(scheme, ps.env, a.SigningKeyFileEnv)
	if err != nil {
		return strings.TrimPrefix(err.Error(), "partnerauth: ")
	}
	st.signer = signer
	st.sourceID = st.settings["source_id"]
	if st.sourceID == "" {
		envName := strings.ToUpper(p.name) + "_SOURCE_ID"
		if st.sourceID = ps.env(envName); st.sourceID == "" {
			st.sourceID = DefaultEMGSourceID
			st.warnings = append(st.warnings, envName+" is not set: using the seed's development Source "+DefaultEMGSourceID)
		}
	}
	return ""
}

func (signedAckResponder) fail(k *call, pe *partnerError) { k.ack(pe.status, pe.reason, nil) }

// check enforces the strict EMG envelope and the partner's Source.
func (signedAckResponder) check(k *call) *partnerError {
	root := gjson.ParseBytes(k.doc)
	if !root.IsObject() {
		return perr(http.StatusBadRequest, "", "the message must be a JSON object {\"Task\":…,\"Signature\":…}")
	}
	var pe *partnerError
	root.ForEach(func(key, _ gjson.Result) bool {
		if n := key.String(); n != "Task" && n != "Signature" {
			pe = perr(http.StatusBadRequest, n, "unknown member %q: the envelope has Task and Signature only", n)
		}
		return pe == nil
	})
	if pe != nil {
		return pe
	}
	t := k.task()
	if !t.IsObject() {
		return perr(http.StatusBadRequest, "Task", "Task must be an object or a JSON string holding one")
	}
	if t.Type == gjson.JSON && gjson.GetBytes(k.doc, "Task").Type == gjson.String {
		if err := CheckJSON([]byte(t.Raw), k.ps.opt.MaxDepth); err != nil {
			return perr(http.StatusBadRequest, "Task", "Task: %s", err.Error())
		}
	}
	t.ForEach(func(key, _ gjson.Result) bool {
		if n := key.String(); !emgTaskHeader[n] {
			pe = perr(http.StatusBadRequest, "Task."+n, "unknown Task member %q", n)
		}
		return pe == nil
	})
	if pe != nil {
		return pe
	}
	if id := t.Get("Id"); id.Type != gjson.String || strings.TrimSpace(id.Str) == "" {
		return perr(http.StatusBadRequest, "Task.Id", "Task.Id is required (a GUID string)")
	} else if !isGUID(id.Str) {
		return perr(http.StatusBadRequest, "Task.Id", "Task.Id %q is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", id.Str)
	}
	if src := t.Get("Source").String(); src != k.st.sourceID {
		return perr(http.StatusForbidden, "Task.Source", "Task.Source %q is not the Source configured for this partner", src)
	}
	return nil
}

// isGUID reports whether s is a GUID as EMG writes them: 32 hex digits in
// groups of 8-4-4-4-12 separated by hyphens (either case, no braces).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func (signedAckResponder) answer(k *call, results []inbound.Result) {
	if len(results) != 1 {
		k.ack(http.StatusBadRequest, fmt.Sprintf("expected one Task, got %d", len(results)), nil)
		return
	}
	r := results[0]
	if r.Err != nil {
		field, rule := fieldOf(r.Err)
		reason := rule
		if field != "" {
			reason = field + ": " + rule
		}
		k.ack(statusOf(r.Err, http.StatusBadRequest), reason, nil)
		return
	}
	code := http.StatusAccepted
	if r.Outcome.Created {
		code = http.StatusCreated
	}
	k.ack(code, "", r.Outcome)
}

// emgAck is the Task of an Ack, members in the seed's order.
type emgAck struct {
	ID              string     `json:"Id"`
	Source          string     `json:"Source"`
	Verb            string     `json:"Verb"`
	Resource        string     `json:"Resource,omitempty"`
	ContentType     string     `json:"ContentType"`
	CreateTimeUTC   string     `json:"CreateTimeUTC"`
	Version         string     `json:"Version"`
	OriginationID   string     `json:"OriginationId"`
	OriginationVerb string     `json:"OriginationVerb,omitempty"`
	Body            emgAckBody `json:"Body"`
}

type emgAckBody struct {
	RequestorID string   `json:"RequestorId"`
	ServicerID  string   `json:"ServicerId"`
	StatusCode  int      `json:"StatusCode"`
	Reason      string   `json:"Reason,omitempty"`
	Warnings    []string `json:"Warnings,omitempty"`
}

// ackVersion is the schema version of an Ack answering a message the
// mapping refused (its Version may be one the mapping does not declare).
const ackVersion = "1.0"

// ack answers with a signed Ack. The Ack id is derived from the Task id and
// its time from the committed event, so a repeated Task gets the same Ack.
// Body.ServicerId is always our ticket id (the order id), never the
// ServicerId EMG sent: empty when no ticket was found or made.
func (k *call) ack(code int, reason string, out *model.Outcome) {
	t := k.task()
	taskID := t.Get("Id").String()
	version := t.Get("Version").String()
	if version == "" || out == nil {
		version = ackVersion
	}
	at := k.ps.opt.Now()
	a := emgAck{
		ID:              uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:sogateway:"+k.p.name+":ack:"+taskID)).String(),
		Source:          k.st.sourceID,
		Verb:            "Ack",
		Resource:        t.Get("Resource").String(),
		ContentType:     "application/json",
		Version:         version,
		OriginationID:   taskID,
		OriginationVerb: t.Get("Verb").String(),
		Body: emgAckBody{
			RequestorID: t.Get("Body.RequestorId").String(),
			StatusCode:  code,
			Reason:      reason,
		},
	}
	if out != nil {
		if out.Order != nil {
			if out.Order.Refs.Requestor != "" {
				a.Body.RequestorID = out.Order.Refs.Requestor
			}
			a.Body.ServicerID = out.Order.ID
		}
		if out.Event != nil {
			at = out.Event.At
			a.Body.Warnings = out.Event.Warnings
		}
		if out.Unchanged && out.Order != nil {
			// The same answer for every repeat: the ticket's last change.
			at = out.Order.UpdatedAt
			a.Body.Warnings = []string{fmt.Sprintf("the ticket is already %s: nothing changed", out.Order.Status)}
		}
	}
	a.CreateTimeUTC = at.UTC().Format("2006-01-02T15:04:05.000Z")
	taskJSON := k.renderAck(&a, out)
	if taskJSON == nil {
		var err error
		if taskJSON, err = json.Marshal(a); err != nil {
			gateway.WriteError(k.c, fmt.Errorf("gateway: ack: %w", err))
			return
		}
	}
	body := make([]byte, 0, len(taskJSON)+400)
	body = append(body, `{"Task":`...)
	body = append(body, taskJSON...)
	if k.st.signer != nil {
		sig, err := k.st.signer.Sign(taskJSON)
		if err != nil {
			_ = k.c.Error(err)
			gateway.WriteProblem(k.c, gateway.Problem{Status: http.StatusInternalServerError, Detail: "the Ack could not be signed"})
			return
		}
		body = append(body, `,"Signature":"`...)
		body = append(body, base64.StdEncoding.EncodeToString(sig)...)
		body = append(body, '"')
	}
	body = append(body, '}')
	k.c.Data(code, "application/json; charset=utf-8", body)
}

// renderAck renders the Ack's Task with the mapping's "ack" render, when it
// declares one and the message was committed (the render reads the order);
// nil means the built-in shape is used.
func (k *call) renderAck(a *emgAck, out *model.Outcome) []byte {
	if out == nil || out.Order == nil || k.m == nil || !k.m.HasRender("ack") {
		return nil
	}
	extra := map[string]any{"message_id": a.ID, "source": a.Source, "resource": a.Resource, "now": a.CreateTimeUTC,
		"origination_id": a.OriginationID, "origination_verb": a.OriginationVerb, "status_code": a.Body.StatusCode}
	r, err := k.m.Render("ack", out.Order, out.Event, extra)
	if err != nil {
		k.ps.log.Error("partner ack render failed; answering the built-in shape", "partner", k.p.name, "error", err.Error())
		return nil
	}
	task := gjson.GetBytes(r.Body, "Task")
	if !task.IsObject() {
		return nil
	}
	b := []byte(task.Raw)
	if len(a.Body.Warnings) > 0 {
		if w, err := sjson.SetBytes(b, "Body.Warnings", a.Body.Warnings); err == nil {
			b = w
		}
	}
	return b
}
