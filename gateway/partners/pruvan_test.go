package partners

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

const pruvanCreate = `{
"workOrders": [{
"workOrderNumber": "TESTPOST",
"address1": "111 East Main ",
"city": "Round Rock",
"state": "TX",
"zip": "78664",
"workOrderInfo": "Call Office 555-111-2222",
"clientDueDate": "2020-05-28 1200 +0",
"clientStatus": "Order Created",
"dueDate": "2020-05-25 1200 +0",
"services": [{
"serviceName": "Task-01 Mow Grass"
}]
}]
}`

const pruvanUpdate = `{"workOrders": [{"workOrderNumber": "TESTPOST", "clientStatus": "Order Late"}]}`

func pruvanURL(key string) string {
	return "/partners/pruvan/workorders?apiKey=" + url.QueryEscape(key)
}

func (r *rig) pruvan(body string) (int, map[string]any) {
	r.t.Helper()
	code, ct, b := r.do(http.MethodPost, pruvanURL(pruvanKey), "application/json", []byte(body), nil)
	if !strings.HasPrefix(ct, "application/json") {
		r.t.Fatalf("content type %q, want application/json", ct)
	}
	return code, jsonOf(r.t, b)
}

// counts returns response.created/updated/deleted and the error list.
func counts(t testing.TB, m map[string]any) (c, u, d int, errs []any) {
	t.Helper()
	resp, ok := m["response"].(map[string]any)
	if !ok {
		t.Fatalf("answer %v has no response object", m)
	}
	if _, ok := m["error"]; !ok {
		t.Fatalf("answer %v has no error member", m)
	}
	errs, _ = m["error"].([]any)
	return int(resp["created"].(float64)), int(resp["updated"].(float64)), int(resp["deleted"].(float64)), errs
}

func TestPruvanCreateThenUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		code, m := r.pruvan(pruvanCreate)
		if c, u, d, errs := counts(t, m); code != 200 || c != 1 || u != 0 || d != 0 || errs != nil {
			t.Fatalf("create = %d %v, want 200 created 1 error null", code, m)
		}
		if m["error"] != nil {
			t.Fatalf("error = %v, want null", m["error"])
		}
		id := b.find(t, "pruvan", "requestor", "TESTPOST")
		if id == "" {
			t.Fatal("no order bound to workOrderNumber TESTPOST after the create")
		}
		code, m = r.pruvan(pruvanUpdate)
		if c, u, _, errs := counts(t, m); code != 200 || c != 0 || u != 1 || errs != nil {
			t.Fatalf("update = %d %v, want 200 updated 1", code, m)
		}
		evs := b.events(t, id)
		last := evs[len(evs)-1]
		if last.Direction != model.DirectionIn || last.Partner != "pruvan" || last.Raw == "" {
			t.Fatalf("last event = %+v, want an inbound pruvan event with the raw message", last)
		}
		// The same POST again: the same answer, nothing changes twice.
		before := len(b.events(t, id))
		code, m = r.pruvan(pruvanUpdate)
		if c, u, _, _ := counts(t, m); code != 200 || c != 0 || u != 1 {
			t.Fatalf("repeated update = %d %v, want the same answer (updated 1)", code, m)
		}
		if after := len(b.events(t, id)); after != before {
			t.Fatalf("events after a repeated POST = %d, want %d", after, before)
		}
	})
}

func TestPruvanBatchItemsSucceedOrFailAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		body := `{"workOrders":[
 {"workOrderNumber":"WO-1","address1":"1 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}]},
 {"workOrderNumber":"WO-2","address1":"2 Main","city":"Austin","state":"TX","zip":"7870","services":[{"serviceName":"Mow"}]},
 {"workOrderNumber":"WO-3","address1":"3 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}],"status":"accepted"},
 {"workOrderNumber":"WO-404","clientStatus":"Order Late"}
]}`
		code, m := r.pruvan(body)
		c, u, _, errs := counts(t, m)
		if code != 200 || c != 1 || u != 0 || len(errs) != 3 {
			t.Fatalf("batch = %d %v, want 200, created 1 and three errors", code, m)
		}
		want := map[string]string{"WO-2": "zip", "WO-3": "not advised", "WO-404": "a create needs workOrderNumber, a valid address (address1, city, state, zip) and at least one service"}
		for _, e := range errs {
			em := e.(map[string]any)
			wo, _ := em["workOrderNumber"].(string)
			reason, _ := em["reason"].(string)
			if w, ok := want[wo]; !ok || !strings.Contains(reason, w) {
				t.Errorf("error %v: want workOrderNumber in %v with a reason mentioning %q", em, want, want[wo])
			}
			// Our rule file and line are for our log, never for the partner.
			if strings.Contains(reason, ".yaml:") || strings.Contains(reason, "(rule ") {
				t.Errorf("error %v names a mapping rule position; the partner must not see it", em)
			}
			delete(want, wo)
		}
		if b.find(t, "pruvan", "requestor", "WO-1") == "" || b.find(t, "pruvan", "requestor", "WO-2") != "" || b.find(t, "pruvan", "requestor", "WO-3") != "" {
			t.Fatal("want WO-1 stored and WO-2, WO-3 not")
		}
	})
}

func TestPruvanFormField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		var arr struct {
			WorkOrders json.RawMessage `json:"workOrders"`
		}
		if err := json.Unmarshal([]byte(pruvanCreate), &arr); err != nil {
			t.Fatal(err)
		}
		form := url.Values{"workOrders": {pruvanCreate}}.Encode()
		code, _, body := r.do(http.MethodPost, pruvanURL(pruvanKey), "application/x-www-form-urlencoded", []byte(form), nil)
		if c, _, _, _ := counts(t, jsonOf(t, body)); code != 200 || c != 1 {
			t.Fatalf("form (document) = %d %s, want created 1", code, body)
		}
		// The field may hold the array itself.
		arrBody := strings.Replace(string(arr.WorkOrders), "TESTPOST", "TESTPOST-2", 1)
		form = url.Values{"workOrders": {arrBody}}.Encode()
		code, _, body = r.do(http.MethodPost, pruvanURL(pruvanKey), "application/x-www-form-urlencoded; charset=utf-8", []byte(form), nil)
		if c, _, _, _ := counts(t, jsonOf(t, body)); code != 200 || c != 1 {
			t.Fatalf("form (array) = %d %s, want created 1", code, body)
		}
		// multipart/form-data.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("workOrders", `{"workOrders":[{"workOrderNumber":"TESTPOST-2","clientStatus":"Order Late"}]}`)
		_ = mw.Close()
		code, _, body = r.do(http.MethodPost, pruvanURL(pruvanKey), mw.FormDataContentType(), buf.Bytes(), nil)
		if _, u, _, _ := counts(t, jsonOf(t, body)); code != 200 || u != 1 {
			t.Fatalf("multipart = %d %s, want updated 1", code, body)
		}
		// A form without the field.
		code, _, body = r.do(http.MethodPost, pruvanURL(pruvanKey), "application/x-www-form-urlencoded", []byte("orders=x"), nil)
		if _, _, _, errs := counts(t, jsonOf(t, body)); code != 400 || len(errs) != 1 || !strings.Contains(string(body), "workOrders is required") {
			t.Fatalf("form without workOrders = %d %s, want 400 naming the field", code, body)
		}
	})
}

func TestPruvanAutoAdmin(t *testing.T) {
	cases := []struct {
		autoAdmin string
		wantDesc  string
		wantKept  bool
	}{
		{"true", "remote text", false},
		{"false", "edited by a user", true},
	}
	for _, c := range cases {
		t.Run("auto_admin="+c.autoAdmin, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b *backend) {
				r := newRig(t, b, nil, &Options{Settings: map[string]map[string]string{"pruvan": {"auto_admin": c.autoAdmin}}})
				create := `{"workOrders":[{"workOrderNumber":"AA-1","address1":"1 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}],"description":"first text"}]}`
				if code, m := r.pruvan(create); code != 200 {
					t.Fatalf("create = %d %v", code, m)
				}
				id := b.find(t, "pruvan", "requestor", "AA-1")
				b.patch(t, id, &model.Patch{Fields: map[string]any{"description": "edited by a user"}})
				code, m := r.pruvan(`{"workOrders":[{"workOrderNumber":"AA-1","description":"remote text","clientInstructions":"gate code 1234"}]}`)
				if _, u, _, errs := counts(t, m); code != 200 || u != 1 || errs != nil {
					t.Fatalf("update = %d %v, want updated 1", code, m)
				}
				kept, _ := m["kept"].([]any)
				if c.wantKept != (len(kept) == 1) {
					t.Fatalf("kept = %v, want reported: %v", m["kept"], c.wantKept)
				}
				if c.wantKept {
					k := kept[0].(map[string]any)
					if k["workOrderNumber"] != "AA-1" || !strings.Contains(string(mustJSON(k["fields"])), "description") {
						t.Fatalf("kept = %v, want AA-1 description", k)
					}
				}
				evs := b.events(t, id)
				_ = evs
				// The stored value follows Auto-Admin; the remote-owned field is always written.
				o := lastOrder(t, b, id)
				if got := o.Fields["description"].Value; got != c.wantDesc {
					t.Fatalf("description = %v, want %q", got, c.wantDesc)
				}
				if got := o.Fields["client_instructions"].Value; got != "gate code 1234" {
					t.Fatalf("client_instructions = %v, want the partner's value", got)
				}
			})
		})
	}
}

// lastOrder reads an order back through a no-op platform patch.
func lastOrder(t *testing.T, b *backend, id string) *model.Order {
	t.Helper()
	return b.patch(t, id, &model.Patch{})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestPruvanStatusRules walks rows of the seed's status table through HTTP
// for both integration modes (the mapping declares the rules; the gateway
// carries the setting and answers in Pruvan's shape).
func TestPruvanStatusRules(t *testing.T) {
	create := func(wo, extra string) string {
		return `{"workOrders":[{"workOrderNumber":"` + wo + `","address1":"1 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}]` + extra + `}]}`
	}
	cases := []struct {
		mode    string
		body    string
		created int
		reason  string
	}{
		{"external", create("S-1", ``), 1, ""},
		{"external", create("S-2", `,"status":"rush"`), 1, ""},
		{"external", create("S-3", `,"status":"rework"`), 1, ""},
		{"external", create("S-4", `,"status":"unassigned"`), 0, "internal integrations only"},
		{"internal", create("S-5", `,"status":"unassigned"`), 1, ""},
		{"internal", create("S-6", `,"status":"assigned","assignedTo":"tech1"`), 1, ""},
		{"external", create("S-7", `,"assignedTo":"tech1"`), 0, "assignedTo"},
		{"external", create("S-8", `,"status":"closed"`), 0, "not advised"},
		{"internal", create("S-9", `,"status":"accepted"`), 0, "not advised"},
		{"internal", create("S-A", `,"status":"rejected"`), 0, "not advised"},
		{"internal", create("S-B", `,"status":"canceled"`), 0, "not advised"},
		{"internal", create("S-C", `,"status":"complete"`), 0, "not advised"},
		{"internal", create("S-D", `,"status":"invoiced"`), 0, "not advised"},
		{"internal", create("S-E", `,"status":"submitted"`), 0, "not advised"},
		{"internal", create("S-F", `,"status":"deleted"`), 0, "not advised"},
		{"external", create("S-G", `,"status":"assigned"`), 0, "internal integrations only"},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.body[27:31], func(t *testing.T) {
			r := newRig(t, newFakeBackend(t), nil, &Options{Settings: map[string]map[string]string{"pruvan": {"integration": c.mode}}})
			code, m := r.pruvan(c.body)
			cr, _, _, errs := counts(t, m)
			if code != 200 || cr != c.created {
				t.Fatalf("POST = %d %v, want created %d", code, m, c.created)
			}
			if c.reason != "" && (len(errs) != 1 || !strings.Contains(string(mustJSON(errs)), c.reason)) {
				t.Fatalf("error = %v, want a reason mentioning %q", m["error"], c.reason)
			}
		})
	}
}

// TestPruvanUpdateStatusRows walks the seed's Update rows through HTTP.
func TestPruvanUpdateStatusRows(t *testing.T) {
	cases := []struct {
		mode, status string
		wantStatus   model.Status
		wantFlag     model.Flag
		refused      string
	}{
		{"external", "", model.StatusNew, "", ""},
		{"internal", "unassigned", model.StatusNew, "", ""},
		{"external", "unassigned", "", "", "internal integrations only"},
		{"internal", "assigned", model.StatusSent, "", ""},
		{"external", "assigned", "", "", "internal integrations only"},
		{"external", "accepted", "", "", "not advised"},
		{"external", "rejected", "", "", "not advised"},
		{"external", "rush", model.StatusNew, model.FlagRush, ""},
		{"external", "rework", model.StatusNew, model.FlagRework, ""},
		{"external", "canceled", model.StatusCancelled, "", ""},
		{"external", "complete", "", "", "not advised"},
		{"external", "invoiced", "", "", "not advised"},
		{"external", "submitted", "", "", "not advised"},
		{"external", "closed", model.StatusClosed, "", ""},
		{"external", "deleted", model.StatusDeleted, "", ""},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.status, func(t *testing.T) {
			b := newFakeBackend(t)
			r := newRig(t, b, nil, &Options{Settings: map[string]map[string]string{"pruvan": {"integration": c.mode}}})
			if code, m := r.pruvan(`{"workOrders":[{"workOrderNumber":"U-1","address1":"1 Main","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Mow"}]}]}`); code != 200 {
				t.Fatalf("create = %d %v", code, m)
			}
			status := ""
			if c.status != "" {
				status = `,"status":"` + c.status + `"`
			}
			code, m := r.pruvan(`{"workOrders":[{"workOrderNumber":"U-1","clientStatus":"Remote Order Status is pending"` + status + `}]}`)
			_, u, d, errs := counts(t, m)
			if c.wantStatus == model.StatusDeleted {
				// A deletion is counted as deleted, not updated.
				u, d = u+1, d-1
			}
			if c.refused != "" {
				if code != 200 || u != 0 || len(errs) != 1 || !strings.Contains(string(mustJSON(errs)), c.refused) {
					t.Fatalf("update = %d %v, want the order refused mentioning %q", code, m, c.refused)
				}
				return
			}
			if code != 200 || u != 1 || d != 0 || errs != nil {
				t.Fatalf("update = %d %v, want updated 1 (deleted 1 for a deletion)", code, m)
			}
			o := lastOrder(t, b, b.find(t, "pruvan", "requestor", "U-1"))
			if o.Status != c.wantStatus || (c.wantFlag != "" && !o.HasFlag(c.wantFlag)) || o.ClientStatus == "" {
				t.Fatalf("order = status %s flags %v client %q, want %s %s", o.Status, o.Flags, o.ClientStatus, c.wantStatus, c.wantFlag)
			}
		})
	}
}

// TestPruvanDeletedOrderRecreated: an order deleted on our side is created
// again by the partner's next create, under a new internal id.
func TestPruvanDeletedOrderRecreated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		if code, m := r.pruvan(pruvanCreate); code != 200 {
			t.Fatalf("create = %d %v", code, m)
		}
		first := b.find(t, "pruvan", "requestor", "TESTPOST")
		del := model.StatusDeleted
		b.patch(t, first, &model.Patch{Status: &del})
		again := strings.Replace(pruvanCreate, "Call Office", "Call the office", 1) // a new message, not a retry
		code, m := r.pruvan(again)
		if c, _, _, errs := counts(t, m); code != 200 || c != 1 || errs != nil {
			t.Fatalf("re-create = %d %v, want created 1", code, m)
		}
		second := b.find(t, "pruvan", "requestor", "TESTPOST")
		if second == "" || second == first {
			t.Fatalf("order after re-create = %q, want a new id (was %s)", second, first)
		}
	})
}
