package main

import (
	"sort"
	"strings"

	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/dispatch"
)

// vendorsCheck is the /readyz check "vendors": every vendor's status (or the
// note saying why the config left it disabled), and a warning that names
// each vendor that cannot be sent to or pulled from and why, e.g.
// "acme-movers: ACME_MOVERS_TOKEN is not set". A vendor missing a
// credential does not make the gateway unready: its deliveries wait.
func vendorsCheck(status map[string]dispatch.VendorStatus, notes map[string]string) gateway.CheckResult {
	detail := make(map[string]any, len(status)+len(notes))
	var problems []string
	for name, st := range status {
		detail[name] = st
		if !st.Available && st.Reason != "" {
			problems = append(problems, name+": "+st.Reason)
		}
		for _, w := range st.Warnings {
			problems = append(problems, name+": "+w)
		}
	}
	for name, note := range notes {
		detail[name] = map[string]any{"note": note}
		problems = append(problems, name+": "+note)
	}
	sort.Strings(problems)
	res := gateway.CheckResult{OK: true, Detail: detail}
	if len(problems) > 0 {
		res.Warn = "vendors not fully usable: " + strings.Join(problems, "; ")
	}
	return res
}
