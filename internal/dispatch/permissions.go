package dispatch

import (
	"github.com/equus/sogateway/internal/model"
)

// visibleOrder returns o as vendor v may see it: with a permission set that
// lists fields, the typed fields and the optional parts (refs.servicer,
// partner_status, client_status, flags, tasks, attachments, messages,
// assignment) it does not list are left out. The same view is rendered for
// pushed and pulled payloads and handed to the transport (an email carries
// only the attachments the vendor may see). o itself is not changed.
func visibleOrder(v *vendor, o *model.Order) *model.Order {
	p := v.cfg.Permissions
	if len(p.Fields) == 0 || o == nil {
		return o
	}
	c := *o
	c.Fields = nil
	for name, f := range o.Fields {
		if p.Visible("fields." + name) {
			if c.Fields == nil {
				c.Fields = map[string]model.Field{}
			}
			c.Fields[name] = f
		}
	}
	hide := func(path string, clear func()) {
		if !p.Visible(path) {
			clear()
		}
	}
	hide("refs.servicer", func() { c.Refs.Servicer = "" })
	hide("partner_status", func() { c.PartnerStatus = "" })
	hide("client_status", func() { c.ClientStatus = "" })
	hide("flags", func() { c.Flags = nil })
	hide("tasks", func() { c.Tasks = nil })
	hide("attachments", func() { c.Attachments = nil })
	hide("messages", func() { c.Messages = nil })
	hide("assignment", func() { c.Assignment = nil })
	return &c
}
