package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// writeWholeThenRead sends a request the way Python requests and .NET
// HttpWebRequest do: the whole body first, then it reads the answer. The
// body goes out in 32 KiB pieces 10 ms apart, as over a real network: the
// server's own grace period after it stops reading (500 ms) must not be what
// makes the test pass.
func writeWholeThenRead(t *testing.T, url, head string, body []byte) (*http.Response, error) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(head)); err != nil {
		return nil, fmt.Errorf("writing the head: %w", err)
	}
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 32<<10)
		if _, err := conn.Write(rest[:n]); err != nil {
			return nil, fmt.Errorf("writing the body (%d bytes left): %w", len(rest), err)
		}
		rest = rest[n:]
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func TestBinaryOversizedV1BodyWrittenWholeGets413(t *testing.T) {
	g := startGateway(t)
	body := []byte(`{"partner":"equus","fields":{"x":"` + strings.Repeat("a", 3<<20) + `"}}`)
	heads := map[string]string{
		"content-length": fmt.Sprintf("POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+testutil.AdminToken+"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)),
	}
	var chunked bytes.Buffer
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	chunked.WriteString("0\r\n\r\n")
	for name, head := range heads {
		t.Run(name, func(t *testing.T) {
			resp, err := writeWholeThenRead(t, g.URL, head, body)
			if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("POST 3 MiB written whole = %v, %v; want 413", resp, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), "exceeds the limit of 1048576 bytes") {
				t.Errorf("413 body = %s, want the limit named", b)
			}
		})
	}
	t.Run("chunked", func(t *testing.T) {
		head := "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testutil.AdminToken + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		resp, err := writeWholeThenRead(t, g.URL, head, chunked.Bytes())
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST 3 MiB chunked, written whole = %v, %v; want 413", resp, err)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		head := "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		resp, err := writeWholeThenRead(t, g.URL, head, chunked.Bytes())
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous POST 3 MiB chunked, written whole = %v, %v; want 401", resp, err)
		}
	})
}

func TestBinaryV1RefusesInvalidUTF8DuplicateKeysAndUnknownPartners(t *testing.T) {
	g := startGateway(t)
	for _, tc := range []struct {
		name, body string
		want       int
		detail     string
	}{
		{"invalid UTF-8", "{\"partner\":\"equus\",\"refs\":{\"requestor\":\"U\xff1\"}}", 400, "invalid UTF-8 at byte offset 41"},
		{"duplicate key", `{"partner":"equus","partner":"pruvan"}`, 400, `duplicate member "partner"`},
		{"nested duplicate key", `{"partner":"equus","fields":{"a":1,"a":2}}`, 400, `duplicate member "a" in fields`},
		{"too deep", `{"partner":"equus","fields":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`, 400, "nested deeper than 32"},
		{"unknown partner", `{"partner":"no-such-partner"}`, 422, "partner \"no-such-partner\" is not known; must be one of "},
		{"no partner", `{"company":"globex"}`, 422, "is required: one of "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, p := do(t, "POST", g.URL+"/v1/orders", tc.body)
			// The known partners are the mappings and the vendors, whatever folders are present.
			if code != tc.want || !strings.Contains(fmt.Sprint(p["detail"]), tc.detail) ||
				(tc.want == 422 && !strings.Contains(fmt.Sprint(p["detail"]), "acme-movers, emg, equus, extend")) {
				t.Fatalf("POST /v1/orders %s = %d %v, want %d with %q", tc.name, code, p, tc.want, tc.detail)
			}
		})
	}
	// PATCH reads through the same guard.
	_, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"equus","refs":{"requestor":"U-1"}}`)
	code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+fmt.Sprint(o["id"]), "{\"client_status\":\"\xfe\"}", "If-Match", `"1"`)
	if code != 400 || !strings.Contains(fmt.Sprint(p["detail"]), "invalid UTF-8 at byte offset 18") {
		t.Fatalf("PATCH with invalid UTF-8 = %d %v, want 400 naming byte offset 18", code, p)
	}
}

func TestBinaryMetricsHaveRuntimeAndProcessCollectors(t *testing.T) {
	g := startGateway(t)
	body := get(t, g.URL+"/metrics")
	for _, m := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_open_fds "} {
		if !strings.Contains(body, "\n"+m) {
			t.Errorf("/metrics has no %s", m)
		}
	}
}

// TestBinaryAcceptedStatusIsAcceptance: an order whose status is accepted is
// accepted, however the platform said so, and Extend's servicer events
// (which need an accepted order) then succeed.
func TestBinaryAcceptedStatusIsAcceptance(t *testing.T) {
	g := startGateway(t, "EXTEND_ACCESS_TOKEN=tok-e2e")
	event := func(id string) (int, map[string]any) {
		code, _, m := do(t, "POST", g.URL+"/partners/extend/service-orders/"+id+"/update-repair",
			`{"event":"repair_started","repairStartedAt":1700000000}`, "X-Extend-Access-Token", "tok-e2e")
		return code, m
	}
	create := func(body string) map[string]any {
		code, _, o := do(t, "POST", g.URL+"/v1/orders", body)
		if code != 201 {
			t.Fatalf("POST /v1/orders %s = %d %v", body, code, o)
		}
		return o
	}
	// PATCH status accepted stamps accepted_at.
	o := create(`{"partner":"extend","service_type":"repair_depot","refs":{"requestor":"EX-1"}}`)
	id := o["id"].(string)
	if code, m := event(id); code != 409 {
		t.Fatalf("event on a new order = %d %v, want 409 not accepted", code, m)
	}
	code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, `{"status":"accepted"}`, "If-Match", `"1"`)
	if code != 200 || p["status"] != "accepted" || p["accepted_at"] == nil {
		t.Fatalf("PATCH status accepted = %d %v, want accepted with accepted_at", code, p)
	}
	if code, m := event(id); code != 200 {
		t.Fatalf("event after PATCH status accepted = %d %v, want 200", code, m)
	}
	// "Any request can contain any data": members the mapping does not name
	// are kept in the event's data; typed members are still checked.
	code, _, m := do(t, "POST", g.URL+"/partners/extend/service-orders/"+id+"/update-repair",
		`{"event":"repair_eta","isDelayed":true,"technician":{"name":"Ann"},"bench":"B-4"}`, "X-Extend-Access-Token", "tok-e2e")
	if code != 200 {
		t.Fatalf("event with extra members = %d %v, want 200", code, m)
	}
	_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
	list, _ := evs["events"].([]any)
	last, _ := list[len(list)-1].(map[string]any)
	data, _ := last["data"].(map[string]any)
	if extra, _ := data["extra"].(map[string]any); extra["bench"] != "B-4" || fmt.Sprint(extra["technician"]) != "map[name:Ann]" || data["is_delayed"] != true {
		t.Fatalf("event data = %v, want is_delayed and extra.bench, extra.technician kept", data)
	}
	if code, _, m := do(t, "POST", g.URL+"/partners/extend/service-orders/"+id+"/update-repair",
		`{"event":"repair_eta","isDelayed":"yes","bench":"B-4"}`, "X-Extend-Access-Token", "tok-e2e"); code != 422 {
		t.Fatalf("event with a mistyped member and extras = %d %v, want 422", code, m)
	}
	// Created accepted, by status or by the accepted flag: the same thing.
	for _, body := range []string{
		`{"partner":"extend","service_type":"repair_depot","status":"accepted"}`,
		`{"partner":"extend","service_type":"repair_depot","accepted":true}`,
	} {
		o := create(body)
		if o["status"] != "accepted" || o["accepted_at"] == nil {
			t.Fatalf("POST %s = %v, want status accepted with accepted_at", body, o)
		}
		if code, m := event(o["id"].(string)); code != 200 {
			t.Fatalf("event on %s = %d %v, want 200", body, code, m)
		}
	}
	// accepted:false cannot contradict status accepted.
	o = create(`{"partner":"extend","service_type":"repair_depot","status":"accepted"}`)
	code, _, p = do(t, "PATCH", g.URL+"/v1/orders/"+o["id"].(string), `{"accepted":false}`, "If-Match", `"1"`)
	if code != 422 || !strings.Contains(fmt.Sprint(p["detail"]), "accepted") {
		t.Fatalf("PATCH accepted:false on an accepted order = %d %v, want 422", code, p)
	}
}
