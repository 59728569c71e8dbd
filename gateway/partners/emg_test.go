package partners

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

// emgTask returns a Task JSON text.
func emgTask(id, verb, resource, body string) string {
	return `{"Id":"` + id + `","Source":"` + testSource + `","Verb":"` + verb + `","Resource":"` + resource +
		`","ContentType":"application/json","CreationTimeUTC":"2020-05-21T02:08:11.471Z","Version":"1.0","Body":` + body + `}`
}

// signTask signs the Task text with key (PKCS#1 v1.5, SHA-256), base64.
func signTask(t testing.TB, key *rsa.PrivateKey, task string) string {
	t.Helper()
	h := sha256.Sum256([]byte(task))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (r *rig) emgEnvelope(task string) string {
	return `{"Task":` + task + `,"Signature":"` + signTask(r.t, r.ks.partner, task) + `"}`
}

// emg posts body and checks the answer is an Ack signed with our key.
func (r *rig) emg(body string) (int, gjson.Result) {
	r.t.Helper()
	code, ct, b := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(body), nil)
	if !strings.HasPrefix(ct, "application/json") {
		r.t.Fatalf("content type %q, want application/json (%s)", ct, b)
	}
	if !json.Valid(b) {
		r.t.Fatalf("answer %q is not JSON", b)
	}
	env := gjson.ParseBytes(b)
	task := env.Get("Task")
	sig, err := base64.StdEncoding.DecodeString(env.Get("Signature").String())
	if err != nil {
		r.t.Fatalf("Ack signature %q is not base64", env.Get("Signature"))
	}
	h := sha256.Sum256([]byte(task.Raw))
	if err := rsa.VerifyPKCS1v15(&r.ks.ours.PublicKey, crypto.SHA256, h[:], sig); err != nil {
		r.t.Fatalf("Ack signature does not verify with our public key over the Task bytes: %v", err)
	}
	if task.Get("Verb").String() != "Ack" || task.Get("Body.StatusCode").Int() != int64(code) {
		r.t.Fatalf("Ack %s: want Verb Ack and Body.StatusCode = HTTP status %d", task.Raw, code)
	}
	return code, task
}

const emgCreateBody = `{"RequestorId":"123456789","AccountNumber":"123456","CustomerContact":"demo@equinix.com","Description":"Create Trouble Ticket","ShortDescription":"Create case","Impact":"High","Urgency":"Medium","SupplierTicketNumber":"CS0634418"}`

func TestEMGCreateUpdateAck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		createID := "bf9f2707-d612-4d63-9958-4c8b1fcf3cc0"
		code, ack := r.emg(r.emgEnvelope(emgTask(createID, "Create", "TroubleTicket.ManagedService", emgCreateBody)))
		if code != 201 || ack.Get("OriginationId").String() != createID || ack.Get("OriginationVerb").String() != "Create" ||
			ack.Get("Resource").String() != "TroubleTicket.ManagedService" || ack.Get("Body.RequestorId").String() != "123456789" ||
			ack.Get("Source").String() != testSource {
			t.Fatalf("create Ack = %d %s, want 201 for Task %s", code, ack.Raw, createID)
		}
		id := b.find(t, "emg", "requestor", "123456789")
		if id == "" {
			t.Fatal("no order for RequestorId 123456789 after the Create")
		}
		if ack.Get("Body.ServicerId").String() != id {
			t.Fatalf("create Ack ServicerId = %q, want our ticket id %s", ack.Get("Body.ServicerId"), id)
		}
		// Task sent as a JSON string; Update (of the case's own resource) answered 202.
		upd := emgTask("4f6ec8d0-902f-4892-aa31-8bfed1edc075", "Update", "TroubleTicket.ManagedService", `{"ServicerId":"c572cef497702950c9b930b6f053afd1","AccountNumber":"123456","SupplierTicketNumber":"CS0634418","TicketState":"InProgress","Comments":"Ticket CS0634418 moved to InProgress state."}`)
		quoted, _ := json.Marshal(upd)
		code, ack = r.emg(`{"Task":` + string(quoted) + `,"Signature":"` + signTask(t, r.ks.partner, upd) + `"}`)
		if code != 202 || ack.Get("OriginationVerb").String() != "Update" || ack.Get("Body.ServicerId").String() != id {
			t.Fatalf("update Ack = %d %s, want 202 with our ticket id %s as ServicerId (the mapping's ack render)", code, ack.Raw, id)
		}
		o := lastOrder(t, b, id)
		if o.Status != model.StatusInProgress || o.Refs.Servicer != "CS0634418" {
			t.Fatalf("order = status %s servicer %q, want in_progress and the SupplierTicketNumber", o.Status, o.Refs.Servicer)
		}
		evs := inboundEvents(b.events(t, id))
		if len(evs) != 2 || evs[1].MessageID != "4f6ec8d0-902f-4892-aa31-8bfed1edc075" || evs[1].Raw == "" {
			t.Fatalf("inbound events = %d, want 2 with the Task id as message id and the raw message", len(evs))
		}
	})
}

func TestEMGRepeatedTaskSameAck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		env := r.emgEnvelope(emgTask("11111111-2222-3333-4444-555555555555", "Create", "TroubleTicket.ManagedService", emgCreateBody))
		_, _, first := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(env), nil)
		_, _, again := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(env), nil)
		if !bytes.Equal(first, again) {
			t.Fatalf("repeated Task: Acks differ\n%s\n%s", first, again)
		}
		// Same Task id, different content (another message under a used
		// id): refused in the Ack, nothing changes.
		env2 := r.emgEnvelope(emgTask("11111111-2222-3333-4444-555555555555", "Create", "TroubleTicket.ManagedService",
			strings.Replace(emgCreateBody, "Create Trouble Ticket", "Other text", 1)))
		_, _, third := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(env2), nil)
		if ack := gjson.ParseBytes(third); ack.Get("Task.Body.StatusCode").Int() != 409 || !strings.Contains(ack.Get("Task.Body.Reason").String(), "was used already") {
			t.Fatalf("another Task under a used id: Ack %s, want 409 naming the used id", third)
		}
		id := b.find(t, "emg", "requestor", "123456789")
		if n := len(inboundEvents(b.events(t, id))); n != 1 {
			t.Fatalf("%d inbound events after three posts of one Task id, want 1", n)
		}
		if o := lastOrder(t, b, id); o.Fields["description"].Value != "Create Trouble Ticket" {
			t.Fatalf("description = %v, want the first message's", o.Fields["description"].Value)
		}
	})
}

func TestEMGRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		task := emgTask("aaaaaaaa-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody)
		otherSource := strings.Replace(task, testSource, "00000000-0000-0000-0000-000000000000", 1)
		tampered := strings.Replace(task, "Create case", "Create cas3", 1)
		cases := []struct {
			name    string
			body    string
			code    int
			mention string
		}{
			{"tampered Task", `{"Task":` + tampered + `,"Signature":"` + signTask(t, r.ks.partner, task) + `"}`, 401, "bad credential"},
			{"signed by another key", `{"Task":` + task + `,"Signature":"` + signTask(t, r.ks.ours, task) + `"}`, 401, "bad credential"},
			{"no signature", `{"Task":` + task + `}`, 401, "missing credential"},
			{"wrong Source", r.emgEnvelope(otherSource), 403, "Source"},
			{"unknown envelope member", `{"Task":` + task + `,"Signature":"` + signTask(t, r.ks.partner, task) + `","Extra":1}`, 400, "unknown member"},
			{"unknown Task member", r.emgEnvelope(strings.Replace(task, `"Version"`, `"Versoin"`, 1)), 400, "Versoin"},
			{"Task is a number", `{"Task":5,"Signature":"` + signTask(t, r.ks.partner, "5") + `"}`, 400, "Task must be an object"},
			{"Update of an unknown ticket", r.emgEnvelope(emgTask("aaaaaaaa-0000-0000-0000-000000000002", "Update", "BreakFix", `{"RequestorId":"nope","ServicerId":"nope","State":"Open"}`)), 404, "not found"},
			{"unknown State", r.emgEnvelope(emgTask("aaaaaaaa-0000-0000-0000-000000000003", "Update", "BreakFix", `{"RequestorId":"x","ServicerId":"1-1","State":"Sleeping"}`)), 400, "Sleeping"},
			{"missing mandatory Description", r.emgEnvelope(emgTask("aaaaaaaa-0000-0000-0000-000000000004", "Create", "TroubleTicket.ManagedService",
				strings.Replace(emgCreateBody, `"Description":"Create Trouble Ticket",`, "", 1))), 400, "Task.Body.Description: is required"},
			{"unknown Verb", r.emgEnvelope(emgTask("aaaaaaaa-0000-0000-0000-000000000005", "Delete", "BreakFix", `{"RequestorId":"x"}`)), 400, `Task.Verb: "Delete" is not one of: Ack, Update, Create`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, ack := r.emg(c.body)
				if code != c.code || !strings.Contains(ack.Get("Body.Reason").String(), c.mention) {
					t.Fatalf("Ack = %d %s, want %d with a reason mentioning %q", code, ack.Raw, c.code, c.mention)
				}
				if n := b.count(t); n != 0 {
					t.Fatalf("%d orders stored after a refused message, want 0", n)
				}
			})
		}
		if !strings.Contains(r.logs.String(), "partner authentication failed") {
			t.Fatal("authentication failures were not logged")
		}
	})
}

func TestEMGTruncationWarningInAck(t *testing.T) {
	r := newRig(t, newFakeBackend(t), nil, nil)
	long := strings.Repeat("x", 170)
	body := strings.Replace(emgCreateBody, `"Create case"`, strconv.Quote(long), 1)
	code, ack := r.emg(r.emgEnvelope(emgTask("bbbbbbbb-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", body)))
	if code != 201 || len(ack.Get("Body.Warnings").Array()) != 1 {
		t.Fatalf("Ack = %d %s, want 201 with one truncation warning", code, ack.Raw)
	}
}

// TestEMGEveryResource posts an Update for every resource of seed 003 (and
// EMG's Ack of an order we submitted) onto one open ticket per resource.
func TestEMGEveryResource(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		cases := []struct {
			resource, body string
			status         model.Status
		}{
			{"BreakFix", `{"RequestorId":"R-BF","ServicerId":"1-1","State":"Resolved - Servicer","Description":"Ticket resolved"}`, model.StatusResolved},
			{"Shipping", `{"RequestorId":"R-SH","ServicerId":"1-2","State":"InProgress","Description":"Ticket updated"}`, model.StatusInProgress},
			{"WorkVisit", `{"RequestorId":"R-WV","ServicerId":"1-3","State":"Closed"}`, model.StatusClosed},
			{"SmartHands", `{"RequestorId":"R-SM","ServicerId":"1-4","State":"Pending Customer Input","SubState":"Pending Expedite Negotiation"}`, model.StatusPendingInput},
			{"CrossConnect", `{"RequestorId":"R-CC","ServicerId":"1-5","State":"Cancelled","StatusCode":"200","Activity":"x"}`, model.StatusCancelled},
		}
		for i, c := range cases {
			t.Run(c.resource, func(t *testing.T) {
				ref := gjson.Get(c.body, "RequestorId").String()
				o := b.create(t, &model.Order{Partner: "emg", ServiceType: c.resource, Refs: model.Refs{Requestor: ref}})
				task := emgTask("e0000000-0000-0000-0000-00000000000"+strconv.Itoa(i), "Update", c.resource, c.body)
				code, ack := r.emg(r.emgEnvelope(task))
				if code != 202 || ack.Get("OriginationVerb").String() != "Update" || ack.Get("Resource").String() != c.resource {
					t.Fatalf("Ack = %d %s, want 202 for %s", code, ack.Raw, c.resource)
				}
				got := lastOrder(t, b, o.ID)
				if got.Status != c.status || got.PartnerStatus != gjson.Get(c.body, "State").String() {
					t.Fatalf("order = %s (%s), want %s", got.Status, got.PartnerStatus, c.status)
				}
			})
		}
		t.Run("Ack of our order", func(t *testing.T) {
			o := b.create(t, &model.Order{Partner: "emg", ServiceType: "BreakFix", Refs: model.Refs{Requestor: "R-ACK"}})
			task := `{"Id":"e1000000-0000-0000-0000-000000000001","Source":"` + testSource + `","Verb":"Ack","Resource":"BreakFix","ContentType":"application/json","CreateTimeUTC":"2019-12-13T15:45:04.553Z","Version":"1.0","OriginationId":"9f000000-0000-0000-0000-000000000001","OriginationVerb":"Create","Body":{"RequestorId":"R-ACK","ServicerId":"1-199912345789","StatusCode":201}}`
			code, ack := r.emg(r.emgEnvelope(task))
			if code != 202 || ack.Get("OriginationVerb").String() != "Ack" {
				t.Fatalf("Ack = %d %s, want 202", code, ack.Raw)
			}
			if got := lastOrder(t, b, o.ID); got.Status != model.StatusAcknowledged || got.Refs.Servicer != "1-199912345789" {
				t.Fatalf("order = %s servicer %q, want acknowledged with EMG's ServicerId", got.Status, got.Refs.Servicer)
			}
		})
	})
}

// TestEMGConcurrentRepeats posts one Task from several goroutines at once:
// every answer is the same Ack and the ticket gets one event.
func TestEMGConcurrentRepeats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		env := r.emgEnvelope(emgTask("12121212-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody))
		const n = 8
		answers := make(chan string, n)
		for range n {
			go func() {
				req := httptest.NewRequest(http.MethodPost, "/partners/emg/messages", strings.NewReader(env))
				req.Header.Set("Content-Type", "application/json")
				w := testutil.Serve(t, r.engine, req)
				answers <- strconv.Itoa(w.Code) + " " + w.Body.String()
			}()
		}
		first := <-answers
		for range n - 1 {
			if a := <-answers; a != first {
				t.Fatalf("answers differ:\n%s\n%s", first, a)
			}
		}
		if !strings.HasPrefix(first, "201 ") {
			t.Fatalf("answer %s, want 201", first)
		}
		id := b.find(t, "emg", "requestor", "123456789")
		if n := len(inboundEvents(b.events(t, id))); n != 1 {
			t.Fatalf("%d inbound events, want 1", n)
		}
	})
}

// TestEMGResourceMustMatchTicket posts an Update whose Task.Resource is not
// the ticket's: it is refused and the ticket is unchanged; the right
// resource applies (EMG's spelling of a type or ours).
func TestEMGResourceMustMatchTicket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		o := b.create(t, &model.Order{Partner: "emg", ServiceType: "BreakFix", Refs: model.Refs{Requestor: "R-RES"}})
		ours := b.create(t, &model.Order{Partner: "emg", ServiceType: "shipping", Refs: model.Refs{Requestor: "R-RES2"}})
		body := `{"RequestorId":"R-RES","ServicerId":"1-77","State":"InProgress"}`
		code, ack := r.emg(r.emgEnvelope(emgTask("c0000000-0000-0000-0000-000000000001", "Update", "Shipping", body)))
		if code != 422 || !strings.Contains(ack.Get("Body.Reason").String(), `service type "BreakFix"`) {
			t.Fatalf("Shipping Update to a BreakFix ticket: Ack = %d %s, want 422 naming the ticket's type", code, ack.Raw)
		}
		if got := lastOrder(t, b, o.ID); got.Status != o.Status || got.Refs.Servicer != "" || len(inboundEvents(b.events(t, o.ID))) != 0 {
			t.Fatalf("refused Update changed the ticket: status %s servicer %q", got.Status, got.Refs.Servicer)
		}
		code, ack = r.emg(r.emgEnvelope(emgTask("c0000000-0000-0000-0000-000000000002", "Update", "BreakFix", body)))
		if code != 202 || lastOrder(t, b, o.ID).Status != model.StatusInProgress {
			t.Fatalf("BreakFix Update to a BreakFix ticket: Ack = %d %s, want 202", code, ack.Raw)
		}
		code, ack = r.emg(r.emgEnvelope(emgTask("c0000000-0000-0000-0000-000000000003", "Update", "Shipping",
			`{"RequestorId":"R-RES2","ServicerId":"1-78","State":"InProgress"}`)))
		if code != 202 || lastOrder(t, b, ours.ID).Status != model.StatusInProgress {
			t.Fatalf("Shipping Update to a ticket the platform ordered as shipping: Ack = %d %s, want 202", code, ack.Raw)
		}
	})
}

// TestEMGRepeatedTerminalNotice posts a second Closed under a new Task Id:
// it is acknowledged (202, a warning) without change; another status on a
// closed ticket is still a conflict.
func TestEMGRepeatedTerminalNotice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		o := b.create(t, &model.Order{Partner: "emg", ServiceType: "WorkVisit", Refs: model.Refs{Requestor: "R-TERM"}})
		closed := `{"RequestorId":"R-TERM","ServicerId":"1-90","State":"Closed","Description":"done"}`
		code, ack := r.emg(r.emgEnvelope(emgTask("d0000000-0000-0000-0000-000000000001", "Update", "WorkVisit", closed)))
		if code != 202 {
			t.Fatalf("first Closed: Ack = %d %s, want 202", code, ack.Raw)
		}
		first := lastOrder(t, b, o.ID)
		if first.Status != model.StatusClosed {
			t.Fatalf("status %s after Closed, want closed", first.Status)
		}
		second := r.emgEnvelope(emgTask("d0000000-0000-0000-0000-000000000002", "Update", "WorkVisit", closed))
		code, ack = r.emg(second)
		if code != 202 || !strings.Contains(ack.Get("Body.Warnings.0").String(), "already closed") || ack.Get("Body.ServicerId").String() != o.ID {
			t.Fatalf("second Closed under a new Id: Ack = %d %s, want 202 with an 'already closed' warning and our id %s", code, ack.Raw, o.ID)
		}
		_, _, a1 := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(second), nil)
		_, _, a2 := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(second), nil)
		if !bytes.Equal(a1, a2) {
			t.Fatalf("the repeat's Acks differ:\n%s\n%s", a1, a2)
		}
		if got := lastOrder(t, b, o.ID); !got.UpdatedAt.Equal(first.UpdatedAt) || got.Status != model.StatusClosed {
			t.Fatalf("repeat changed the ticket: updated %s %s, want %s closed", got.UpdatedAt, got.Status, first.UpdatedAt)
		}
		if n := len(inboundEvents(b.events(t, o.ID))); n != 1 {
			t.Fatalf("%d inbound events, want 1 (the repeat records nothing)", n)
		}
		for i, state := range []string{"InProgress", "Cancelled"} {
			code, ack = r.emg(r.emgEnvelope(emgTask("d0000000-0000-0000-0000-00000000001"+strconv.Itoa(i), "Update", "WorkVisit",
				`{"RequestorId":"R-TERM","ServicerId":"1-90","State":"`+state+`"}`)))
			if code != 409 {
				t.Fatalf("%s on a closed ticket: Ack = %d %s, want 409", state, code, ack.Raw)
			}
		}
	})
}

// TestEMGTaskIdAndVersion refuses a Task.Id that is not a GUID and a Version
// the mapping does not declare, before anything is stored; an error Ack
// never carries EMG's ServicerId as ours.
func TestEMGTaskIdAndVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		cases := []struct {
			name, task, mention string
		}{
			{"Id not a GUID", emgTask("task-1", "Create", "TroubleTicket.ManagedService", emgCreateBody), "Task.Id"},
			{"Id with braces", emgTask("{bf9f2707-d612-4d63-9958-4c8b1fcf3cc0}", "Create", "TroubleTicket.ManagedService", emgCreateBody), "not a GUID"},
			{"Version not declared", strings.Replace(emgTask("f0000000-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody),
				`"Version":"1.0"`, `"Version":"2.0"`, 1), "Task.Version"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, ack := r.emg(r.emgEnvelope(c.task))
				if code != 400 || !strings.Contains(ack.Get("Body.Reason").String(), c.mention) || ack.Get("Version").String() != "1.0" {
					t.Fatalf("Ack = %d %s, want 400 naming %s, Version 1.0", code, ack.Raw, c.mention)
				}
				if n := b.count(t); n != 0 {
					t.Fatalf("%d orders stored, want 0", n)
				}
			})
		}
		// An Update refused on a known ticket: the Ack's ServicerId is not EMG's.
		b.create(t, &model.Order{Partner: "emg", ServiceType: "BreakFix", Refs: model.Refs{Requestor: "R-SRV"}})
		code, ack := r.emg(r.emgEnvelope(emgTask("f0000000-0000-0000-0000-000000000002", "Update", "BreakFix",
			`{"RequestorId":"R-SRV","ServicerId":"1-199912345789","State":"Sleeping"}`)))
		if code != 400 || ack.Get("Body.ServicerId").String() == "1-199912345789" {
			t.Fatalf("refused Update: Ack = %d %s, want 400 without EMG's ServicerId as ours", code, ack.Raw)
		}
	})
}
