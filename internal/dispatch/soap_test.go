package dispatch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/equus/sogateway/internal/clock"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// TestSOAPProviderWithTheSSP7Mapping sends Submit Request to an external
// provider that speaks SOAP (seed 004, direction Out) through the shipped
// ssp7 mapping, then a Resolution Rejection that the provider faults.
func TestSOAPProviderWithTheSSP7Mapping(t *testing.T) {
	m, err := mappings.LoadFile(filepath.Join("..", "..", "mappings", "ssp7", "ssp7.yaml"))
	if err != nil {
		t.Fatalf("load the ssp7 mapping: %v", err)
	}
	var mu sync.Mutex
	var bodies, actions []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, actions = append(bodies, string(b)), append(actions, r.Header.Get("SOAPAction"))
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		if n == 2 {
			w.WriteHeader(500)
			io.WriteString(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Reason is not accepted</faultstring></soap:Fault></soap:Body></soap:Envelope>`)
			return
		}
		io.WriteString(w, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Ok/></soap:Body></soap:Envelope>`)
	}))
	defer srv.Close()
	_, rdb := testutil.MiniRedis(t)
	ctx := context.Background()
	st := store.New(rdb, nil)
	clk := &clock.Offset{}
	svc := New(st, queue.New(rdb, &queue.Options{Now: clk.Now, Logger: quiet()}), mappingSet{"ssp7": m}, &Options{
		Vendors: map[string]configs.VendorConfig{"servicedesk": {
			Mapping: "ssp7", Transport: "soap", Endpoint: srv.URL, SOAP: configs.SOAPConfig{Action: "http://tempuri.org/TaskEvent"},
			Permissions: configs.PermissionSet{ServiceTypes: []string{"*"}},
			Definitions: []configs.EventDefinition{
				{Company: "*", ServiceType: "*", Event: "order.submitted", Active: true, Render: "submit_request"},
				{Company: "*", ServiceType: "*", Event: "order.resolution_rejected", Active: true, Render: "resolution_rejection"},
			},
		}},
		Now: clk.Now, Logger: quiet(),
	})
	o := &model.Order{ID: "t1", Partner: "servicedesk", Company: "globex", ServiceType: "incident", Status: model.StatusNew,
		Refs: model.Refs{Requestor: "TASK-77", Servicer: "EXT-9"}}
	testutil.Must(t, st.CreateOrder(ctx, o, &model.Event{ID: "c1", Type: model.EventOrderCreated, Direction: model.DirectionIn, Protocol: model.ProtocolPlatform}))
	res, err := svc.Send(ctx, "t1", SendOptions{})
	testutil.Must(t, err)
	rej := &model.Event{ID: "rej1", OrderID: "t1", Type: model.EventOrderResolutionRejected, Direction: model.DirectionOut,
		Protocol: model.ProtocolPlatform, Data: map[string]any{"reason": "Printer still jams"}}
	testutil.Must(t, st.AppendEvent(ctx, rej))
	if _, err := svc.OnEvent(ctx, o, rej); err != nil {
		t.Fatal(err)
	}
	svc.DeliverDue(ctx, "servicedesk", 0)
	svc.DeliverDue(ctx, "servicedesk", 0)
	if len(bodies) != 2 {
		t.Fatalf("provider got %d requests, want 2", len(bodies))
	}
	for _, want := range []string{`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><TaskEvent`,
		"<RequestType>Submit Request</RequestType>", "<Direction>Out</Direction>", "<TaskId>TASK-77</TaskId>",
		"<DeliveryId>" + res.Deliveries[0].ID + "</DeliveryId>"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("Submit Request body lacks %s:\n%s", want, bodies[0])
		}
	}
	if actions[0] != `"http://tempuri.org/TaskEvent"` || !strings.Contains(bodies[1], "<Reason>Printer still jams</Reason>") {
		t.Errorf("SOAPAction %q, rejection body %s", actions[0], bodies[1])
	}
	ds, _ := svc.Deliveries(ctx, "t1")
	if len(ds) != 2 || ds[0].Status != model.DeliverySuccess || ds[1].Status != model.DeliveryFailure ||
		!strings.Contains(ds[1].LastError, "SOAP fault Client: Reason is not accepted") {
		t.Fatalf("deliveries = %+v / %+v, want Success then a Failure naming the fault", ds[0], ds[len(ds)-1])
	}
}
