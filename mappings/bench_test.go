package mappings

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/model"
)

// benchMapping has 20 rules of the common kinds: paths, required, types,
// trim/upper/truncate, a value map, a time layout, a template and constants.
const benchMapping = `partner: bench
protocols: [rest]
maps:
  state: {status: true, values: {Open: new, Working: in_progress, Done: resolved}}
message_id: header.id
inbound:
  - kind: update
    match: {path: header.verb, equals: Update}
    event: order.updated
    rules:
      - {to: target.requestor, from: body.requestorId, required: true}
      - {to: refs.servicer, from: body.servicerId, type: string}
      - {to: status, from: body.state, do: [{map: state}]}
      - {to: client_status, from: body.state}
      - {to: company, from: body.company, do: [trim]}
      - {to: service_type, from: body.serviceType, do: [lower]}
      - {to: fields.description, from: body.description, type: string, do: [{truncate: 4000}]}
      - {to: fields.short_description, from: body.shortDescription, type: string, do: [{truncate: 160}]}
      - {to: fields.impact, from: body.impact, pattern: '^(High|Medium|Low)$'}
      - {to: fields.urgency, from: body.urgency, pattern: '^(High|Medium|Low)$'}
      - {to: fields.due_date, from: body.dueDate, do: [{time: "2006-01-02 1504 -07"}]}
      - {to: fields.created_at, from: [header.creationTime, header.createTime], type: timestamp}
      - {to: fields.address1, from: body.address.line1, do: [trim]}
      - {to: fields.city, from: body.address.city}
      - {to: fields.state, from: body.address.state, do: [upper]}
      - {to: fields.zip, from: body.address.zip, do: [to_string]}
      - {to: fields.contact, from: body.contact}
      - {to: data.account, from: body.account}
      - {to: data.source, value: bench}
      - {to: message, template: "{{body.requestorId}}: {{body.state}}"}
`

const benchPayload = `{"header":{"id":"4f6ec8d0-902f-4892-aa31-8bfed1edc075","source":"3e095d30-40ff-11e9-8959-5be078353003","verb":"Update","resource":"BreakFix","creationTime":"2020-05-21T02:08:11.471Z","version":"1.0"},
"body":{"requestorId":"123456789","servicerId":"1-199912345789","state":"Working","company":" Equus ","serviceType":"Repair_Onsite",
"description":"Ticket 1-199912345789 has been scheduled || IBX: AT3 || Scheduled Date/Time: 2021-05-12T00:45:52 || technician will call the site contact thirty minutes before arrival and will need badge access to the cage","shortDescription":"Scheduled visit",
"impact":"High","urgency":"Medium","dueDate":"2020-05-28 1200 +0","address":{"line1":" 111 East Main ","city":"Round Rock","state":"tx","zip":78664},
"contact":"demo@example.com","account":"123456","notes":["first note on the ticket","second note on the ticket","third note"],"extra":{"a":1,"b":2,"c":"some padding to bring the payload to about one kibibyte of JSON","d":[1,2,3,4,5,6,7,8,9,10]}}}`

// BenchmarkTranslate measures apply for a ~1 KiB payload with 20 rules.
func BenchmarkTranslate(b *testing.B) {
	dir := b.TempDir()
	writeMappingB(b, dir, "bench", benchMapping)
	set, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	m := set.Get("bench")
	in := Input{Body: []byte(benchPayload)}
	res, err := m.Translate(in)
	if err != nil || res.Items[0].Err != nil {
		b.Fatalf("Translate = %v / %v", err, res.Items[0].Err)
	}
	if n := len(m.kinds[0].rules); n != 20 {
		b.Fatalf("bench mapping has %d rules, want 20", n)
	}
	b.SetBytes(int64(len(benchPayload)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Translate(in); err != nil {
			b.Fatal(err)
		}
	}
}

func writeMappingB(b *testing.B, dir, partner, src string) {
	b.Helper()
	if err := mkPartner(dir, partner, src); err != nil {
		b.Fatal(err)
	}
}

func TestBenchPayloadSize(t *testing.T) {
	if n := len(benchPayload); n < 900 || n > 1200 {
		t.Errorf("bench payload is %d bytes, want about 1 KiB", n)
	}
	if !strings.Contains(benchMapping, "message:") && !strings.Contains(benchMapping, "to: message") {
		t.Error("bench mapping lost its template rule")
	}
}

// BenchmarkRender measures the equus "order" render of a typical order.
func BenchmarkRender(b *testing.B) {
	set, err := Load(".")
	if err != nil {
		b.Fatal(err)
	}
	m := set.Get("equus")
	data, err := os.ReadFile("equus/fixtures/render-order-full.render.json")
	if err != nil {
		b.Fatal(err)
	}
	rc, err := decodeRenderCase(data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Render(rc.Render, rc.Order, rc.Event, rc.Extra); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAck measures the emg "ack" render the gateway signs for
// every EMG message: an order as an Update leaves it (fields, refs, a
// message) and the inbound event with its raw Task kept for audit.
func BenchmarkRenderAck(b *testing.B) {
	set, err := Load(".")
	if err != nil {
		b.Fatal(err)
	}
	m := set.Get("emg")
	o, ev, extra := benchAckCase()
	r, err := m.Render("ack", o, ev, extra)
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(string(r.Body), `"ServicerId":"0192d6a8-8d1e-7c43-9a55-3f1e2d4c5b6a"`) {
		b.Fatalf("ack = %s", r.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Render("ack", o, ev, extra); err != nil {
			b.Fatal(err)
		}
	}
}

// benchAckCase is an EMG BreakFix ticket after an Update, the Update's
// event and the extra values the gateway passes to the ack render.
func benchAckCase() (*model.Order, *model.Event, map[string]any) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	o := &model.Order{ID: "0192d6a8-8d1e-7c43-9a55-3f1e2d4c5b6a", Partner: "emg", Company: "globex", ServiceType: "breakfix",
		Refs: model.Refs{Requestor: "BENCH-17", Servicer: "1-199912345789"}, Status: model.StatusInProgress,
		PartnerStatus: "InProgress", ClientStatus: "InProgress",
		Fields: map[string]model.Field{
			"description": {Value: "Ticket 1-199912345789 has been updated || IBX: AT3 || note 17", Owner: model.OwnerShared, LastWriter: "emg", UpdatedAt: at},
		},
		Messages: []model.Message{{ID: "m1", Direction: model.DirectionIn, Author: "emg", Text: "Ticket 1-199912345789 has been updated || IBX: AT3 || note 17", Protocol: model.ProtocolREST, At: at}},
		Writers:  map[string]string{"status": "emg"},
		Version:  7, CreatedAt: at, UpdatedAt: at, Stored: model.HistoryCount{Messages: 0},
	}
	raw := `{"Task":{"Id":"6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b","Source":"3e095d30-40ff-11e9-8959-5be078353003","Verb":"Update","Resource":"BreakFix",` +
		`"ContentType":"application/json","CreationTimeUTC":"2026-12-02T10:00:00.000Z","Version":"1.0","Body":{"RequestorId":"BENCH-17","ServicerId":"1-199912345789",` +
		`"State":"InProgress","Description":"Ticket 1-199912345789 has been updated || IBX: AT3 || note 17"}},"Signature":"` + strings.Repeat("QUJD", 86) + `"}`
	ev := &model.Event{ID: "0192d6a8-8d1f-7000-8000-000000000001", OrderID: o.ID, Type: model.EventOrderStatusChanged, Direction: model.DirectionIn,
		Partner: "emg", Protocol: model.ProtocolREST, MessageID: "6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", At: at,
		Data: map[string]any{"servicer_id": "1-199912345789"}, MappingVersion: "sha256:0123456789ab", Raw: raw, OrderVersion: 7}
	extra := map[string]any{"message_id": "0d5c4b3a-2918-5706-a5b4-c3d2e1f0a9b8", "source": "3e095d30-40ff-11e9-8959-5be078353003",
		"resource": "BreakFix", "now": "2026-12-02T10:00:00.123Z", "origination_id": "6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
		"origination_verb": "Update", "status_code": 202}
	return o, ev, extra
}
