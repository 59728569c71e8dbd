package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Backend does the work of each call.
type Backend interface {
	// Invoke runs call, whose parameters are already validated against the
	// contract, and returns the operation's result text. Errors wrapping
	// model.ErrNotFound answer an UnknownTask fault; model.ErrRefused,
	// ErrConflict or ErrInvalid a Client (1.2: Sender) fault whose text is the
	// error's (name the field and the rule); any other error a Server
	// (Receiver) fault that does not show the error's text. Invoke must be
	// idempotent for a repeated call (see Call.Digest).
	Invoke(ctx context.Context, call *Call) (result string, err error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, call *Call) (string, error)

// Invoke calls f.
func (f BackendFunc) Invoke(ctx context.Context, call *Call) (string, error) { return f(ctx, call) }

var _ Backend = BackendFunc(nil)

// Options configures the handler. A nil *Options is the zero value, and the
// zero value works (but with no Users every call is refused).
type Options struct {
	// Users may call the service, by HTTP Basic or WS-Security UsernameToken.
	// Default none: every call answers an AuthenticationFailed fault.
	Users []User
	// MaxBodyBytes caps the request body; default 1 MiB.
	MaxBodyBytes int64
	// MaxDepth caps element nesting in the envelope; default 64.
	MaxDepth int
	// ClockSkew is how far a UsernameToken's wsu:Created may be from the server
	// clock; default 5 minutes. Nonces are remembered for twice as long.
	ClockSkew time.Duration
	// Nonces remembers WS-Security nonces; default an in-memory cache of
	// 100000 entries (use a shared cache when running several replicas).
	Nonces NonceCache
	// Now is the clock for WS-Security checks; default time.Now.
	Now func() time.Time
	// CallTimeout bounds each Backend.Invoke; default 30 seconds.
	CallTimeout time.Duration
	// ReadTimeout bounds reading one request body; default 30 seconds.
	ReadTimeout time.Duration
	// PublicURL is the scheme and host clients reach the service at, used as
	// the address in the WSDL and the DISCO document (e.g.
	// "https://gw.example.com"); default the scheme and Host of the request,
	// or X-Forwarded-Proto and X-Forwarded-Host from a TrustedProxies peer.
	PublicURL string
	// TrustedProxies are the peers whose X-Forwarded-Proto and
	// X-Forwarded-Host are believed when PublicURL is empty; default none.
	TrustedProxies []netip.Prefix
	// Logger receives one line per call (never a password); default slog.Default().
	Logger *slog.Logger
}

// Handler serves a Contract over SOAP 1.1 and 1.2: POST calls, GET ?WSDL and
// the help pages.
type Handler struct {
	c       Contract
	b       Backend
	opt     Options
	auth    *authenticator
	log     *slog.Logger
	service []byte // service help page
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the handler for contract c whose calls go to b. It fails
// when the contract or the options are invalid.
func NewHandler(c Contract, b Backend, opt *Options) (*Handler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("soap: nil backend")
	}
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 64
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Nonces == nil {
		o.Nonces = NewMemoryNonceCache(0, o.Now)
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	users := make(map[string]Secret, len(o.Users))
	for i, u := range o.Users {
		if u.Name == "" {
			return nil, fmt.Errorf("soap: options.users[%d].name: is required", i)
		}
		if u.Password.Empty() {
			return nil, fmt.Errorf("soap: options.users[%d].password: is required (user %q)", i, u.Name)
		}
		if _, dup := users[u.Name]; dup {
			return nil, fmt.Errorf("soap: options.users[%d].name: %q is declared twice", i, u.Name)
		}
		users[u.Name] = u.Password
	}
	c = c.withDefaults()
	h := &Handler{c: c, b: b, opt: o, log: o.Logger,
		auth: &authenticator{users: users, skew: o.ClockSkew, nonces: o.Nonces, now: o.Now}}
	h.service = c.serviceHelp()
	return h, nil
}

// Matches reports whether path is the service's path, compared without
// regard to case as IIS does. Routers with case-sensitive routes (gin) can use
// it in a fallback handler to send every spelling here.
func (h *Handler) Matches(path string) bool { return strings.EqualFold(path, h.c.Path) }

// Claims reports whether path is the service's or lies in its folder (any
// case), so that a router hands it to the handler: Matches for the service,
// a NotFound fault in SOAP's shape for the rest.
func (h *Handler) Claims(path string) bool { return h.c.Claims(path) }

// Claims reports whether path is c's path or lies in its folder, compared
// without regard to case.
func (c Contract) Claims(path string) bool {
	c = c.withDefaults()
	if strings.EqualFold(path, c.Path) {
		return true
	}
	dir := c.Path[:strings.LastIndex(c.Path, "/")+1]
	return dir != "/" && len(path) >= len(dir) && strings.EqualFold(path[:len(dir)], dir)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.Matches(r.URL.Path) {
		h.notFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.post(w, r)
	case http.MethodGet, http.MethodHead:
		h.get(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// notFound answers a path in the service's folder that is not the service
// with a SOAP fault (1.2 when the request announces it), as a SOAP client
// reads one, naming where the service is.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	version := V11
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/soap+xml" {
		version = V12
	}
	f := &Fault{Code: CodeClient, Reason: ReasonNotFound, Status: http.StatusNotFound,
		Text: fmt.Sprintf("there is no service at %s; %s is at %s (WSDL: %s?WSDL)", clipPath(r.URL.Path), h.c.Service, h.c.Path, h.c.Path)}
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "soap call refused", slog.String("version", version),
		slog.String("path", clipPath(r.URL.Path)), slog.String("fault", f.Reason))
	writeXML(w, version, f.status(version), f.render(version))
}

// post serves one SOAP call.
func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	version, action, charset, f := contentType(r)
	call, f := h.call(w, r, version, action, charset, f)
	var result string
	if f == nil {
		result, f = h.invoke(r.Context(), call)
	}
	version = call.Version
	if version == "" {
		version = V11
	}
	attrs := []slog.Attr{slog.String("version", version), slog.String("operation", call.Operation),
		slog.String("user", call.Username)}
	if f != nil {
		attrs = append(attrs, slog.String("fault", f.Reason), slog.String("text", f.Text))
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "soap call refused", attrs...)
		writeXMLRealm(w, version, f.status(version), f.render(version), h.c.Service)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "soap call", attrs...)
	op, _ := h.c.operation(call.Operation)
	writeXML(w, version, http.StatusOK, h.c.response(version, op, result))
}

// contentType reads the SOAP version, the action and the charset (canonical,
// "" when none was sent) from the request headers. An absent Content-Type
// leaves the version to the envelope.
func contentType(r *http.Request) (version, action, charset string, f *Fault) {
	action = unquote(r.Header.Get("SOAPAction"))
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", action, "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", action, "", &Fault{Code: CodeClient, Reason: ReasonMediaType, Status: http.StatusUnsupportedMediaType,
			Text: fmt.Sprintf("Content-Type %q cannot be parsed: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)", ct)}
	}
	switch mt {
	case "text/xml":
		version = V11
	case "application/soap+xml":
		version = V12
		if a, ok := params["action"]; ok {
			action = unquote(a)
		}
	default:
		return "", action, "", &Fault{Code: CodeClient, Reason: ReasonMediaType, Status: http.StatusUnsupportedMediaType,
			Text: fmt.Sprintf("Content-Type %q is not supported: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)", mt)}
	}
	if cs, ok := params["charset"]; ok {
		if charset = encodingOf(cs); charset == "" {
			return version, action, "", mediaTypeFault(fmt.Sprintf("charset %q is not supported: send utf-8 (or iso-8859-1, us-ascii)", cs))
		}
	}
	return version, action, charset, nil
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

// call authenticates, reads, parses and validates the request. It returns the
// call (as far as it got: Version is set once known) and the fault, if any.
func (h *Handler) call(w http.ResponseWriter, r *http.Request, version, action, charset string, f *Fault) (*Call, *Fault) {
	call := &Call{Version: version, Action: action}
	if f != nil {
		return call, f
	}
	if len(h.auth.users) == 0 {
		return call, authFault(fmt.Errorf("%w: no credentials are configured for this service", ErrAuth))
	}
	// HTTP Basic is checked before the body is read.
	if r.Header.Get("Authorization") != "" {
		name, err := h.auth.basic(r)
		if err != nil {
			return call, authFault(err)
		}
		call.Username = name
	}
	if r.ContentLength > h.opt.MaxBodyBytes {
		return call, tooLarge(h.opt.MaxBodyBytes)
	}
	// The body gets ReadTimeout from now; the answer (a result after the
	// backend's CallTimeout, or the 408 fault of a body that came too slowly)
	// must still be writable then, whatever the server's WriteTimeout, which
	// started counting when the headers were read.
	rc := http.NewResponseController(w)
	start := time.Now()
	_ = rc.SetReadDeadline(start.Add(h.opt.ReadTimeout))
	_ = rc.SetWriteDeadline(start.Add(h.opt.ReadTimeout + h.opt.CallTimeout + writeGrace))
	body, err := readBody(http.MaxBytesReader(w, r.Body, h.opt.MaxBodyBytes), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return call, tooLarge(h.opt.MaxBodyBytes)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			_ = rc.SetWriteDeadline(time.Now().Add(writeGrace))
			return call, &Fault{Code: CodeClient, Reason: ReasonTimeout, Status: http.StatusRequestTimeout, Err: err,
				Text: fmt.Sprintf("the request body was not received within %s", h.opt.ReadTimeout)}
		}
		return call, &Fault{Code: CodeClient, Reason: ReasonMalformed, Text: "the request body could not be read", Err: err}
	}
	env, f := readEnvelope(call, body, charset, h.opt.MaxDepth)
	if f != nil {
		return call, f
	}
	if version != "" && env.version != version {
		call.Version = version
		return call, &Fault{Code: CodeVersionMismatch, Reason: ReasonVersionMismatch, Err: ErrVersionMismatch,
			Text: fmt.Sprintf("the Content-Type announces SOAP %s but the Envelope is SOAP %s", version, env.version)}
	}
	call.Version = env.version
	call.MessageID = env.messageID
	if env.security != nil {
		name, err := h.auth.wsse(r.Context(), env.security)
		if err != nil {
			if errors.Is(err, ErrAuth) {
				return call, authFault(err)
			}
			return call, &Fault{Code: CodeServer, Reason: ReasonUnavailable, Err: err,
				Text: "the credentials could not be checked; try again later"}
		}
		if call.Username != "" && call.Username != name {
			return call, authFault(fmt.Errorf("%w: HTTP Basic user and wsse:Username differ", ErrAuth))
		}
		call.Username = name
	}
	if call.Username == "" {
		return call, authFault(fmt.Errorf("%w: send HTTP Basic credentials or a WS-Security UsernameToken", ErrAuth))
	}
	return call, h.c.bind(call, action, env)
}

// readEnvelope turns body into UTF-8 (charset, else the XML declaration's
// encoding) and parses its envelope; it sets call.Raw (passwords redacted).
func readEnvelope(call *Call, body []byte, charset string, maxDepth int) (*envelope, *Fault) {
	body, f := toUTF8(body, charset)
	if f != nil {
		return nil, f
	}
	env, err := parseEnvelope(body, maxDepth)
	if err != nil {
		return nil, parseFault(err)
	}
	call.Raw = env.redact(body)
	return env, nil
}

// bind finds the operation of env (by action, else by the Body's element)
// and checks its parameters against the contract, filling call.
func (c *Contract) bind(call *Call, action string, env *envelope) *Fault {
	op, f := c.dispatch(action, env)
	if f != nil {
		return f
	}
	call.Operation, call.op = op.Name, op
	params, err := validateParams(op, env.params, c.Namespace)
	if err != nil {
		return paramFault(err)
	}
	call.Params = params
	return nil
}

// writeGrace is how long writing an answer may take once it is ready.
const writeGrace = 10 * time.Second

// readBody reads all of r, sized by the announced length when there is one.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length > 0 {
		b := make([]byte, length)
		n, err := io.ReadFull(r, b)
		if err != nil {
			return nil, err
		}
		// Anything beyond the announced length is an error from MaxBytesReader or EOF.
		var one [1]byte
		if m, err := r.Read(one[:]); m > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = fmt.Errorf("body longer than its Content-Length")
			}
			return nil, err
		}
		return b[:n], nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// dispatch finds the operation by SOAPAction or, when none was sent, by the
// Body's operation element.
func (c *Contract) dispatch(action string, env *envelope) (*Operation, *Fault) {
	var op *Operation
	if action != "" {
		for i := range c.Operations {
			cand := &c.Operations[i]
			if action == c.Action(cand.Name) || action == cand.Name {
				op = cand
				break
			}
		}
		if op == nil {
			return nil, &Fault{Code: CodeClient, Reason: ReasonUnknownOperation,
				Text: fmt.Sprintf("Server did not recognize the value of HTTP Header SOAPAction: %s. Operations: %s", action, c.names())}
		}
		if env.op.Local != op.Name || env.op.Space != c.Namespace {
			return nil, &Fault{Code: CodeClient, Reason: ReasonActionMismatch, Element: env.op.Local,
				Text: fmt.Sprintf("the SOAPAction %s names operation %s but the Body holds element %s; expected {%s}%s",
					action, op.Name, qname(env.op), c.Namespace, op.Name)}
		}
		return op, nil
	}
	op, ok := c.operation(env.op.Local)
	if !ok || env.op.Space != c.Namespace {
		return nil, &Fault{Code: CodeClient, Reason: ReasonUnknownOperation, Element: env.op.Local,
			Text: fmt.Sprintf("element %s is not an operation of %s; operations (namespace %s): %s",
				qname(env.op), c.Service, c.Namespace, c.names())}
	}
	return op, nil
}

func (c *Contract) names() string {
	n := make([]string, len(c.Operations))
	for i, op := range c.Operations {
		n[i] = op.Name
	}
	return strings.Join(n, ", ")
}

// invoke runs the backend under the call timeout.
func (h *Handler) invoke(ctx context.Context, call *Call) (string, *Fault) {
	ctx, cancel := context.WithTimeout(ctx, h.opt.CallTimeout)
	defer cancel()
	res, err := h.b.Invoke(ctx, call)
	if err != nil {
		return "", h.backendFault(ctx, call, err)
	}
	return res, nil
}
