package mail

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollector(t *testing.T) {
	in := NewIntake(MailboxConfig{Name: "ssp7"}, nil, receiver(ssp7Translator{}, newFakeSink()), nil, nil)
	in.update(func(s *MailboxStatus) {
		s.Connected, s.Processed, s.Pending = true, 7, 3
		s.QuarantinedBy["no_tag"] = 2
	})
	reg := prometheus.NewPedanticRegistry()
	testMust(t, reg.Register(Collector(in)))
	mfs, err := reg.Gather()
	testMust(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					key += "/" + l.GetValue()
				}
				if l.GetName() == "mailbox" && l.GetValue() != "ssp7" {
					t.Errorf("%s mailbox label = %q, want ssp7", mf.GetName(), l.GetValue())
				}
			}
			if m.GetCounter() != nil {
				got[key] = m.GetCounter().GetValue()
			} else {
				got[key] = m.GetGauge().GetValue()
			}
		}
	}
	want := map[string]float64{"sog_mail_connected": 1, "sog_mail_pending": 3, "sog_mail_processed_total": 7,
		"sog_mail_quarantined_total/no_tag": 2, "sog_mail_quarantined_total/bad_mime": 0}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("metric %s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
