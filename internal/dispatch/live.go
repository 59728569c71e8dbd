package dispatch

import (
	"context"
	"errors"
	"sort"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
)

// Vendors are data (issue 15): the admin changes them through /v1 and every
// replica swaps in the new set at once. A vendorSet is immutable; readers take
// one with vset() and use it for the whole decision, so a swap never shows
// them half a change.

// vendorSet is one immutable snapshot of the configured vendors.
type vendorSet struct {
	byName map[string]*vendor
	names  []string // sorted
	groups map[string]configs.GroupConfig
}

// vset returns the live vendor snapshot.
func (s *Service) vset() *vendorSet { return s.set.Load() }

// buildSet builds each vendor's adapters; vendors whose credentials are
// missing are kept but unavailable (Status says why; Send refuses them).
func (s *Service) buildSet(cfgs map[string]configs.VendorConfig, groups map[string]configs.GroupConfig) *vendorSet {
	vs := &vendorSet{byName: map[string]*vendor{}, groups: groups}
	for name, c := range cfgs {
		c.SetDefaults()
		v := &vendor{name: name, cfg: c, retry: s.cfg.Retry, adapters: map[string]adapters.Adapter{}}
		if c.Retry != nil {
			v.retry = *c.Retry
		}
		if c.Disabled {
			v.unavailable = "disabled in the configuration"
		}
		var transports []string
		if c.Transport != configs.TransportPull {
			transports = append(transports, c.Transport)
		}
		if c.Email != nil && c.Transport != configs.TransportSMTP {
			transports = append(transports, configs.TransportSMTP)
		}
		for _, t := range transports {
			a, err := s.reg.Build(t, name, &c, s.env)
			if err != nil {
				if v.unavailable == "" {
					v.unavailable = unavailableReason(err)
				}
				continue
			}
			v.adapters[t] = a
		}
		if c.Pull.Enabled {
			if k, ok := lookupEnv(s.env, c.Pull.APIKeyEnv); ok {
				v.pullKey = []byte(k)
			} else if v.unavailable == "" && len(v.adapters) == 0 {
				v.unavailable = "pull API key variable " + c.Pull.APIKeyEnv + " is not set"
			}
		}
		vs.byName[name] = v
		vs.names = append(vs.names, name)
	}
	sort.Strings(vs.names)
	return vs
}

// SetVendors replaces the configured vendors with cfgs (defaults applied
// here) and the integrated groups with groups, at once: the next Send, update of values, pull and delivery use the
// new definitions, permission sets, endpoints and availability. Workers start
// for vendors that are new or became available while Run is running; a
// vendor removed keeps its queued deliveries (delivered with its last
// configuration until Run restarts).
func (s *Service) SetVendors(cfgs map[string]configs.VendorConfig, groups map[string]configs.GroupConfig) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.set.Store(s.buildSet(cfgs, groups))
	if s.runCtx != nil {
		s.startWorkers(s.runCtx)
	}
}

// current returns the live configuration of v's vendor (v itself when it was
// removed), so a long-running worker delivers with the latest settings.
func (s *Service) current(v *vendor) *vendor {
	if c, ok := s.vset().byName[v.name]; ok {
		return c
	}
	return v
}

// startWorkers starts the workers of every pushed-to, available vendor that
// has none yet (callers hold runMu).
func (s *Service) startWorkers(ctx context.Context) {
	if s.running == nil {
		s.running = map[string]bool{}
	}
	vs := s.vset()
	for _, name := range vs.names {
		v := vs.byName[name]
		if s.running[name] {
			continue
		}
		if v.unavailable != "" {
			// Disabled or missing credentials: its jobs wait, untouched, until
			// the vendor is fixed (a change through /v1, or a restart).
			s.log.Warn("dispatch: vendor unavailable, its deliveries wait", "vendor", name, "reason", v.unavailable)
			continue
		}
		if len(v.adapters) == 0 {
			continue // pull only
		}
		s.running[name] = true
		n := v.cfg.Workers
		if n <= 0 {
			n = s.cfg.Workers
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runVendor(ctx, v, n)
		}()
	}
}

// unavailableReason is why a vendor's adapter could not be built, as /readyz
// shows it: the credential variable it lacks ("ACME_MOVERS_TOKEN is not
// set"), without Go package prefixes.
func unavailableReason(err error) string {
	var ce *adapters.CredentialError
	if errors.As(err, &ce) {
		return ce.Reason()
	}
	return err.Error()
}
