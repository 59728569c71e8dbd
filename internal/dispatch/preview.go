package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
)

// DefaultSendNotice is the seed's notice when the vendor's mapping renders no
// send_notice.
const DefaultSendNotice = "If you save and send, the service order will be automatically sent to the vendor."

// VendorPreview is what Save and Send would do for one vendor, so a platform
// UI can show the seed's messages before the click.
type VendorPreview struct {
	Vendor string `json:"vendor"`
	// WouldSend is true when Save and Send would be accepted for this vendor
	// (delivered now, or queued while it is offline, or published to its pull
	// feed).
	WouldSend bool `json:"would_send"`
	// Pull is true for a vendor that reads the order from its pull feed.
	Pull bool `json:"pull,omitempty"`
	// Reason says why Save and Send would be refused.
	Reason string `json:"reason,omitempty"`
	// Notice is the vendor's send notice ("If you save and send, …").
	Notice string `json:"notice,omitempty"`
	// MissingFields are the definition's required fields the order lacks.
	MissingFields []string `json:"missing_fields,omitempty"`
	// Blocked is true when missing fields block the send (block_if_missing).
	Blocked bool `json:"blocked,omitempty"`
	// Communications are the communication types the vendor accepts.
	Communications []string `json:"communications"`
	// Offline is set while the vendor is in an offline window.
	Offline *OfflinePreview `json:"offline,omitempty"`
}

// OfflinePreview is the maintenance notice with its time.
type OfflinePreview struct {
	Notice    string    `json:"notice"`
	Until     time.Time `json:"until"`
	Remaining string    `json:"remaining"`
}

// Preview answers GET /v1/orders/{id}/send-preview.
type Preview struct {
	OrderID string          `json:"order_id"`
	Vendors []VendorPreview `json:"vendors"`
}

// Preview says, without changing anything, which vendors Save and Send of the
// order would reach: vendorName alone, or every vendor with an active
// order.submitted definition for the order's company and service type, every
// pull-only vendor whose permission set allows it, and the order's partner
// when it is a vendor. Each entry carries the send notice, the missing
// required fields and, while the vendor is offline, the maintenance notice
// with the time left.
func (s *Service) Preview(ctx context.Context, orderID, vendorName string) (*Preview, error) {
	o, err := s.st.GetOrder(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: preview: %w", err)
	}
	var names []string
	if vendorName != "" {
		if _, err := s.vendor(vendorName); err != nil {
			return nil, err
		}
		names = []string{vendorName}
	} else {
		vs := s.vset()
		for _, n := range vs.names {
			v := vs.byName[n]
			if n == o.Partner || v.definition(o, string(model.EventOrderSubmitted)) != nil ||
				(v.cfg.PullOnly() && s.permit(v, o) == nil) {
				names = append(names, n)
			}
		}
	}
	p := &Preview{OrderID: o.ID, Vendors: []VendorPreview{}}
	for _, n := range names {
		vp, err := s.previewOne(ctx, s.vset().byName[n], o)
		if err != nil {
			return nil, err
		}
		p.Vendors = append(p.Vendors, vp)
	}
	return p, nil
}

func (s *Service) previewOne(ctx context.Context, v *vendor, o *model.Order) (VendorPreview, error) {
	vp := VendorPreview{Vendor: v.name, Pull: v.cfg.Pull.Enabled, Communications: v.cfg.Communications}
	def := v.definition(o, string(model.EventOrderSubmitted))
	var reasons []string
	if r := s.unavailable(ctx, v); r != "" {
		reasons = append(reasons, "the vendor cannot receive orders: "+r)
	}
	if o.Status.Terminal() {
		reasons = append(reasons, fmt.Sprintf("the order is %s", o.Status))
	}
	if err := s.permit(v, o); err != nil {
		reasons = append(reasons, err.(*model.RuleError).Rule)
	}
	if def == nil && !v.cfg.PullOnly() {
		reasons = append(reasons, fmt.Sprintf("no active integrated event definition for company %q, service type %q and event order.submitted", o.Company, o.ServiceType))
	}
	if def != nil {
		vp.MissingFields = missingFields(o, def.RequiredFields)
		if len(vp.MissingFields) > 0 && def.BlockIfMissing {
			vp.Blocked = true
			reasons = append(reasons, "required fields are missing: "+strings.Join(vp.MissingFields, ", "))
		}
	}
	vp.Reason = strings.Join(reasons, "; ")
	vp.WouldSend = len(reasons) == 0
	if vp.WouldSend {
		vp.Notice = DefaultSendNotice
		if s.r != nil {
			if r, err := s.r.Render(v.cfg.Mapping, "send_notice", o, nil, map[string]any{"vendor": v.name}); err == nil && strings.TrimSpace(string(r.Body)) != "" {
				vp.Notice = strings.TrimSpace(string(r.Body))
			}
		}
	}
	if !v.cfg.PullOnly() {
		until, err := s.q.HoldOf(ctx, v.name)
		if err != nil {
			return vp, fmt.Errorf("dispatch: preview: %w", err)
		}
		if until != nil {
			rem := until.Sub(s.now())
			vp.Offline = &OfflinePreview{Notice: s.notice(v, o, nil, *until, rem), Until: until.UTC(), Remaining: FormatRemaining(rem)}
		}
	}
	return vp, nil
}
