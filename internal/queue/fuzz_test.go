package queue

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

// FuzzJobRoundTrip feeds arbitrary ids, groups, payloads and meta through
// Enqueue, Claim, Get and Ack: any bytes either are refused as invalid or
// come back unchanged, and the job's group keeps its hash tag intact.
func FuzzJobRoundTrip(f *testing.F) {
	f.Add("d1", "order-1", []byte(`{"a":1}`), "k", "v")
	f.Add("a}b{c", "{v:other}", []byte{0, 1, 2, 255}, "", "")
	f.Add("x:job:y", "", []byte(""), "ключ", "\x00")
	f.Add("id with spaces", "g\n", []byte("\r\n"), "k", "")
	m, rdb := testutil.MiniRedis(f)
	q := New(rdb, &Options{Logger: quiet()})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, id, group string, payload []byte, mk, mv string) {
		m.FlushAll()
		meta := map[string]string{mk: mv}
		err := q.Enqueue(ctx, &Job{ID: id, Vendor: "acme", Group: group, Payload: payload, Meta: meta}, time.Time{})
		if err != nil {
			if !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("Enqueue(%q, %q) = %v, want nil or model.ErrInvalid", id, group, err)
			}
			return
		}
		ls, err := q.Claim(ctx, "acme", 10)
		if err != nil || len(ls) != 1 {
			t.Fatalf("Claim = %d leases, %v, want 1", len(ls), err)
		}
		j := ls[0].Job
		if j.ID != id || j.Group != group || !bytes.Equal(j.Payload, payload) {
			t.Fatalf("Claim returned id %q group %q payload %q, want %q %q %q", j.ID, j.Group, j.Payload, id, group, payload)
		}
		// JSON meta keeps valid UTF-8 exactly; invalid bytes become U+FFFD.
		if len(meta) > 0 && j.Meta == nil {
			t.Fatalf("Claim lost the meta %q", meta)
		}
		if isUTF8(mk) && isUTF8(mv) && !maps.Equal(j.Meta, meta) {
			t.Fatalf("Claim returned meta %q, want %q", j.Meta, meta)
		}
		if err := q.Ack(ctx, ls[0]); err != nil {
			t.Fatalf("Ack = %v", err)
		}
		g, err := q.Get(ctx, "acme", id)
		if err != nil || g.State != StateDone || !bytes.Equal(g.Payload, payload) {
			t.Fatalf("Get = %+v, %v, want done with the payload", g, err)
		}
		for _, k := range m.Keys() {
			if !bytes.HasPrefix([]byte(k), []byte("sog:{v:acme}:")) && k != "sog:vendors" {
				t.Fatalf("key %q escapes the vendor's hash tag", k)
			}
		}
	})
}

func isUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}
