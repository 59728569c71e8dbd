package partners

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

// The body of a partner request is checked by jsonguard, a streaming check
// that never recurses, before authentication and before gjson or a mapping
// reads it. 1 MiB of "[" with a wrong apiKey made the process grow by about
// 230 MiB when gjson.ValidBytes ran first (one stack frame per level); eight
// such requests in parallel must now cost a few MiB at most. In process the
// Go runtime's own figures are read (TotalAlloc: heap allocated; Sys: memory
// obtained from the OS, which goroutine stacks grow too); against the real
// binary the same figures are read from its /metrics.
func TestPartnerDeepBodyRefusedBeforeAuthInBoundedMemory(t *testing.T) {
	const parallel = 8
	deep := bytes.Repeat([]byte("["), 1<<20) // exactly the default body limit
	// In process on the fake sink; against the binary in the integration run.
	mks := []func(*testing.T) *backend{newFakeBackend}
	if testutil.Integration() {
		mks = append(mks, binaryBackend)
	}
	for _, mk := range mks {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) { deepBodyBounded(t, b, deep, parallel) })
	}
}

func deepBodyBounded(t *testing.T, b *backend, deep []byte, parallel int) {
	{
		r := newRig(t, b, nil, nil)
		var before, after memFigures
		if r.url != "" {
			before = binaryMem(t, r.url)
		} else {
			before = processMem()
		}
		var wg sync.WaitGroup
		codes := make([]int, parallel)
		bodies := make([][]byte, parallel)
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes[i], _, bodies[i] = r.withT(t).do(http.MethodPost, pruvanURL("wrong-key"), "application/json", deep, nil)
			}(i)
		}
		wg.Wait()
		if r.url != "" {
			after = binaryMem(t, r.url)
		} else {
			after = processMem()
		}
		alloc, sys := after.alloc-before.alloc, int64(after.sys)-int64(before.sys)
		t.Logf("%d parallel requests of 1 MiB of [: %d KiB allocated, Sys grew by %d KiB", parallel, alloc>>10, sys>>10)
		if alloc > 16<<20 {
			t.Errorf("heap allocated while refusing = %d MiB, want under 16 MiB", alloc>>20)
		}
		if sys > 64<<20 {
			t.Errorf("memory obtained from the OS grew by %d MiB, want under 64 MiB", sys>>20)
		}
		for i := range codes {
			// 400 (not 401): the body is refused before the key is looked at.
			if codes[i] != http.StatusBadRequest || !strings.Contains(string(bodies[i]), "nested deeper than 32 levels at byte offset 32") {
				t.Errorf("POST 1 MiB of [ with a wrong apiKey = %d %s, want 400 naming the depth limit and the offset", codes[i], bodies[i])
			}
		}
	}
}

// memFigures are the Go runtime's cumulative heap allocation and the memory
// it obtained from the OS (heap, goroutine stacks, runtime structures).
type memFigures struct{ alloc, sys uint64 }

func processMem() memFigures {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memFigures{alloc: m.TotalAlloc, sys: m.Sys}
}

// binaryMem reads go_memstats_alloc_bytes_total and go_memstats_sys_bytes
// from a gatewayd's /metrics.
func binaryMem(t *testing.T, base string) memFigures {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f memFigures
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 8<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_alloc_bytes_total":
			f.alloc = uint64(v)
		case "go_memstats_sys_bytes":
			f.sys = uint64(v)
		}
	}
	if f.sys == 0 {
		t.Fatalf("/metrics of %s has no go_memstats_sys_bytes", base)
	}
	return f
}

// Invalid UTF-8 in a Pruvan work order sent as the form field is refused with
// the byte offset within the field, so "U\xff1" and "U\xfe1" never become
// two orders that both display "U\ufffd1".
func TestPruvanFormInvalidUTF8Refused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		for _, wo := range []string{"U\xff1", "U\xfe1"} {
			form := "workOrders=" + strings.ReplaceAll(strings.ReplaceAll(
				`[{"workOrderNumber":"`+wo+`","address1":"1 Main St","city":"Austin","state":"TX","zip":"78701","services":[{"serviceName":"Grass Cut"}]}]`,
				"%", "%25"), "&", "%26")
			code, _, body := r.do(http.MethodPost, pruvanURL(pruvanKey), "application/x-www-form-urlencoded", []byte(form), nil)
			if code != http.StatusBadRequest || !strings.Contains(string(body), "form field workOrders: invalid UTF-8 at byte offset 22") {
				t.Fatalf("POST work order %q = %d %s, want 400 naming byte offset 22 of the field", wo, code, body)
			}
		}
		if n := b.count(t); n != 0 {
			t.Fatalf("%d orders after two refused work orders, want 0", n)
		}
	})
}
