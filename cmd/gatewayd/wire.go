package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/gateway/partnerauth"
	"github.com/equus/sogateway/gateway/partners"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/readers"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
	"github.com/equus/sogateway/soap"
)

// wired holds what wire started, to stop it.
type wired struct {
	closers []func()
	wg      sync.WaitGroup
}

func (w *wired) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
	w.wg.Wait()
}

func (w *wired) goRun(f func()) {
	w.wg.Add(1)
	go func() { defer w.wg.Done(); f() }()
}

// wire mounts the mapping-driven parts (partners, SOAP, mail, dispatch) on gw.
func wire(ctx context.Context, cfg *configs.Config, log *slog.Logger, gw *gateway.Gateway, st *store.Store, in *intake.Service) (*wired, error) {
	w := &wired{}
	reg, err := mappings.NewRegistry(cfg.Mappings.Dir, log)
	if reg == nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	if err != nil {
		log.Error("some mappings did not load; those partners are not served", "err", err)
	}
	gw.SetOwners(func(partner string) map[string]model.Owner {
		if m := reg.Get(partner); m != nil {
			return m.Spec().Owners
		}
		return nil
	})
	gw.SetPartners(reg.Names)
	gw.AddCheck("mappings", func(context.Context) gateway.CheckResult {
		if len(reg.Names()) == 0 {
			return gateway.CheckResult{OK: false, Error: "no mapping loaded from " + reg.Dir(), Detail: reg.Status()}
		}
		// A broken edit leaves the running version serving: ready, with a warning.
		return gateway.CheckResult{OK: true, Detail: reg.Status(), Warn: reg.Warning()}
	})
	if *cfg.Mappings.Watch {
		w.goRun(func() { reg.Watch(ctx, cfg.Mappings.PollInterval) })
	}
	settings := map[string]map[string]string{}
	for name, p := range cfg.Partners {
		settings[name] = p.Settings
	}
	inb := inbound.New(inbound.Registry{Reg: reg}, in, &inbound.Options{Logger: log})
	if err := gw.Registry().Register(inb.Collector()); err != nil {
		return nil, fmt.Errorf("inbound metrics: %w", err)
	}
	ps := partners.Register(gw.Engine(), reg, inb, os.Getenv, &partners.Options{
		Settings: settings, Logger: log, MaxBodyBytes: cfg.Server.MaxBodyBytes,
		Replay:     partnerauth.NewRedisReplay(st.Client()),
		Registerer: gw.Registry(),
		// Partner routes follow every mapping reload, so they are served
		// past the static routes rather than mounted once.
		Mount: gw.AddRouteFallback,
	})
	gw.AddCheck("partners", ps.Check)
	gw.AddOpenAPIPaths(ps.OpenAPIPaths())
	reg.OnReload(func() { gw.AddOpenAPIPaths(ps.OpenAPIPaths()) })
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	w.closers = append(w.closers, func() { signal.Stop(hup) })
	w.goRun(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := reg.Reload(); err != nil {
					log.Error("SIGHUP: mapping reload refused; the running versions stay", "err", err)
				} else {
					log.Info("SIGHUP: mappings reloaded")
				}
				ps.Refresh() // re-read partner credentials and key files
			}
		}
	})

	wireSOAP(cfg, log, gw, reg, inb, st)
	intakes := wireMail(ctx, w, cfg, log, gw, reg, inb)
	svc, err := wireDispatch(ctx, w, cfg, log, gw, st, reg, in)
	if err != nil {
		return nil, err
	}
	if err := wireConsole(cfg, log, gw, st, reg, svc, intakes); err != nil {
		return nil, err
	}
	return w, nil
}

// nonceCache shares WS-Security nonces between replicas through Redis.
type nonceCache struct{ st *store.Store }

func (n nonceCache) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return n.st.RememberNonce(ctx, key, ttl)
}

var _ soap.NonceCache = nonceCache{}

// soapMount serves one partner's SOAP service, rebuilt when its mapping
// changes so the WSDL always follows the live declaration.
type soapMount struct {
	partner string
	reg     *mappings.Registry
	build   func(*mappings.Mapping) (http.Handler, error)
	log     *slog.Logger
	cur     atomic.Pointer[soapBuilt]
	mu      sync.Mutex
}

type soapBuilt struct {
	version string
	h       http.Handler
}

func (s *soapMount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := s.reg.Get(s.partner)
	cur := s.cur.Load()
	if m != nil && (cur == nil || cur.version != m.Version()) {
		s.mu.Lock()
		if cur = s.cur.Load(); cur == nil || cur.version != m.Version() {
			h, err := s.build(m)
			if err != nil {
				s.log.Error("soap: the new mapping's contract is invalid; serving the previous one", "partner", s.partner, "err", err)
			} else {
				cur = &soapBuilt{version: m.Version(), h: h}
				s.cur.Store(cur)
			}
		}
		s.mu.Unlock()
	}
	if cur == nil {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	cur.h.ServeHTTP(w, r)
}

// wireSOAP mounts the SOAP service of every mapping that declares one.
func wireSOAP(cfg *configs.Config, log *slog.Logger, gw *gateway.Gateway, reg *mappings.Registry, inb *inbound.Service, st *store.Store) {
	for _, name := range reg.Names() {
		m := reg.Get(name)
		spec := m.Spec()
		if spec.SOAP == nil {
			continue
		}
		name := name
		var users []soap.User
		userVar, passVar := "SSP7_SOAP_USER", "SSP7_SOAP_PASSWORD"
		if a := spec.Auth; a != nil && a.UserEnv != "" {
			userVar, passVar = a.UserEnv, a.PasswordEnv
		}
		u, uerr := soap.UserFromEnv(userVar, passVar)
		if uerr == nil {
			users = append(users, u)
		}
		gw.AddCheck("soap."+name, func(context.Context) gateway.CheckResult {
			if uerr != nil {
				return gateway.CheckResult{OK: true, Warn: "every call is refused: " + uerr.Error()}
			}
			return gateway.CheckResult{OK: true, Detail: map[string]any{"path": soap.ContractOf(spec.SOAP).Path}}
		})
		backend := &soap.Inbound{Partner: name, Receiver: inb, Settings: cfg.Partners[name].Settings}
		mount := &soapMount{partner: name, reg: reg, log: log, build: func(m *mappings.Mapping) (http.Handler, error) {
			return soap.NewHandler(soap.ContractOf(m.Spec().SOAP), backend, &soap.Options{Users: users, Logger: log,
				MaxBodyBytes: cfg.Server.MaxBodyBytes, Nonces: nonceCache{st}, ReadTimeout: cfg.Server.ReadTimeout,
				PublicURL: cfg.Server.PublicURL, TrustedProxies: cfg.Server.TrustedPrefixes()})
		}}
		contract := soap.ContractOf(spec.SOAP)
		path := contract.Path
		h := gin.WrapH(mount)
		gw.Engine().Any(path, h)
		// Other spellings of the path (IIS ignores case) and wrong paths in
		// its folder reach the handler too: a SOAP fault, not problem+json.
		gw.AddFallback(func(r *http.Request) bool { return contract.Claims(r.URL.Path) }, mount)
		gw.AddOpenAPIPaths(map[string]any{path: map[string]any{
			"post": map[string]any{"summary": "SOAP 1.1/1.2 service of " + name + " (operations: see ?WSDL)", "responses": map[string]any{"200": map[string]any{"description": "SOAP response"}, "500": map[string]any{"description": "SOAP fault"}}},
			"get":  map[string]any{"summary": "?WSDL serves the WSDL; ?op=Name a help page", "responses": map[string]any{"200": map[string]any{"description": "WSDL or help page"}}},
		}})
	}
}

// wireMail starts a mail intake per partner mailbox and returns them.
func wireMail(ctx context.Context, w *wired, cfg *configs.Config, log *slog.Logger, gw *gateway.Gateway, reg *mappings.Registry, inb *inbound.Service) []*mail.Intake {
	var intakes []*mail.Intake
	defer func() {
		if len(intakes) > 0 {
			if err := gw.Registry().Register(mail.Collector(intakes...)); err != nil {
				log.Error("mail metrics not registered", "err", err)
			}
		}
	}()
	names := make([]string, 0, len(cfg.Partners))
	for n := range cfg.Partners {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := cfg.Partners[name]
		mb := p.Mailbox
		if mb == nil || !p.On() {
			continue
		}
		name := name
		m := reg.Get(name)
		if mb.Addr == "" || m == nil || m.Spec().Mail == nil {
			reason := "no IMAP address configured"
			if m == nil || m.Spec().Mail == nil {
				reason = "the mapping declares no mail section"
			}
			gw.AddCheck("mail."+name, func(context.Context) gateway.CheckResult {
				return gateway.CheckResult{OK: true, Warn: "mailbox not read: " + reason}
			})
			continue
		}
		in := mail.NewIntake(mail.MailboxConfig{Name: name, Addr: mb.Addr, User: mb.User, Password: mail.Secret(mb.Password.Reveal()),
			TLS: mail.TLSMode(mb.TLS), Inbox: mb.Inbox, Processed: mb.Processed, Quarantine: mb.Quarantine, PollInterval: mb.PollInterval},
			mail.RulesOf(m.Spec().Mail), inb, &mail.DirStore{Dir: cfg.Attachments.Dir}, &mail.Options{Logger: log, Settings: p.Settings})
		intakes = append(intakes, in)
		gw.AddCheck("mail."+name, func(context.Context) gateway.CheckResult {
			st := in.Status()
			return gateway.CheckResult{OK: st.Connected, Detail: st}
		})
		w.goRun(func() {
			if err := in.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("mail intake stopped", "partner", name, "err", err)
			}
		})
	}
	return intakes
}

func wireDispatch(ctx context.Context, w *wired, cfg *configs.Config, log *slog.Logger, gw *gateway.Gateway, st *store.Store, reg *mappings.Registry, in *intake.Service) (*dispatch.Service, error) {
	maxAge := cfg.Dispatch.Retry.MaxAge
	for _, v := range cfg.Vendors {
		if v.Retry != nil && v.Retry.MaxAge > maxAge {
			maxAge = v.Retry.MaxAge // the queue's cap must not cut a vendor's longer policy short
		}
	}
	q := queue.New(st.Client(), &queue.Options{Prefix: cfg.Redis.Prefix, LeaseFor: cfg.Dispatch.LeaseFor,
		MaxAttempts: cfg.Dispatch.Retry.MaxAttempts, MaxAge: maxAge, Logger: log})
	svc := dispatch.New(st, q, mappingRenderer{reg: reg}, &dispatch.Options{
		Vendors: cfg.Vendors, Dispatch: cfg.Dispatch, Groups: cfg.Groups, Prefix: cfg.Redis.Prefix, Logger: log,
		AdapterEnv: &adapters.Env{Attachments: adapters.DirStore{Dir: cfg.Attachments.Dir}}})
	// The one path from "order changed" to "deliveries created".
	in.SetOnCommitted(func(ctx context.Context, before, after *model.Order, ev *model.Event) {
		if _, err := svc.Route(ctx, before, after, ev); err != nil {
			log.WarnContext(ctx, "change not fully dispatched", "order", after.ID, "err", err)
		}
	})
	gw.AddOpenAPIPaths(gateway.DispatchOpenAPIPaths())
	gw.AddOpenAPIPaths(gateway.IntegrationOpenAPIPaths())
	gateway.RegisterDispatch(gw.Engine().Group("/v1"), gw.Engine().Group("/partners"), svc, gw.Recorder())
	gw.SetVendorsOf(svc.VendorsOf)
	// A partner may address its own orders and those sent to it: to a vendor
	// of its name or to one its mapping serves (ssp7-provider: ssp7).
	in.SetSentTo(func(ctx context.Context, orderID string) ([]string, error) {
		vs, err := svc.VendorsOf(ctx, orderID)
		if len(vs) == 0 {
			return vs, err
		}
		cfgs := svc.VendorConfigs()
		for _, v := range vs {
			if c, ok := cfgs[v]; ok && c.Mapping != "" {
				vs = append(vs, c.Mapping)
			}
		}
		return vs, err
	})
	// An order's partner is a mapped partner or a vendor (acme-movers is served
	// by the equus mapping); both lists are live (reloads, catalog changes).
	gw.SetPartners(func() []string {
		return slices.Compact(slices.Sorted(slices.Values(append(reg.Names(), svc.Vendors()...))))
	})
	gateway.RegisterIntegration(gw.Engine().Group("/v1"), in, svc)
	if err := gw.Registry().Register(svc.Collector()); err != nil {
		return nil, fmt.Errorf("dispatch metrics: %w", err)
	}
	notes := &liveNotes{notes: cfg.VendorNotes}
	if cat := gw.Catalog(); cat != nil {
		watchCatalog(ctx, w, cat, cfg, svc, notes, log)
	}
	gw.AddCheck("vendors", func(ctx context.Context) gateway.CheckResult {
		return vendorsCheck(svc.Status(ctx), notes.get())
	})
	w.goRun(func() {
		if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("dispatch workers stopped", "err", err)
		}
	})
	janitor := dispatch.NewJanitor(st, svc, cfg.Retention)
	if err := gw.Registry().Register(janitor.Collector()); err != nil {
		return nil, fmt.Errorf("retention metrics: %w", err)
	}
	w.goRun(func() { janitor.Run(ctx) })
	return svc, nil
}

func runMappings(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mappings.CLIMain(args, envOr("GATEWAY_MAPPINGS_DIR", "mappings"), readers.Production(), stdin, stdout, stderr)
}
