package dispatch

import "github.com/equus/sogateway/configs"

// VendorConfigs returns the live vendors' configuration (defaults applied,
// credentials named by variable) by name: what the last SetVendors swapped
// in, for the console's integrations page.
func (s *Service) VendorConfigs() map[string]configs.VendorConfig {
	vs := s.vset()
	out := make(map[string]configs.VendorConfig, len(vs.byName))
	for name, v := range vs.byName {
		out[name] = v.cfg
	}
	return out
}

// Groups returns the live assignment groups by name.
func (s *Service) Groups() map[string]configs.GroupConfig {
	vs := s.vset()
	out := make(map[string]configs.GroupConfig, len(vs.groups))
	for name, g := range vs.groups {
		out[name] = g
	}
	return out
}
