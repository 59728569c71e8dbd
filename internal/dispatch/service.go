package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
)

// Sentinel errors of the dispatch layer; compare with errors.Is. Refusals are
// also *model.RuleError values (ErrRefused / ErrConflict) naming the field.
var (
	// ErrUnknownVendor: no vendor of that name is configured (matches model.ErrNotFound).
	ErrUnknownVendor = fmt.Errorf("unknown vendor: %w", model.ErrNotFound)
	// ErrNoWindow: the vendor has no open or coming offline window (matches model.ErrNotFound).
	ErrNoWindow = fmt.Errorf("no offline window: %w", model.ErrNotFound)
	// ErrUnknownDelivery: no delivery has that id (matches model.ErrNotFound).
	ErrUnknownDelivery = fmt.Errorf("unknown delivery: %w", model.ErrNotFound)
	// ErrPullDisabled: the vendor is not set up for pull mode (matches model.ErrNotFound).
	ErrPullDisabled = fmt.Errorf("pull mode is not enabled for this vendor: %w", model.ErrNotFound)
)

// Store is what dispatch needs of the order store; *store.Store satisfies it.
type Store interface {
	GetOrder(ctx context.Context, id string) (*model.Order, error)
	AppendEvent(ctx context.Context, ev *model.Event) error
	Client() redis.UniversalClient
}

// Clock is the dispatch layer's view of time; queue.OffsetClock satisfies it.
// Tests share one clock between the queue and the service.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options configures a Service. A nil *Options is the zero value: no vendors,
// default dispatch settings.
type Options struct {
	// Vendors are the configured vendors by name (defaults are applied by New).
	Vendors map[string]configs.VendorConfig
	// Dispatch holds worker, retry and offline settings (defaults applied by New).
	Dispatch configs.DispatchConfig
	// Adapters builds each vendor's transports. Default adapters.NewRegistry().
	Adapters *adapters.Registry
	// AdapterEnv is passed to the adapter factories (credentials, attachment
	// store, HTTP client). Default: the process environment, no attachments.
	AdapterEnv *adapters.Env
	// Prefix starts every key; it must equal the queue's and the store's. Default "sog".
	Prefix string
	// Clock drives window and retry decisions (share it with the queue). Default: real time.
	Clock Clock
	// Logger receives delivery outcomes (never payloads or credentials). Default slog.Default().
	Logger *slog.Logger
	// Rand returns a float in [0,1) for jitter. Default math/rand/v2.
	Rand func() float64
	// Groups are the assignment groups; an integrated one is served by a
	// vendor (Route sends it Submit Request on assignment). Default none.
	Groups map[string]configs.GroupConfig
}

// vendor is a configured vendor with its built adapters.
type vendor struct {
	name     string
	cfg      configs.VendorConfig
	retry    configs.RetryPolicy
	adapters map[string]adapters.Adapter // by transport
	// unavailable says why the vendor cannot be sent to (disabled in config,
	// missing credentials); empty when it can.
	unavailable string
	// pullKey is the vendor's pull API key (empty when pull is off or unset).
	pullKey []byte
}

// Service is the dispatch layer. It is safe for concurrent use.
type Service struct {
	st     Store
	rdb    redis.UniversalClient
	q      *queue.Queue
	r      Renderer
	k      keys
	cfg    configs.DispatchConfig
	set    atomic.Pointer[vendorSet] // the live vendors (live.go)
	env    *adapters.Env
	reg    *adapters.Registry
	groups map[string]configs.GroupConfig
	clock  Clock
	log    *slog.Logger
	rand   func() float64

	outcomes *prometheus.CounterVec
	wg       sync.WaitGroup

	seqMu   sync.Mutex
	lastSeq int64

	runMu   sync.Mutex      // guards runCtx and running (live.go)
	runCtx  context.Context // set while Run runs
	running map[string]bool // vendors whose workers run
}

// nextSeq returns a strictly increasing sequence for delivery records, so the
// deliveries of one order list in creation order even within one clock tick.
func (s *Service) nextSeq(now time.Time) int64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	n := now.UnixNano()
	if n <= s.lastSeq {
		n = s.lastSeq + 1
	}
	s.lastSeq = n
	return n
}

// New returns a Service over the order store, the delay queue and the
// mappings renderer. Vendors whose credentials are missing are kept but
// unavailable (Status says why; Send refuses them).
func New(st Store, q *queue.Queue, r Renderer, opt *Options) *Service {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Adapters == nil {
		o.Adapters = adapters.NewRegistry()
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	o.Dispatch.SetDefaults()
	env := o.AdapterEnv
	if env == nil {
		env = &adapters.Env{}
	}
	if env.Now == nil {
		envCopy := *env
		envCopy.Now = o.Clock.Now
		env = &envCopy
	}
	s := &Service{st: st, rdb: st.Client(), q: q, r: r, k: keys{prefix: o.Prefix}, cfg: o.Dispatch,
		env: env, reg: o.Adapters, clock: o.Clock, log: o.Logger, rand: o.Rand,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sog_dispatch_deliveries_total",
			Help: "Delivery attempts by vendor and outcome (success, retry, held, dead, gone)."}, []string{"vendor", "outcome"})}
	s.set.Store(s.buildSet(o.Vendors, o.Groups))
	return s
}

// Vendors lists the configured vendor names, sorted.
func (s *Service) Vendors() []string { return append([]string(nil), s.vset().names...) }

func (s *Service) vendor(name string) (*vendor, error) {
	v, ok := s.vset().byName[name]
	if !ok {
		return nil, fmt.Errorf("dispatch: vendor %q: %w", name, ErrUnknownVendor)
	}
	return v, nil
}

// VendorStatus is a vendor's readiness, for /readyz.
type VendorStatus struct {
	Transport string `json:"transport"`
	// Available is false when the vendor is disabled, lacks credentials or its
	// endpoint answered 410 Gone.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Offline is the open offline window, if any.
	Offline *Window `json:"offline,omitempty"`
	// Warnings name active definitions (or pull) whose render the vendor's
	// mapping lacks, or a mapping that is not loaded.
	Warnings []string `json:"warnings,omitempty"`
}

// Status reports every vendor's readiness.
func (s *Service) Status(ctx context.Context) map[string]VendorStatus {
	vs := s.vset()
	out := make(map[string]VendorStatus, len(vs.names))
	for _, name := range vs.names {
		v := vs.byName[name]
		st := VendorStatus{Transport: v.cfg.Transport, Available: true}
		if reason := s.unavailable(ctx, v); reason != "" {
			st.Available, st.Reason = false, reason
		}
		if w, err := s.GetWindow(ctx, name); err == nil {
			st.Offline = w
		}
		st.Warnings = s.renderWarnings(v)
		out[name] = st
	}
	return out
}

// renderWarnings checks, when the renderer can list renders, that the
// vendor's mapping has every render its active definitions and pull use.
func (s *Service) renderWarnings(v *vendor) []string {
	rl, ok := s.r.(RenderLister)
	if !ok {
		return nil
	}
	have, loaded := rl.Renders(v.cfg.Mapping)
	if !loaded {
		return []string{"mapping " + v.cfg.Mapping + " is not loaded"}
	}
	known := map[string]bool{}
	for _, r := range have {
		known[r] = true
	}
	var out []string
	for i, d := range v.cfg.Definitions {
		if d.Active && !known[d.RenderKind()] {
			out = append(out, fmt.Sprintf("definitions[%d] (%s) uses render %q, which mapping %s lacks", i, d.EventType(), d.RenderKind(), v.cfg.Mapping))
		}
	}
	if v.cfg.Pull.Enabled && !known[v.cfg.Pull.Render] {
		out = append(out, fmt.Sprintf("pull uses render %q, which mapping %s lacks", v.cfg.Pull.Render, v.cfg.Mapping))
	}
	return out
}

// unavailable says why nothing can be sent to v now ("" when it can).
func (s *Service) unavailable(ctx context.Context, v *vendor) string {
	if v.unavailable != "" {
		return v.unavailable
	}
	if r, err := s.rdb.Get(ctx, s.k.disabled(v.name)).Result(); err == nil {
		return r
	}
	return ""
}

// Delivery is a delivery record as the platform sees it.
type Delivery struct {
	model.Delivery
	// Event is the canonical event type delivered (order.submitted, order.updated …).
	Event string `json:"event"`
	// Vendor is the receiving vendor (same as Partner).
	Vendor string `json:"vendor"`
	// Seq orders the deliveries of one order.
	Seq int64 `json:"-"`
	// AwaitingAck is true while a vendor that acks asynchronously (EMG) has
	// accepted the message but not yet acked it; the status stays Sending.
	AwaitingAck bool `json:"awaiting_ack,omitempty"`
	// Ack is the vendor's asynchronous Ack, once received.
	Ack *AckInfo `json:"ack,omitempty"`
}

// payload is what a queue job carries.
type payload struct {
	OrderID   string       `json:"order_id"`
	Event     *model.Event `json:"event"`
	Render    string       `json:"render"`
	Transport string       `json:"transport"`
}

// SendOptions are the platform's choices on Save and Send.
type SendOptions struct {
	// Vendor receives the order; default the order's partner.
	Vendor string `json:"vendor,omitempty"`
	// Communication is the note's type: "data" (default) sends the integration
	// payload; "email" sends an email to the vendor in addition to the data;
	// any other type the vendor accepts (configs communications) sends the data.
	Communication string `json:"communication,omitempty"`
}

// SendResult is what Save and Send did.
type SendResult struct {
	// Event is the order.submitted event recorded on the order.
	Event *model.Event `json:"event"`
	// Deliveries are the deliveries created (status Sending).
	Deliveries []*Delivery `json:"deliveries"`
	// Pulled is true when the order was published to the vendor's pull feed.
	Pulled bool `json:"pulled,omitempty"`
	// Held is true when the vendor is in an offline window: the deliveries go
	// out when it ends. Notice is the maintenance notice to show the user, and
	// HeldUntil and Remaining say when.
	Held      bool          `json:"held"`
	HeldUntil *time.Time    `json:"held_until,omitempty"`
	Remaining time.Duration `json:"-"`
	Notice    string        `json:"notice,omitempty"`
	// Warnings lists required fields that were missing on a definition that
	// does not block.
	Warnings []string `json:"warnings,omitempty"`
}

// Send is the platform's Save and Send: it checks the vendor's permission set,
// its active event definition for order.submitted and the definition's
// required fields (refusing with a *model.RuleError or model.ValidationErrors
// that name the reason and the missing fields, with nothing queued), records
// an outbound order.submitted event on the order, creates the deliveries
// (plus an email one for the Email communication type) with stable ids and
// enqueues them. While the vendor is offline the result carries the
// maintenance notice and the time remaining.
func (s *Service) Send(ctx context.Context, orderID string, opts SendOptions) (*SendResult, error) {
	o, err := s.st.GetOrder(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: send: %w", err)
	}
	name := opts.Vendor
	if name == "" {
		name = o.Partner
	}
	v, err := s.vendor(name)
	if err != nil {
		return nil, model.Refuse("vendor", "%s is not a vendor set up for integration", name)
	}
	return s.submit(ctx, v, o, opts, nil)
}

// submit is Save and Send of o to v (also started by an assignment to an
// integrated group, with data naming the group). A pull-only vendor needs no
// definition: the order is published to its feed.
func (s *Service) submit(ctx context.Context, v *vendor, o *model.Order, opts SendOptions, data map[string]any) (*SendResult, error) {
	name := v.name
	comm := orDefault(opts.Communication, "data")
	if !nameRe(comm) {
		return nil, &model.ValidationError{Field: "communication", Rule: fmt.Sprintf("must be a communication type such as data or email, got %q", opts.Communication)}
	}
	if !v.cfg.Accepts(comm) {
		return nil, model.Refuse("communication", "vendor %s does not accept the communication type %s (accepted: %s)", name, comm, strings.Join(v.cfg.Communications, ", "))
	}
	if comm == "email" && v.cfg.Email == nil && !v.cfg.PullOnly() {
		return nil, model.Refuse("communication", "vendor %s has no email address set up, so an Email communication cannot be sent", name)
	}
	if reason := s.unavailable(ctx, v); reason != "" {
		return nil, model.Conflict("vendor", "vendor %s cannot receive orders: %s", name, reason)
	}
	if o.Status.Terminal() {
		return nil, model.Conflict("status", "the order is %s, so it cannot be sent to vendor %s", o.Status, name)
	}
	if err := s.permit(v, o); err != nil {
		return nil, err
	}
	def := v.definition(o, string(model.EventOrderSubmitted))
	if def == nil && !v.cfg.PullOnly() {
		return nil, model.Refuse("event", "no active integrated event definition for vendor %s, company %q, service type %q and event order.submitted",
			name, o.Company, o.ServiceType)
	}
	res := &SendResult{}
	if def != nil {
		if missing := missingFields(o, def.RequiredFields); len(missing) > 0 {
			if def.BlockIfMissing {
				var es model.ValidationErrors
				for _, f := range missing {
					es = append(es, &model.ValidationError{Field: f,
						Rule: fmt.Sprintf("is required by vendor %s's event definition for order.submitted (block send if required field values missing)", name)})
				}
				return nil, es
			}
			for _, f := range missing {
				res.Warnings = append(res.Warnings, f+" is missing")
			}
		}
	}
	evData := map[string]any{"vendor": name, "communication": comm}
	for k, val := range data {
		evData[k] = val
	}
	s.nameEvent(v, model.EventOrderSubmitted, evData)
	ev := s.outEvent(o, model.EventOrderSubmitted, name, evData)
	if err := s.st.AppendEvent(ctx, ev); err != nil {
		return nil, fmt.Errorf("dispatch: send: record event: %w", err)
	}
	res.Event = ev
	for _, t := range transportsFor(v, def, comm) {
		d, err := s.enqueue(ctx, v, o, ev, def.RenderKind(), t)
		if err != nil {
			return nil, err
		}
		res.Deliveries = append(res.Deliveries, d)
	}
	if v.cfg.Pull.Enabled {
		if err := s.publish(ctx, name, o.ID); err != nil {
			return nil, err
		}
		res.Pulled = true
	}
	if len(res.Deliveries) > 0 {
		if err := s.fillHold(ctx, v, o, ev, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// fillHold sets the maintenance notice when the vendor is offline now.
func (s *Service) fillHold(ctx context.Context, v *vendor, o *model.Order, ev *model.Event, res *SendResult) error {
	until, err := s.q.HoldOf(ctx, v.name)
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	if until == nil {
		return nil
	}
	res.Held, res.HeldUntil = true, until
	res.Remaining = until.Sub(s.clock.Now())
	res.Notice = s.notice(v, o, ev, *until, res.Remaining)
	for _, d := range res.Deliveries {
		d.HeldUntil = until
	}
	return nil
}

func (v *vendor) definition(o *model.Order, event string) *configs.EventDefinition {
	for i := range v.cfg.Definitions {
		d := &v.cfg.Definitions[i]
		if d.Active && d.EventType() == event && (d.Company == "*" || d.Company == o.Company) &&
			(d.ServiceType == "*" || d.ServiceType == o.ServiceType) {
			return d
		}
	}
	return nil
}

// permit refuses an order whose service type the vendor's permission set does not allow.
func (s *Service) permit(v *vendor, o *model.Order) error {
	if v.cfg.Permissions.Allows(o.ServiceType) {
		return nil
	}
	set := v.cfg.Permissions.Name
	if set == "" {
		set = v.name + " permission set"
	}
	return model.Refuse("service_type", "service order type %q is not applicable for the permission set %q of vendor %s (allowed: %s)",
		o.ServiceType, set, v.name, strings.Join(v.cfg.Permissions.ServiceTypes, ", "))
}

func (s *Service) outEvent(o *model.Order, t model.EventType, vendor string, data map[string]any) *model.Event {
	return &model.Event{ID: uuid.NewString(), OrderID: o.ID, Type: t, Direction: model.DirectionOut, Partner: vendor,
		Protocol: model.ProtocolPlatform, At: s.clock.Now().UTC(), Data: data}
}

// DeliveryID is the stable id of the delivery of event to vendor over transport.
func DeliveryID(eventID, vendor, transport string) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + vendor + "\x00" + transport))
	return "dlv_" + hex.EncodeToString(h[:12])
}

// enqueue creates the delivery: the queue job first (idempotent on the id),
// then the record (HSETNX, so a worker's later state is never overwritten).
func (s *Service) enqueue(ctx context.Context, v *vendor, o *model.Order, ev *model.Event, render, transport string) (*Delivery, error) {
	id := DeliveryID(ev.ID, v.name, transport)
	p, err := json.Marshal(payload{OrderID: o.ID, Event: ev, Render: render, Transport: transport})
	if err != nil {
		return nil, fmt.Errorf("dispatch: encode job: %w", err)
	}
	j := &queue.Job{ID: id, Vendor: v.name, Group: o.ID, Payload: p, MaxAttempts: v.retry.MaxAttempts,
		Meta: map[string]string{"order": o.ID, "event": string(ev.Type), "transport": transport}}
	if err := s.q.Enqueue(ctx, j, time.Time{}); err != nil {
		return nil, fmt.Errorf("dispatch: enqueue %s: %w", id, err)
	}
	now := s.clock.Now().UTC()
	d := &Delivery{Delivery: model.Delivery{ID: id, OrderID: o.ID, EventID: ev.ID, Partner: v.name, Transport: transport,
		Status: model.DeliverySending, CreatedAt: now, UpdatedAt: now}, Event: string(ev.Type), Vendor: v.name, Seq: s.nextSeq(now)}
	if !j.NextAt.IsZero() {
		t := j.NextAt
		d.NextAttemptAt = &t
	}
	if v.cfg.AwaitAck {
		if err := s.rememberOrigin(ctx, v, o.ID, id); err != nil {
			return nil, err
		}
	}
	doc := d.record()
	loc, _ := json.Marshal(map[string]string{"vendor": v.name, "order": o.ID})
	pipe := s.rdb.Pipeline()
	pipe.HSetNX(ctx, s.k.deliveries(o.ID), id, doc)
	pipe.Set(ctx, s.k.delivery(id), loc, 0)
	pipe.ZAddNX(ctx, s.k.vendorDeliveries(v.name), redis.Z{Score: float64(now.UnixMilli()), Member: o.ID + "|" + id})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("dispatch: record delivery %s: %w", id, err)
	}
	return d, nil
}

// deliveryJSON is the stored record (Seq kept).
type deliveryJSON struct {
	*Delivery
	Seq int64 `json:"seq"`
}

// record encodes the stored form of d, Seq included (API answers leave it out).
func (d *Delivery) record() []byte {
	b, _ := json.Marshal(deliveryJSON{Delivery: d, Seq: d.Seq})
	return b
}

// saveRecord overwrites a delivery record with the worker's view.
func (s *Service) saveRecord(ctx context.Context, d *Delivery) {
	d.UpdatedAt = s.clock.Now().UTC()
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, s.k.deliveries(d.OrderID), d.ID, d.record())
	s.markFinished(ctx, pipe, d)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("dispatch: delivery record not updated", "delivery", d.ID, "err", err)
	}
}

func (s *Service) loadRecord(ctx context.Context, orderID, id string) (*Delivery, error) {
	doc, err := s.rdb.HGet(ctx, s.k.deliveries(orderID), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("dispatch: delivery %s: %w", id, ErrUnknownDelivery)
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: delivery %s: %w", id, err)
	}
	return decodeRecord(doc)
}

func decodeRecord(doc string) (*Delivery, error) {
	var r struct {
		Delivery
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("dispatch: decode delivery: %w", err)
	}
	d := r.Delivery
	d.Seq = r.Seq
	return &d, nil
}

// Deliveries lists the order's delivery records, oldest first, with the live
// queue state (attempts, next attempt, last error, held until) of those still
// Sending. It returns an empty list for an order without deliveries, and an
// error wrapping model.ErrNotFound for an unknown order.
func (s *Service) Deliveries(ctx context.Context, orderID string) ([]*Delivery, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.deliveries(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("dispatch: deliveries of %s: %w", orderID, err)
	}
	if len(all) == 0 {
		if _, err := s.st.GetOrder(ctx, orderID); err != nil {
			return nil, fmt.Errorf("dispatch: deliveries: %w", err)
		}
	}
	out := make([]*Delivery, 0, len(all))
	for _, doc := range all {
		d, err := decodeRecord(doc)
		if err != nil {
			return nil, err
		}
		if d.Status == model.DeliverySending && !d.AwaitingAck {
			if j, err := s.q.Get(ctx, d.Vendor, d.ID); err == nil {
				overlay(d, j)
			}
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// overlay copies the queue's live view of a job onto its record.
func overlay(d *Delivery, j *queue.Job) {
	d.Attempts = j.Attempts
	if j.LastError != "" {
		d.LastError = j.LastError
	}
	d.NextAttemptAt, d.HeldUntil = nil, nil
	switch j.State {
	case queue.StateDone:
		d.Status = model.DeliverySuccess
	case queue.StateDead:
		d.Status = model.DeliveryFailure
	default:
		d.Status = model.DeliverySending
		if !j.NextAt.IsZero() {
			t := j.NextAt.UTC()
			d.NextAttemptAt = &t
		}
		if j.HeldUntil != nil {
			t := j.HeldUntil.UTC()
			d.HeldUntil = &t
		}
	}
}

// sentVendors returns the vendors the order was submitted to.
func (s *Service) sentVendors(ctx context.Context, orderID string) (map[string]bool, error) {
	all, err := s.rdb.HVals(ctx, s.k.deliveries(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("dispatch: deliveries of %s: %w", orderID, err)
	}
	sent := map[string]bool{}
	for _, doc := range all {
		if d, err := decodeRecord(doc); err == nil && d.Event == string(model.EventOrderSubmitted) {
			sent[d.Vendor] = true
		}
	}
	return sent, nil
}

// missingFields returns the required order paths that are empty on o.
func missingFields(o *model.Order, paths []string) []string {
	var out []string
	for _, p := range paths {
		if isEmpty(pathValue(o, p)) {
			out = append(out, p)
		}
	}
	return out
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return strings.TrimSpace(rv.String()) == ""
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// pathValue reads an order path (configs.OrderPaths or fields.<name>).
func pathValue(o *model.Order, p string) any {
	if name, ok := strings.CutPrefix(p, "fields."); ok {
		if f, ok := o.Fields[name]; ok {
			return f.Value
		}
		return nil
	}
	switch p {
	case "company":
		return o.Company
	case "service_type":
		return o.ServiceType
	case "refs.requestor":
		return o.Refs.Requestor
	case "refs.servicer":
		return o.Refs.Servicer
	case "status":
		return string(o.Status)
	case "flags":
		return o.Flags
	case "partner_status":
		return o.PartnerStatus
	case "client_status":
		return o.ClientStatus
	case "tasks":
		return o.Tasks
	case "attachments":
		return o.Attachments
	case "messages":
		return o.Messages
	}
	return nil
}

// changedPaths returns the watched paths whose value differs.
func changedPaths(before, after *model.Order, watch []string) []string {
	var out []string
	for _, p := range watch {
		a, b := pathValue(before, p), pathValue(after, p)
		if isEmpty(a) && isEmpty(b) {
			continue
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, p)
		}
	}
	return out
}

func lookupEnv(env *adapters.Env, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	look := os.LookupEnv
	if env != nil && env.LookupEnv != nil {
		look = env.LookupEnv
	}
	v, ok := look(name)
	return v, ok && v != ""
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// nameRe reports whether c is a communication type name ([a-z0-9_-]{1,64}).
func nameRe(c string) bool {
	if len(c) == 0 || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
