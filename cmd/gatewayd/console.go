package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/console"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
)

// wireConsole mounts the operator console at /console over the services /v1 uses.
func wireConsole(cfg *configs.Config, log *slog.Logger, gw *gateway.Gateway, st *store.Store, reg *mappings.Registry, svc *dispatch.Service, intakes []*mail.Intake) error {
	keys := gw.Access()
	if keys == nil {
		return fmt.Errorf("console: the gateway has no key store")
	}
	deps := console.Deps{
		Redis: st.Client(), Prefix: cfg.Redis.Prefix, Logger: log,
		Auth: keys, Keys: keys,
		Orders: console.StoreOrders{Store: st, Partners: func() []string {
			return slices.Compact(slices.Sorted(slices.Values(append(reg.Names(), svc.Vendors()...))))
		}},
		Dispatch: svc, Mappings: reg, Integrations: liveIntegrations{svc}, Mailboxes: mailboxes(intakes), Quarantine: mailboxes(intakes),
	}
	if a := gw.Audit(); a != nil {
		deps.Audit = a
	}
	c, err := console.New(deps)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	h := gin.WrapH(c)
	gw.Engine().Any("/console", h)
	gw.Engine().Any("/console/*path", h)
	return nil
}

// liveIntegrations shows the integrations dispatch runs with (the catalog's
// live set, swapped in on every replica).
type liveIntegrations struct{ svc *dispatch.Service }

func (l liveIntegrations) Vendors() map[string]configs.VendorConfig { return l.svc.VendorConfigs() }

func (l liveIntegrations) Groups() map[string]configs.GroupConfig { return l.svc.Groups() }

// mailboxes gives the console the mail intakes by partner.
type mailboxes []*mail.Intake

func (m mailboxes) Mailboxes() []mail.MailboxStatus {
	out := make([]mail.MailboxStatus, 0, len(m))
	for _, in := range m {
		out = append(out, in.Status())
	}
	return out
}

func (m mailboxes) find(partner string) (*mail.Intake, error) {
	for _, in := range m {
		if in.Status().Name == partner {
			return in, nil
		}
	}
	return nil, fmt.Errorf("mailbox %q: %w", partner, model.ErrNotFound)
}

func (m mailboxes) Quarantined(ctx context.Context, partner string, limit int) ([]mail.QuarantinedMail, error) {
	in, err := m.find(partner)
	if err != nil {
		return nil, err
	}
	return in.Quarantined(ctx, limit)
}

func (m mailboxes) Reprocess(ctx context.Context, partner string, uid uint32) error {
	in, err := m.find(partner)
	if err != nil {
		return err
	}
	return in.Reprocess(ctx, uid)
}
