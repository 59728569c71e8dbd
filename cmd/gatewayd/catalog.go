package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/catalog"
	"github.com/equus/sogateway/internal/dispatch"
)

// seedCatalog writes the config file's vendors and groups into an empty catalog.
func seedCatalog(ctx context.Context, cat *catalog.Store, cfgPath string, log *slog.Logger) error {
	vendors, err := configs.RawSectionFile(cfgPath, "vendors")
	if err != nil {
		return err
	}
	groups, err := configs.RawSectionFile(cfgPath, "groups")
	if err != nil {
		return err
	}
	seeded, err := cat.Seed(ctx, vendors, groups)
	if err != nil {
		return err
	}
	if seeded {
		log.Info("integrations seeded from the config file; change them through /v1 from now on", "config", cfgPath, "vendors", len(vendors), "groups", len(groups))
	} else {
		log.Info("integrations come from Redis (changed through /v1); the config file's vendors and groups seeded them once", "config", cfgPath)
	}
	return nil
}

// liveNotes holds why live vendors are disabled, for /readyz.
type liveNotes struct {
	mu    sync.Mutex
	notes map[string]string
}

func (n *liveNotes) set(m map[string]string) { n.mu.Lock(); n.notes = m; n.mu.Unlock() }

func (n *liveNotes) get() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.notes
}

// watchCatalog applies every catalog revision to the dispatch service on this
// replica: each vendor document is resolved with this process's environment
// and validated; a document that no longer validates keeps the vendor's last
// good configuration, and the log says why.
func watchCatalog(ctx context.Context, w *wired, cat *catalog.Store, cfg *configs.Config, svc *dispatch.Service, notes *liveNotes, log *slog.Logger) {
	last := map[string]configs.VendorConfig{}
	apply := func(ctx context.Context, rev int64) {
		es, err := cat.List(ctx, catalog.KindVendor)
		if err != nil {
			log.Warn("integrations: reading vendors failed; keeping the running set", "err", err)
			return
		}
		next := map[string]configs.VendorConfig{}
		nn := map[string]string{}
		for _, e := range es {
			v, note, err := configs.ResolveVendor(e.Name, e.Doc, os.LookupEnv, &cfg.Dispatch)
			if err != nil {
				log.Error("integrations: a stored vendor is invalid; its last good configuration stays", "vendor", e.Name, "err", err)
				if prev, ok := last[e.Name]; ok {
					next[e.Name] = prev
				}
				continue
			}
			next[e.Name] = v
			if note != "" {
				nn[e.Name] = note
			}
		}
		groups := map[string]configs.GroupConfig{}
		ges, err := cat.List(ctx, catalog.KindGroup)
		if err != nil {
			log.Warn("integrations: reading groups failed; keeping the running set", "err", err)
			return
		}
		for _, e := range ges {
			g, err := configs.ResolveGroup(e.Name, e.Doc, next)
			if err != nil {
				log.Error("integrations: a stored group is invalid; it is left out", "group", e.Name, "err", err)
				continue
			}
			groups[e.Name] = g
		}
		svc.SetVendors(next, groups)
		notes.set(nn)
		last = next
		log.Info("integrations applied", "revision", rev, "vendors", len(next), "groups", len(groups))
	}
	w.goRun(func() { cat.Watch(ctx, time.Second, apply) })
}
