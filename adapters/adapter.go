package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
)

// Message is one rendered delivery handed to a transport.
type Message struct {
	// DeliveryID is the stable delivery id; it is sent to the partner (webhook-id,
	// X-Delivery-Id, Message-ID) so the partner can drop duplicates.
	DeliveryID string
	// Vendor is the receiving vendor's name.
	Vendor string
	// Order and Event are what the message is about; Order supplies the attachments.
	Order *model.Order
	Event *model.Event
	// ContentType, Body, Subject and Headers are the mapping's render.
	ContentType string
	Body        []byte
	Subject     string
	Headers     map[string]string
	// Attempt is the 1-based attempt number.
	Attempt int
}

// Result is what a successful delivery returned.
type Result struct {
	// StatusCode is the HTTP status (0 for SMTP).
	StatusCode int
	// Response is the start of the partner's answer, for the delivery record.
	Response string
}

// Adapter is one outbound transport.
type Adapter interface {
	// Transport returns the transport's name (http, soap, smtp).
	Transport() string
	// Deliver sends m exactly once (no internal retries) within ctx and the
	// adapter's own timeout. It returns a Result on success. On failure the
	// error is a *DeliveryError (errors.As) wrapping ErrTransient (retry later;
	// RetryAfter, when set, is the partner's requested delay), ErrPermanent (do
	// not retry) or ErrGone (the endpoint no longer exists: disable it). Deliver
	// must be safe for concurrent use and must never put a credential into the
	// error text.
	Deliver(ctx context.Context, m *Message) (*Result, error)
}

// The classes of delivery failure; compare with errors.Is.
var (
	// ErrTransient: the partner may accept the same message later (5xx, 429, 503, network, timeout).
	ErrTransient = errors.New("transient delivery failure")
	// ErrPermanent: the partner refused the message (4xx other than 408/410/429, SOAP client fault).
	ErrPermanent = errors.New("permanent delivery failure")
	// ErrGone: the endpoint answered 410 Gone; the vendor's endpoint is to be disabled.
	ErrGone = errors.New("endpoint gone")
	// ErrMissingCredential: a credential's environment variable is not set; the vendor is disabled.
	ErrMissingCredential = errors.New("missing credential")
	// ErrUnknownTransport: no factory is registered for the transport name.
	ErrUnknownTransport = errors.New("unknown transport")
)

// CredentialError says which credential variable a vendor lacks. It
// matches ErrMissingCredential; Reason is what readiness shows.
type CredentialError struct {
	// Var is the environment variable named in the vendor's config.
	Var string
	// Problem is "is not set", or why the file it names cannot be used.
	Problem string
}

func (e *CredentialError) Error() string {
	return "adapters: environment variable " + e.Var + " " + e.Problem + ": " + ErrMissingCredential.Error()
}

// Is reports whether target is ErrMissingCredential.
func (e *CredentialError) Is(target error) bool { return target == ErrMissingCredential }

// Reason is the failure as an operator reads it, without Go prefixes:
// "ACME_MOVERS_TOKEN is not set".
func (e *CredentialError) Reason() string { return e.Var + " " + e.Problem }

// DeliveryError is a classified delivery failure.
type DeliveryError struct {
	// Kind is ErrTransient, ErrPermanent or ErrGone.
	Kind error
	// StatusCode is the HTTP status, or the SMTP reply code, when there was one.
	StatusCode int
	// RetryAfter is the partner's requested delay (Retry-After), zero when none.
	RetryAfter time.Duration
	// Detail says what happened, in words fit for the delivery record.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error says the class, the status and what happened.
func (e *DeliveryError) Error() string {
	s := e.Kind.Error()
	if e.StatusCode != 0 {
		s += " (" + strconv.Itoa(e.StatusCode) + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, e.Kind) true.
func (e *DeliveryError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

func transient(status int, detail string, err error) *DeliveryError {
	return &DeliveryError{Kind: ErrTransient, StatusCode: status, Detail: detail, Err: err}
}

func permanent(status int, detail string, err error) *DeliveryError {
	return &DeliveryError{Kind: ErrPermanent, StatusCode: status, Detail: detail, Err: err}
}

// AttachmentStore opens the content of an order's attachment.
type AttachmentStore interface {
	// Open returns the attachment's content; the caller closes it. It returns an
	// error wrapping model.ErrNotFound when the content is gone.
	Open(ctx context.Context, a model.Attachment) (io.ReadCloser, error)
}

// DirStore is an AttachmentStore over a directory: an attachment's StoredAt is
// a path inside Dir, either relative to it or starting with Dir (as the mail
// intake's store records it).
type DirStore struct{ Dir string }

// Open opens the attachment's content, refusing paths that leave Dir.
func (d DirStore) Open(_ context.Context, a model.Attachment) (io.ReadCloser, error) {
	p := filepath.Clean(a.StoredAt)
	if dir := filepath.Clean(d.Dir); strings.HasPrefix(p, dir+string(filepath.Separator)) {
		p = p[len(dir)+1:]
	}
	if a.StoredAt == "" || filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("attachments: %q is not inside the attachment store: %w", a.StoredAt, model.ErrNotFound)
	}
	f, err := os.OpenInRoot(d.Dir, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("attachments: %s: %w", a.StoredAt, model.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	return f, nil
}

// Env is what a Factory needs besides the vendor's config.
type Env struct {
	// LookupEnv resolves credential variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// HTTPClient sends http and soap deliveries; nil means a client with the
	// vendor's timeout and no cookie jar.
	HTTPClient *http.Client
	// Attachments opens order attachments for email; nil sends emails without them.
	Attachments AttachmentStore
	// Now stamps webhook-timestamp and Date headers; nil means time.Now.
	Now func() time.Time
}

func (e *Env) lookup(name string) (configs.Secret, error) {
	if name == "" {
		return "", nil
	}
	look := os.LookupEnv
	if e != nil && e.LookupEnv != nil {
		look = e.LookupEnv
	}
	v, ok := look(name)
	if !ok || v == "" {
		return "", &CredentialError{Var: name, Problem: "is not set"}
	}
	return configs.Secret(v), nil
}

func (e *Env) now() time.Time {
	if e != nil && e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Factory builds the adapter of one vendor from its (defaulted) config.
type Factory func(vendor string, cfg *configs.VendorConfig, env *Env) (Adapter, error)

// Registry maps transport names to factories.
type Registry struct{ factories map[string]Factory }

// NewRegistry returns a registry holding the built-in transports http, soap and smtp.
func NewRegistry() *Registry {
	r := &Registry{factories: map[string]Factory{}}
	r.Register(configs.TransportHTTP, NewHTTP)
	r.Register(configs.TransportSOAP, NewSOAP)
	r.Register(configs.TransportSMTP, NewSMTP)
	return r
}

// Register adds or replaces the factory of a transport.
func (r *Registry) Register(transport string, f Factory) { r.factories[transport] = f }

// Transports lists the registered transport names, sorted.
func (r *Registry) Transports() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Build builds the vendor's adapter for transport. It fails with
// ErrUnknownTransport or ErrMissingCredential (naming the variable).
func (r *Registry) Build(transport, vendor string, cfg *configs.VendorConfig, env *Env) (Adapter, error) {
	f, ok := r.factories[transport]
	if !ok {
		return nil, fmt.Errorf("adapters: vendor %s: transport %q (known: %s): %w", vendor, transport,
			strings.Join(r.Transports(), ", "), ErrUnknownTransport)
	}
	a, err := f(vendor, cfg, env)
	if err != nil {
		return nil, fmt.Errorf("adapters: vendor %s: %w", vendor, err)
	}
	return a, nil
}
