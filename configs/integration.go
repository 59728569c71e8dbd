package configs

import (
	"errors"
	"fmt"
	"sort"
)

// GroupConfig is one assignment group (seed 004). A group marked Integrated
// ("Task assigned to this group triggers integration") is served by Vendor:
// the first assignment of an order to it sends order.submitted (SSP7 Submit
// Request / Out) to that vendor, a re-assignment sends it again with the
// external reference, and an assignment away from it is an order.unassigned
// event the vendor's definitions may route. Groups are keyed by name under
// `groups:`.
type GroupConfig struct {
	// Vendor is the vendor that serves the group; required when Integrated.
	Vendor string `yaml:"vendor"`
	// Integrated marks the group as triggering integration; default false.
	Integrated bool `yaml:"integrated"`
	// Description is a label for operators; default empty.
	Description string `yaml:"description"`
}

// Accepts reports whether the vendor accepts communication type c ("" is data).
func (v *VendorConfig) Accepts(c string) bool {
	if c == "" {
		c = "data"
	}
	for _, a := range v.Communications {
		if a == c || a == "*" {
			return true
		}
	}
	return false
}

// PullOnly reports whether nothing is ever pushed to the vendor: it reads its
// orders with GET /partners/<vendor>/orders and needs no push definition.
func (v *VendorConfig) PullOnly() bool { return v.Transport == TransportPull }

// ValidateGroups checks the groups against the vendors (call it after both
// are defaulted): names, and that an integrated group names a configured
// vendor.
func ValidateGroups(groups map[string]GroupConfig, vendors map[string]VendorConfig) error {
	var errs []error
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := groups[n]
		p := "groups." + n
		if !nameRe.MatchString(n) {
			errs = append(errs, bad(p, "group names must match [a-z0-9_-]{1,64}", n))
		}
		if g.Integrated && g.Vendor == "" {
			errs = append(errs, bad(p+".vendor", "is required for an integrated group (the vendor that serves it)", g.Vendor))
		}
		if g.Vendor != "" {
			if _, ok := vendors[g.Vendor]; !ok {
				errs = append(errs, bad(p+".vendor", fmt.Sprintf("must name a vendor under vendors (have %v)", vendorNames(vendors)), g.Vendor))
			}
		}
		if len(g.Description) > 256 {
			errs = append(errs, bad(p+".description", "must be at most 256 characters", len(g.Description)))
		}
	}
	return errors.Join(errs...)
}

func vendorNames(vendors map[string]VendorConfig) []string {
	out := make([]string, 0, len(vendors))
	for n := range vendors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
