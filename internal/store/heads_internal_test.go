package store

import (
	"fmt"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

// TestHeadCacheIsBounded keeps the most recently used max heads and answers
// only for the exact document it holds.
func TestHeadCacheIsBounded(t *testing.T) {
	c := newHeadCache(3)
	for i := range 3 {
		c.put(fmt.Sprint(i), fmt.Sprint("doc", i), &model.Order{ID: fmt.Sprint(i)})
	}
	if c.get("0", "doc0") == nil { // 0 is now the most recent
		t.Fatal("head 0 not cached")
	}
	c.put("3", "doc3", &model.Order{ID: "3"}) // evicts 1, the least recent
	if c.ll.Len() != 3 || len(c.m) != 3 {
		t.Fatalf("cache holds %d (%d), want 3", c.ll.Len(), len(c.m))
	}
	for id, want := range map[string]bool{"0": true, "1": false, "2": true, "3": true} {
		if got := c.get(id, "doc"+id) != nil; got != want {
			t.Errorf("cached %s = %v, want %v", id, got, want)
		}
	}
	if c.get("0", "another doc") != nil {
		t.Error("a different document was answered from the cache")
	}
	c.put("0", "doc0b", &model.Order{ID: "0", Version: 2})
	if o := c.get("0", "doc0b"); o == nil || o.Version != 2 || c.get("0", "doc0") != nil {
		t.Errorf("after a new document: %+v, want only the new one", o)
	}
	if newHeadCache(-1).get("0", "doc0") != nil {
		t.Error("a disabled cache answered")
	}
}
