package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/audit"
	"github.com/equus/sogateway/internal/catalog"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/store"
)

// Deps are what the gateway is built from. Config, Store and Intake are required.
type Deps struct {
	Config *configs.Config
	Store  *store.Store
	Intake *intake.Service
	// Embedded says Redis is the in-process one: readiness reports missing
	// persistence without failing.
	Embedded bool
	// Logger is the JSON logger; default slog.Default().
	Logger *slog.Logger
	// Registry receives the metrics; default a new registry.
	Registry *prometheus.Registry
	// Owners returns the field ownership a partner's mapping declares; nil means none.
	Owners func(partner string) map[string]model.Owner
	// Access verifies /v1 credentials and stores API keys; nil refuses every
	// /v1 request with 401 (the API is never open by omission).
	Access *access.Keys
	// Audit records changes made through /v1; nil records nothing.
	Audit *audit.Log
	// Index finds orders for GET /v1/orders; nil answers 503 there.
	Index *orderindex.Index
	// Catalog holds integrations as data (vendors, definitions, groups); nil
	// answers 503 on those routes.
	Catalog *catalog.Store
	// Partners lists the known partners (POST /v1/orders refuses others);
	// nil accepts any partner name.
	Partners func() []string
}

// CheckResult is one readiness check's verdict.
type CheckResult struct {
	OK     bool   `json:"ok"`
	Detail any    `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
	// Warn marks a problem that does not make the gateway unready.
	Warn string `json:"warning,omitempty"`
}

// Check is a readiness probe.
type Check func(ctx context.Context) CheckResult

// Gateway is the HTTP surface of the service.
type Gateway struct {
	d       Deps
	engine  *gin.Engine
	metrics *Metrics
	log     *slog.Logger

	mu        sync.RWMutex
	checks    map[string]Check
	openapi   map[string]any
	fallbacks []fallback
	routes    []routeFallback

	vendorsOf func(ctx context.Context, orderID string) ([]string, error)
}

// New builds the gin engine with middleware, operations endpoints and the
// platform API. Further routes (partners, SOAP, dispatch) mount on Engine().
func New(d Deps) *Gateway {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{d: d, engine: gin.New(), log: d.Logger, checks: map[string]Check{}, openapi: map[string]any{}}
	g.metrics = NewMetrics(d.Registry)
	registerRuntimeCollectors(d.Registry)
	g.engine.ContextWithFallback = true
	g.engine.HandleMethodNotAllowed = true
	g.engine.Use(g.requestID(), g.recover(), g.metrics.middleware(), g.accessLog(), g.limitBody(d.Config.Server.MaxBodyBytes), g.authenticate())
	g.engine.NoRoute(func(c *gin.Context) {
		if h := g.routeFallback(c.Request); h != nil {
			c.Status(http.StatusOK) // gin preset 404; h chooses
			h(c)
			return
		}
		if h := g.fallback(c.Request); h != nil {
			c.Status(http.StatusOK) // gin preset 404; h chooses
			h.ServeHTTP(c.Writer, c.Request)
			return
		}
		WriteProblem(c, Problem{Status: http.StatusNotFound, Detail: "no route " + c.Request.Method + " " + c.Request.URL.Path})
	})
	g.engine.NoMethod(func(c *gin.Context) {
		if h := g.routeFallback(c.Request); h != nil {
			c.Status(http.StatusOK)
			h(c)
			return
		}
		WriteProblem(c, Problem{Status: http.StatusMethodNotAllowed, Detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	g.engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	g.engine.GET("/readyz", g.readyz)
	g.engine.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	g.engine.GET("/openapi.json", g.openAPI)
	g.AddCheck("redis", g.redisCheck)
	v1 := g.engine.Group("/v1")
	g.mountPlatform(v1)
	g.mountAPIKeys(v1)
	g.mountAudit(v1)
	g.mountIntegrations(v1)
	g.mountSearch(v1)
	return g
}

// SetOwners sets how the platform API finds a partner's field ownership
// (from its live mapping); call it before serving.
func (g *Gateway) SetOwners(f func(partner string) map[string]model.Owner) { g.d.Owners = f }

// SetPartners sets how the platform API lists the known partners (the
// loaded mappings); call it before serving.
func (g *Gateway) SetPartners(f func() []string) { g.d.Partners = f }

// Engine returns the gin engine for mounting further routes.
func (g *Gateway) Engine() *gin.Engine { return g.engine }

// Handler returns the HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.engine }

// Metrics returns the gateway's collectors (its RedisHook counts Redis errors).
func (g *Gateway) Metrics() *Metrics { return g.metrics }

// Registry returns the Prometheus registry /metrics serves.
func (g *Gateway) Registry() *prometheus.Registry { return g.d.Registry }

// AddCheck adds a named readiness check shown in /readyz.
func (g *Gateway) AddCheck(name string, c Check) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks[name] = c
}

// AddFallback sends a request that matches no route, and for which claims is
// true, to h instead of the problem+json 404: the SOAP service answers every
// spelling of its path (IIS ignores case) and faults in its own shape in its
// folder. The first fallback added that claims a request serves it.
func (g *Gateway) AddFallback(claims func(*http.Request) bool, h http.Handler) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fallbacks = append(g.fallbacks, fallback{claims, h})
}

// AddRouteFallback serves with h a request that no static route matches
// (not even by another method) and for which claims is true, with the
// request's gin context: the partner routes, which follow each mapping
// reload, are served this way. Route fallbacks are tried before AddFallback's.
func (g *Gateway) AddRouteFallback(claims func(*http.Request) bool, h gin.HandlerFunc) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.routes = append(g.routes, routeFallback{claims, h})
}

// routeFallback is one AddRouteFallback registration.
type routeFallback = claim[gin.HandlerFunc]

// fallback is one AddFallback registration.
type fallback = claim[http.Handler]

// claim is a handler for the requests its claims func accepts.
type claim[H any] struct {
	claims func(*http.Request) bool
	h      H
}

// firstClaim is the handler of the first claim in list accepting r, if any.
func firstClaim[H any](g *Gateway, list *[]claim[H], r *http.Request) (H, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, f := range *list {
		if f.claims(r) {
			return f.h, true
		}
	}
	var zero H
	return zero, false
}

func (g *Gateway) routeFallback(r *http.Request) gin.HandlerFunc {
	h, _ := firstClaim(g, &g.routes, r)
	return h
}

func (g *Gateway) fallback(r *http.Request) http.Handler {
	h, _ := firstClaim(g, &g.fallbacks, r)
	return h
}

// AddOpenAPIPaths merges OpenAPI path items into /openapi.json.
func (g *Gateway) AddOpenAPIPaths(paths map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range paths {
		g.openapi[k] = v
	}
}

func (g *Gateway) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		c.Set("request_id", id)
		c.Header("X-Request-Id", id)
		c.Request = c.Request.WithContext(WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

func (g *Gateway) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				g.log.ErrorContext(c.Request.Context(), "panic in handler", "panic", fmt.Sprint(r), "path", c.Request.URL.Path)
				WriteProblem(c, Problem{Status: http.StatusInternalServerError, Title: "Internal error",
					Detail: "see the gateway log for request id " + c.GetString("request_id")})
			}
		}()
		c.Next()
	}
}

func (g *Gateway) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		lvl := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			lvl = slog.LevelError
		}
		ctx := c.Request.Context()
		if !g.log.Enabled(ctx, lvl) {
			return
		}
		// Typed attributes in a fixed array: the same line as key-value
		// pairs would give, without boxing each value.
		attrs := [8]slog.Attr{slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
			slog.String("route", c.FullPath()), slog.Int("status", c.Writer.Status()), slog.Int("bytes", c.Writer.Size()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("remote", c.ClientIP())}
		n := 7
		if len(c.Errors) > 0 {
			attrs[n] = slog.String("error", c.Errors.String())
			n++
		}
		g.log.LogAttrs(ctx, lvl, "request", attrs[:n]...)
	}
}

// limitBody caps every request body at max bytes; reading past it fails with
// *http.MaxBytesError, which handlers answer with 413 in their own shape. A
// declared Content-Length over the cap is refused at once on the platform API;
// partner and SOAP routes answer it themselves, in the partner's format.
// Whenever the answer is an error, up to DrainBytes of the rest of the body are
// read and discarded first, so a client that writes the whole body before
// reading gets the 413 rather than a connection reset.
func (g *Gateway) limitBody(max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(ctxOrigBody, c.Request.Body)
		if c.Request.ContentLength > max && strings.HasPrefix(c.Request.URL.Path, "/v1/") {
			drain(c)
			WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", c.Request.ContentLength, max)})
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
		if c.Writer.Status() >= http.StatusBadRequest {
			// A refusal (413, 401, 400 …) may come before the body was read;
			// the answer is still buffered: discard the rest before it is sent.
			drain(c)
		}
	}
}

func (g *Gateway) redisCheck(ctx context.Context) CheckResult {
	rdb := g.d.Store.Client()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return CheckResult{OK: false, Error: "redis unreachable: " + err.Error()}
	}
	res := CheckResult{OK: true}
	detail := map[string]any{"embedded": g.d.Embedded}
	var warns []string
	if g.d.Embedded {
		warns = append(warns, "embedded in-process Redis: nothing survives a restart")
		detail["appendonly"] = "no (embedded: nothing is persisted)"
	}
	if v, err := rdb.ConfigGet(ctx, "appendonly").Result(); err == nil {
		detail["appendonly"] = v["appendonly"]
		if v["appendonly"] != "yes" {
			warns = append(warns, "AOF is off (appendonly "+v["appendonly"]+"): acknowledged messages can be lost on a crash")
		}
	} else if !g.d.Embedded {
		warns = append(warns, "could not read appendonly: "+err.Error())
	}
	if v, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result(); err == nil {
		detail["maxmemory_policy"] = v["maxmemory-policy"]
		if p := v["maxmemory-policy"]; p != "" && p != "noeviction" {
			warns = append(warns, "maxmemory-policy is "+p+", not noeviction: Redis may evict orders and queued deliveries")
		}
	}
	res.Detail = detail
	res.Warn = strings.Join(warns, "; ")
	return res
}

func (g *Gateway) readyz(c *gin.Context) {
	g.mu.RLock()
	names := make([]string, 0, len(g.checks))
	for n := range g.checks {
		names = append(names, n)
	}
	checks := g.checks
	g.mu.RUnlock()
	sort.Strings(names)
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	out := map[string]CheckResult{}
	ready := true
	for _, n := range names {
		r := checks[n](ctx)
		out[n] = r
		if !r.OK {
			ready = false
		}
	}
	status := http.StatusOK
	verdict := "ready"
	if !ready {
		status, verdict = http.StatusServiceUnavailable, "not ready"
	}
	c.JSON(status, gin.H{"status": verdict, "checks": out})
}

// Serve runs h on cfg's address until ctx ends, then shuts down gracefully,
// letting in-flight requests finish within cfg.ShutdownTimeout. ready, when
// not nil, receives the bound address once listening.
func Serve(ctx context.Context, cfg configs.Server, h http.Handler, log *slog.Logger, ready func(addr string)) error {
	srv := &http.Server{
		Addr: cfg.Addr, Handler: h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", cfg.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}
