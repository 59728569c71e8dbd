package gateway_test

import (
	"fmt"
	"testing"
)

// TestHistoryListingsPage walks GET /v1/orders/{id}/messages and /events page
// by page and checks the order itself still carries the whole history.
func TestHistoryListingsPage(t *testing.T) {
	e := newEnv(t, nil, true)
	_, _, o := e.do(t, "POST", "/v1/orders", "application/json", `{"partner":"ssp7","refs":{"requestor":"T-hist"}}`)
	id := o["id"].(string)
	for i := 0; i < 7; i++ {
		if code, _, b := e.do(t, "POST", "/v1/orders/"+id+"/messages", "application/json", fmt.Sprintf(`{"text":"note %d"}`, i)); code != 201 {
			t.Fatalf("message %d = %d %v, want 201", i, code, b)
		}
	}
	var texts []string
	cursor, pages := "", 0
	for {
		code, _, page := e.do(t, "GET", "/v1/orders/"+id+"/messages?limit=3&cursor="+cursor, "", "")
		if code != 200 {
			t.Fatalf("messages page = %d %v, want 200", code, page)
		}
		pages++
		for _, m := range page["messages"].([]any) {
			texts = append(texts, m.(map[string]any)["text"].(string))
		}
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(texts) != 7 || texts[0] != "note 0" || texts[6] != "note 6" {
		t.Fatalf("paged messages = %d pages %v, want 3 pages of note 0..note 6", pages, texts)
	}
	_, _, evs := e.do(t, "GET", "/v1/orders/"+id+"/events?limit=5", "", "")
	if n := len(evs["events"].([]any)); n != 5 || evs["next_cursor"] == nil {
		t.Fatalf("events?limit=5 = %d events, next %v, want 5 and a next cursor (8 events)", n, evs["next_cursor"])
	}
	_, _, rest := e.do(t, "GET", "/v1/orders/"+id+"/events?limit=5&cursor="+evs["next_cursor"].(string), "", "")
	if n := len(rest["events"].([]any)); n != 3 || rest["next_cursor"] != nil {
		t.Fatalf("second events page = %d events, next %v, want 3 and none", n, rest["next_cursor"])
	}
	_, _, full := e.do(t, "GET", "/v1/orders/"+id, "", "")
	if n := len(full["messages"].([]any)); n != 7 {
		t.Fatalf("GET order has %d messages, want all 7", n)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=1001", "cursor=zz"} {
		if code, _, p := e.do(t, "GET", "/v1/orders/"+id+"/messages?"+q, "", ""); code != 422 {
			t.Errorf("messages?%s = %d %v, want 422", q, code, p)
		}
	}
	if code, _, _ := e.do(t, "GET", "/v1/orders/nope/messages", "", ""); code != 404 {
		t.Errorf("messages of an unknown order = %d, want 404", code)
	}
}
