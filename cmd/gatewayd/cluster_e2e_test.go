package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// TestBinaryOnRedisCluster runs the real binary on a real three-master Redis
// Cluster (REDIS_URL lists the nodes): every multi-key script must keep its
// keys in one hash-tag slot, so creating, patching, reading events, sending to
// a vendor through the delay queue and an offline window all work there.
func TestBinaryOnRedisCluster(t *testing.T) {
	g, vendor := startWithVendor(t, testutil.StartRedisCluster(t).URL())
	var ids []string
	for i := 0; i < 6; i++ { // several orders, so their keys land on different nodes
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"acme-movers","company":"globex","service_type":"household_goods_move","refs":{"requestor":"CL-%d"},"fields":{"move_date":"2026-12-01","origin_address":"a","destination_address":"b"}}`, i))
		if code != 201 {
			t.Fatalf("create on the cluster = %d %v", code, o)
		}
		id := o["id"].(string)
		ids = append(ids, id)
		if code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, `{"client_status":"ready","version":1}`); code != 200 {
			t.Fatalf("patch on the cluster = %d %v", code, p)
		}
		if code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, `{"client_status":"stale","version":1}`); code != 412 {
			t.Fatalf("stale patch on the cluster = %d %v, want 412", code, p)
		}
		if code, _, r := do(t, "POST", g.URL+"/v1/orders/"+id+"/send", ""); code != 202 {
			t.Fatalf("send on the cluster = %d %v", code, r)
		}
	}
	waitFor(t, "every order delivered", 30*time.Second, func() bool { return vendor.count() == len(ids) })
	for _, id := range ids {
		_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
		if n := len(evs["events"].([]any)); n != 3 {
			t.Errorf("order %s has %d events on the cluster, want 3 (created, updated, submitted)", id, n)
		}
	}
	if strings.Contains(g.Logs(), "CROSSSLOT") {
		t.Fatalf("a command crossed slots:\n%s", g.Logs())
	}
}

// TestBinaryThroughRedisSentinel runs the real binary with REDIS_URL naming a
// Sentinel group: the gateway asks the sentinel for the master and keeps its
// orders there.
func TestBinaryThroughRedisSentinel(t *testing.T) {
	rs := testutil.StartRedisSentinel(t)
	g := startGateway(t, "REDIS_URL="+rs.URL())
	code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"equus","refs":{"requestor":"S-1"}}`)
	if code != 201 {
		t.Fatalf("create through sentinel = %d %v", code, o)
	}
	n, err := rs.Master.Client().Exists(context.Background(), "sog:{o:"+o["id"].(string)+"}:order").Result()
	if err != nil || n != 1 {
		t.Fatalf("the order is not on the sentinel's master: %d %v", n, err)
	}
	if code, _, r := do(t, "GET", g.URL+"/readyz", ""); code != 200 {
		t.Fatalf("readyz through sentinel = %d %v", code, r)
	}
}
