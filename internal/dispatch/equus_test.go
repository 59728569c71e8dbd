package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// mappingSet renders with real mappings, as the renderer cmd/gatewayd
// injects does (dispatch itself does not import mappings).
type mappingSet map[string]*mappings.Mapping

func (s mappingSet) Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error) {
	if s[partner] == nil {
		return nil, ErrNoMapping
	}
	out, err := s[partner].Render(kind, o, ev, extra)
	if errors.Is(err, mappings.ErrUnknownRender) {
		return nil, fmt.Errorf("%w: %w", ErrUnknownRender, err)
	} else if err != nil {
		return nil, err
	}
	return &Rendered{out.ContentType, out.Body, out.Subject, out.Headers}, nil
}

func (s mappingSet) Renders(partner string) ([]string, bool) {
	if s[partner] == nil {
		return nil, false
	}
	return s[partner].Renders(), true
}

func (s mappingSet) EventName(partner, t string) (string, string, bool) {
	n, ok := s[partner].EventName(t)
	return n.RequestType, n.Direction, ok
}

// TestWithTheEquusMapping runs Save and Send, a window, update of values and
// pull through the shipped equus mapping instead of a fake.
func TestWithTheEquusMapping(t *testing.T) {
	m, err := mappings.LoadFile(filepath.Join("..", "..", "mappings", "equus", "equus.yaml"))
	if err != nil {
		t.Fatalf("load the equus mapping: %v", err)
	}
	suite(t, nil, func(t *testing.T, f *fixture) {
		f.svc = New(f.st, f.q, mappingSet{"equus": m}, f.opt)
		// acmeConfig's order.message definition uses render "message", which equus lacks.
		if w := f.svc.Status(f.ctx)["acme-movers"].Warnings; len(w) != 1 || !strings.Contains(w[0], `uses render "message", which mapping equus lacks`) {
			t.Errorf("Status warnings = %q, want the missing message render named", w)
		}

		_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(2*time.Hour+10*time.Minute))
		testutil.Must(t, err)
		f.order(t, "o1", nil)
		res := f.send(t, "o1")
		if !res.Held || !strings.Contains(res.Notice, "maintenance is complete in 2 hours 10 minutes") {
			t.Fatalf("notice = %q, want the equus maintenance notice with the time remaining", res.Notice)
		}
		f.clk.Advance(2*time.Hour + 10*time.Minute + time.Second)
		f.deliverDue(t)
		f.patch(t, "o1", func(o *model.Order) { o.Fields["move_date"] = model.Field{Value: "2026-12-09"} })
		f.deliverDue(t)
		got := f.vendor.received()
		if len(got) != 2 {
			t.Fatalf("vendor got %d requests, want 2", len(got))
		}
		bodies := make([]map[string]any, 2)
		for i := range got {
			testutil.Must(t, json.Unmarshal(got[i].body, &bodies[i]))
		}
		order, _ := bodies[0]["order"].(map[string]any)
		if bodies[0]["deliveryId"] != got[0].id || bodies[0]["event"] != "order.submitted" || order["id"] != "o1" || order["company"] != "globex" {
			t.Errorf("order payload = %v, want deliveryId = webhook-id %s and the order", bodies[0], got[0].id)
		}
		values, _ := bodies[1]["values"].(map[string]any)
		if bodies[1]["deliveryId"] != got[1].id || bodies[1]["event"] != "order.updated" || values["move_date"] != "2026-12-09" {
			t.Errorf("update payload = %v, want the changed move_date", bodies[1])
		}
		page, err := f.svc.Pull(f.ctx, "acme-movers", "", 10)
		testutil.Must(t, err)
		var view map[string]any
		if len(page.Orders) != 1 || json.Unmarshal(page.Orders[0], &view) != nil || view["id"] != "o1" || view["serviceType"] != "household_goods_move" {
			t.Errorf("pull = %s, want the equus pull view of o1", page.Orders)
		}
	})
}

// TestShippedVendorConfigFitsTheEquusMapping checks that every render the
// shipped acme-movers definitions and pull use exists in the equus mapping.
func TestShippedVendorConfigFitsTheEquusMapping(t *testing.T) {
	m, err := mappings.LoadFile(filepath.Join("..", "..", "mappings", "equus", "equus.yaml"))
	if err != nil {
		t.Fatalf("load the equus mapping: %v", err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "vendors.example.yaml"))
	testutil.Must(t, err)
	var doc struct {
		Vendors  map[string]configs.VendorConfig `yaml:"vendors"`
		Dispatch configs.DispatchConfig          `yaml:"dispatch"`
	}
	b = []byte(os.Expand(string(b), func(string) string { return "http://127.0.0.1:9" }))
	testutil.Must(t, yaml.Unmarshal(b, &doc))
	_, rdb := testutil.MiniRedis(t)
	env := &adapters.Env{LookupEnv: func(string) (string, bool) { return "whsec_c2V0", true }} // a value every variable may hold, the webhook secret too
	svc := New(store.New(rdb, nil), queue.New(rdb, nil), mappingSet{"equus": m},
		&Options{Vendors: doc.Vendors, Dispatch: doc.Dispatch, AdapterEnv: env, Logger: quiet()})
	st, ok := svc.Status(context.Background())["acme-movers"]
	if !ok || !st.Available || len(st.Warnings) != 0 {
		t.Fatalf("Status(acme-movers) = %+v, want available without warnings", st)
	}
}
