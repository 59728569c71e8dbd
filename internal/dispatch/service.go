package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/equus/sogateway/internal/clock"

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
	// Now is the clock (internal/clock) that drives window and retry
	// decisions; tests hand the queue and the service the same one. Default
	// time.Now.
	Now func() time.Time
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
	now    func() time.Time
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
	o.Now = clock.Or(o.Now)
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
		envCopy.Now = o.Now
		env = &envCopy
	}
	s := &Service{st: st, rdb: st.Client(), q: q, r: r, k: keys{prefix: o.Prefix}, cfg: o.Dispatch,
		env: env, reg: o.Adapters, now: o.Now, log: o.Logger, rand: o.Rand,
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
		return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "vendor", ID: name, Err: ErrUnknownVendor})
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
		if v.cfg.Pull.Enabled && len(v.pullKey) == 0 && v.cfg.Pull.APIKeyEnv != "" {
			st.Warnings = append(st.Warnings, "pull is off: "+v.cfg.Pull.APIKeyEnv+" is not set")
		}
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
	if err := attachmentsFit(v, o); err != nil {
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

// attachmentsFit refuses an order whose attachment of a known size is over
// the vendor's max_attachment_bytes (the gateway sends links; the vendor
// fetches the content and would refuse it).
func attachmentsFit(v *vendor, o *model.Order) error {
	limit := v.cfg.MaxAttachmentBytes
	if limit <= 0 {
		return nil
	}
	var es model.ValidationErrors
	for i, a := range o.Attachments {
		if a.Size > limit {
			es = append(es, &model.ValidationError{Field: fmt.Sprintf("attachments[%d].size", i),
				Rule: fmt.Sprintf("%s is %d bytes; vendor %s takes at most %d bytes per attachment", a.Name, a.Size, v.name, limit)})
		}
	}
	if len(es) > 0 {
		return es
	}
	return nil
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
	res.Remaining = until.Sub(s.now())
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
		Protocol: model.ProtocolPlatform, At: s.now().UTC(), Data: data}
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
