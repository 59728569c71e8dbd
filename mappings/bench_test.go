package mappings

import (
	"os"
	"strings"
	"testing"
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
