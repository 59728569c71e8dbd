package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// TestMigrateHistoryCommand runs `gatewayd migrate history` with the shipped
// config against orders written the old way (history inside the document):
// the first run migrates them all, the second finds nothing, and the orders
// read the same before and after.
func TestMigrateHistoryCommand(t *testing.T) {
	m, rdb := testutil.MiniRedis(t)
	t.Setenv("REDIS_URL", "redis://"+m.Addr()+"/0")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range []string{"l1", "l2", "l3"} {
		o := model.Order{ID: id, Partner: "emg", Status: model.StatusNew, Version: 2, CreatedAt: now, UpdatedAt: now,
			Messages:    []model.Message{{ID: id + "-m", Direction: model.DirectionIn, Text: "hello", At: now}},
			Attachments: []model.Attachment{{Name: "a.pdf"}}}
		doc, _ := json.Marshal(o)
		testutil.Must(t, rdb.HSet(ctx, "sog:{o:"+id+"}:order", "v", 2, "doc", doc, "pub", 1).Err())
		testutil.Must(t, rdb.ZAdd(ctx, "sog:orders", redisZ(float64(now.UnixMilli()), id)).Err())
	}
	args := []string{"migrate", "history", "-config", testutil.ModuleRoot(t) + "/configs/gateway.yaml"}
	for i, want := range []string{"3 orders scanned, 3 migrated", "3 orders scanned, 0 migrated"} {
		var out, errb bytes.Buffer
		if code := run(args, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: gatewayd migrate history = %d, %q (stderr %q), want 0 and %q", i+1, code, out.String(), errb.String(), want)
		}
	}
	doc, _ := rdb.HGet(ctx, "sog:{o:l2}:order", "doc").Result()
	if strings.Contains(doc, "hello") {
		t.Fatalf("order document still holds its messages after migrating: %s", doc)
	}
	o, err := store.New(rdb, nil).GetOrder(ctx, "l2")
	testutil.Must(t, err)
	if len(o.Messages) != 1 || o.Messages[0].Text != "hello" || len(o.Attachments) != 1 || o.Version != 2 {
		t.Fatalf("migrated order = v%d %+v %+v, want v2 with its message and attachment", o.Version, o.Messages, o.Attachments)
	}
	var errb bytes.Buffer
	if code := run([]string{"migrate", "everything"}, nil, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), "usage") {
		t.Fatalf("gatewayd migrate everything = %d %q, want 2 with usage", code, errb.String())
	}
}

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
