package partners

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// backend is a model.Sink plus what the tests need to arrange and observe
// the platform side. The same suite runs on the fake, on intake over
// miniredis and (integration) on intake over a real redis-server.
type backend struct {
	name string
	sink model.Sink
	// create makes an order as the platform does (POST /v1/orders).
	create func(t *testing.T, o *model.Order) *model.Order
	// patch changes an order as the platform does (PATCH /v1/orders/{id}).
	patch func(t *testing.T, id string, p *model.Patch) *model.Order
	// events lists the events of an order.
	events func(t *testing.T, id string) []*model.Event
	// find returns the order id of a partner reference, "" when none.
	find func(t *testing.T, partner, kind, ref string) string
	// count is the number of orders stored.
	count func(t *testing.T) int
	// redisURL, when set, makes the rig send partner requests to a real
	// gatewayd process on that Redis (partners_binary_test.go).
	redisURL string
}

// backends returns the sinks the suites run against.
func backends(t *testing.T) []func(t *testing.T) *backend {
	t.Helper()
	bs := []func(t *testing.T) *backend{newFakeBackend, func(t *testing.T) *backend {
		_, rdb := testutil.MiniRedis(t)
		return intakeBackend("intake-miniredis", intake.New(store.New(rdb, nil), nil))
	}}
	if testutil.Integration() {
		bs = append(bs, func(t *testing.T) *backend {
			srv := testutil.StartRedis(t)
			return intakeBackend("intake-redis", intake.New(store.New(srv.Client(), nil), nil))
		}, binaryBackend)
	}
	return bs
}

func intakeBackend(name string, svc *intake.Service) *backend {
	st := svc.Store()
	ctx := context.Background()
	return &backend{
		name: name,
		sink: svc,
		create: func(t *testing.T, o *model.Order) *model.Order {
			t.Helper()
			o, _, err := svc.CreateOrder(ctx, o)
			testutil.Must(t, err)
			return o
		},
		patch: func(t *testing.T, id string, p *model.Patch) *model.Order {
			t.Helper()
			o, _, err := svc.PatchOrder(ctx, id, 0, p, nil)
			testutil.Must(t, err)
			return o
		},
		events: func(t *testing.T, id string) []*model.Event {
			t.Helper()
			evs, err := st.Events(ctx, id)
			if errors.Is(err, model.ErrNotFound) {
				return nil
			}
			testutil.Must(t, err)
			return evs
		},
		find: func(t *testing.T, partner, kind, ref string) string {
			id, err := st.FindByRef(ctx, partner, kind, ref)
			if err != nil {
				return ""
			}
			return id
		},
		count: func(t *testing.T) int {
			// One HASH per order, keyed …{o:<id>}:order (internal/store/keys.go).
			keys, err := st.Client().Keys(ctx, "*}:order").Result()
			testutil.Must(t, err)
			return len(keys)
		},
	}
}

// fakeSink is an in-memory model.Sink: it resolves targets, checks Require,
// applies patches under the message's ownership rules and dedupes on
// IdempotencyKey, returning the first outcome again (refusing another
// message under a used partner message id, as intake does).
type fakeSink struct {
	mu     sync.Mutex
	orders map[string]*model.Order
	refs   map[string]string
	events map[string][]*model.Event
	idem   map[string]*model.Outcome
	digest map[string]string // model.Inbound.Digest by IdempotencyKey
	n      int
}

var _ model.Sink = (*fakeSink)(nil)

func newFakeBackend(*testing.T) *backend {
	f := &fakeSink{orders: map[string]*model.Order{}, refs: map[string]string{}, events: map[string][]*model.Event{}, idem: map[string]*model.Outcome{}, digest: map[string]string{}}
	return &backend{
		name: "fake",
		sink: f,
		create: func(t *testing.T, o *model.Order) *model.Order {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.n++
			o.ID = "ord-" + strconv.Itoa(f.n)
			if o.Status == "" {
				o.Status = model.StatusNew
			}
			o.Version = 1
			f.orders[o.ID] = clone(o)
			f.bind(o)
			return o
		},
		patch: func(t *testing.T, id string, p *model.Patch) *model.Order {
			f.mu.Lock()
			defer f.mu.Unlock()
			o := f.orders[id]
			if _, err := o.Apply(p, model.ApplyOptions{Writer: model.WriterPlatform}); err != nil {
				t.Fatal(err)
			}
			o.Version++
			return clone(o)
		},
		events: func(t *testing.T, id string) []*model.Event {
			f.mu.Lock()
			defer f.mu.Unlock()
			return append([]*model.Event(nil), f.events[id]...)
		},
		find: func(t *testing.T, partner, kind, ref string) string {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.refs[partner+"/"+kind+"/"+ref]
		},
		count: func(t *testing.T) int {
			f.mu.Lock()
			defer f.mu.Unlock()
			return len(f.orders)
		},
	}
}

func clone(o *model.Order) *model.Order {
	b, _ := json.Marshal(o)
	var c model.Order
	_ = json.Unmarshal(b, &c)
	return &c
}

func (f *fakeSink) bind(o *model.Order) {
	if o.Refs.Requestor != "" {
		f.refs[o.Partner+"/requestor/"+o.Refs.Requestor] = o.ID
	}
	if o.Refs.Servicer != "" {
		f.refs[o.Partner+"/servicer/"+o.Refs.Servicer] = o.ID
	}
}

// Commit implements model.Sink.
func (f *fakeSink) Commit(_ context.Context, in *model.Inbound) (*model.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if out, ok := f.idem[in.IdempotencyKey]; ok {
		if in.MessageID != "" && f.digest[in.IdempotencyKey] != in.Digest {
			return nil, model.Conflict("message_id", "%q was used already for another message", in.MessageID)
		}
		dup := *out
		dup.Duplicate = true
		return &dup, nil
	}
	var cur *model.Order
	t := in.Target
	switch {
	case t.OrderID != "":
		cur = f.orders[t.OrderID]
		if cur != nil && cur.Partner != in.Partner {
			// Another partner's order is not found (intake.Service does the same).
			return nil, &model.NotOwnedError{Err: fakeNotFound(in), OrderID: cur.ID, Owner: cur.Partner}
		}
	case t.Servicer != "" && f.refs[in.Partner+"/servicer/"+t.Servicer] != "":
		cur = f.orders[f.refs[in.Partner+"/servicer/"+t.Servicer]]
	case t.Requestor != "":
		cur = f.orders[f.refs[in.Partner+"/requestor/"+t.Requestor]]
	}
	if cur == nil && t.OrderID == "" && t.Requestor != "" {
		// A task reference may be the gateway's own order id (intake.Service).
		if o := f.orders[t.Requestor]; o != nil && o.Partner == in.Partner {
			cur = o
		} else if o != nil && (!t.Create || in.Require.Exists) {
			return nil, &model.NotOwnedError{Err: fakeNotFound(in), OrderID: o.ID, Owner: o.Partner}
		}
	}
	created := false
	if cur == nil || (cur.Status == model.StatusDeleted && t.Recreate) {
		if !t.Create || in.Require.Exists {
			return nil, fakeNotFound(in)
		}
		f.n++
		cur = &model.Order{ID: "ord-" + strconv.Itoa(f.n), Partner: in.Partner, Status: model.StatusNew,
			Refs: model.Refs{Requestor: t.Requestor, Servicer: t.Servicer}}
		created = true
	} else {
		cur = clone(cur)
		if in.Require.Repeats(cur, &in.Patch) {
			return &model.Outcome{Order: cur, Unchanged: true}, nil
		}
		if err := in.Require.Check(cur, in.Kind); err != nil {
			return nil, err
		}
	}
	applied, err := cur.Apply(&in.Patch, in.Options)
	if err != nil {
		return nil, err
	}
	if err := cur.Validate(); err != nil {
		return nil, err
	}
	cur.Version++
	typ := in.Event
	if created {
		typ = model.EventOrderCreated
	} else if typ == model.EventOrderCreated {
		typ = model.EventOrderUpdated // a create for an existing order updates it (intake.Service)
	}
	ev := &model.Event{ID: "ev-" + strconv.Itoa(len(f.idem)+1), OrderID: cur.ID, Type: typ, Direction: model.DirectionIn,
		Partner: in.Partner, Protocol: in.Protocol, MessageID: in.MessageID, At: time.Now().UTC(), Data: in.Data,
		Warnings: in.Warnings, MappingVersion: in.MappingVersion, Raw: string(in.Raw), OrderVersion: cur.Version}
	f.orders[cur.ID] = cur
	f.bind(cur)
	f.events[cur.ID] = append(f.events[cur.ID], ev)
	out := &model.Outcome{Order: clone(cur), Event: ev, Created: created, Applied: applied}
	f.idem[in.IdempotencyKey] = out
	f.digest[in.IdempotencyKey] = in.Digest
	return out, nil
}

// fakeNotFound is the fake's answer for a missing order: the mapping's
// Require.Missing when it has one (intake.Service does the same).
func fakeNotFound(in *model.Inbound) error {
	if in.Require.Missing != "" {
		return &model.RuleError{Rule: fmt.Sprintf("no order %q: %s", in.Target.Requestor, in.Require.Missing), Kind: model.ErrNotFound}
	}
	return fmt.Errorf("fake: order %+v: %w", in.Target, model.ErrNotFound)
}

// keyset holds the EMG keys of a test run: the partner's (signs requests)
// and ours (signs Acks).
type keyset struct {
	partner, ours *rsa.PrivateKey
	dir           string
}

var (
	testKeysOnce sync.Once
	testKeyPair  [2]*rsa.PrivateKey
)

func newKeyset(t testing.TB) *keyset {
	t.Helper()
	testKeysOnce.Do(func() {
		for i := range testKeyPair {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeyPair[i] = k
		}
	})
	ks := &keyset{partner: testKeyPair[0], ours: testKeyPair[1], dir: t.TempDir()}
	pub, _ := x509.MarshalPKIXPublicKey(&ks.partner.PublicKey)
	writePEM(t, filepath.Join(ks.dir, "emg-public.pem"), "PUBLIC KEY", pub)
	priv, _ := x509.MarshalPKCS8PrivateKey(ks.ours)
	writePEM(t, filepath.Join(ks.dir, "our-signing.pem"), "PRIVATE KEY", priv)
	return ks
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mappingsDir builds a mappings folder for the tests from the shipped
// pruvan, extend and emg mappings.
func mappingsDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"pruvan", "extend", "emg"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "mappings", p, p+".yaml"))
		if err != nil {
			t.Fatalf("shipped mapping %s: %v", p, err)
		}
		writeMapping(t, dir, p, src)
	}
	return dir
}

func writeMapping(t testing.TB, dir, partner string, src []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, partner), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, partner, partner+".yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	pruvanKey  = "pruvan-test-key-0123456789"
	extendKey  = "extend-test-token-abcdef"
	testSource = "3e095d30-40ff-11e9-8959-5be078353003"
)

// fullEnv is an environment with every partner's credentials.
func fullEnv(ks *keyset) map[string]string {
	return map[string]string{
		"PRUVAN_API_KEY":       pruvanKey,
		"EXTEND_ACCESS_TOKEN":  extendKey,
		"EMG_PUBLIC_KEY_FILE":  filepath.Join(ks.dir, "emg-public.pem"),
		"EMG_SIGNING_KEY_FILE": filepath.Join(ks.dir, "our-signing.pem"),
		"EMG_SOURCE_ID":        testSource,
	}
}

// rig is a gin engine with the partner routes mounted over one backend.
type rig struct {
	t      testing.TB
	engine *gin.Engine
	set    *Set
	inb    *inbound.Service
	b      *backend
	ks     *keyset
	logs   fmt.Stringer
	// url is the base URL of a real gatewayd when the backend runs one.
	url string
}

func newRig(t testing.TB, b *backend, env map[string]string, opt *Options) *rig {
	t.Helper()
	ks := newKeyset(t)
	if env == nil {
		env = fullEnv(ks)
	}
	reg, err := mappings.NewRegistry(mappingsDir(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	logs := &bytes.Buffer{}
	if opt == nil {
		opt = &Options{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	inb := inbound.New(inbound.Registry{Reg: reg}, b.sink, &inbound.Options{Logger: opt.Logger})
	set := Register(e, reg, inb, func(k string) string { return env[k] }, opt)
	r := &rig{t: t, engine: e, set: set, inb: inb, b: b, ks: ks, logs: logs}
	if b.redisURL != "" && binaryOptionsSupported(opt) {
		r.url, r.logs = startPartnerBinary(t, b.redisURL, mappingsDir(t), env, opt)
	}
	return r
}

// do sends a request and returns the status, the content type and the body.
func (r *rig) do(method, target, contentType string, body []byte, header map[string]string) (int, string, []byte) {
	r.t.Helper()
	if r.url != "" {
		return r.doHTTP(method, target, contentType, body, header)
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := testutil.Serve(r.t, r.engine, req)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// forEachBackend runs fn as a subtest on every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *backend)) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// jsonOf decodes b or fails.
func jsonOf(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", b, err)
	}
	return m
}

// withT returns the rig reporting to t (fuzz functions must not use the *testing.F).
func (r *rig) withT(t testing.TB) *rig {
	c := *r
	c.t = t
	return &c
}
