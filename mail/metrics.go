package mail

import "github.com/prometheus/client_golang/prometheus"

var (
	connectedDesc   = prometheus.NewDesc("sog_mail_connected", "1 while the mailbox's IMAP connection is up.", []string{"mailbox"}, nil)
	pendingDesc     = prometheus.NewDesc("sog_mail_pending", "Mails in the inbox at the last check.", []string{"mailbox"}, nil)
	processedDesc   = prometheus.NewDesc("sog_mail_processed_total", "Mails committed and moved to Processed.", []string{"mailbox"}, nil)
	duplicatesDesc  = prometheus.NewDesc("sog_mail_duplicates_total", "Processed mails the Sink had already applied (redelivery, crash before the move).", []string{"mailbox"}, nil)
	quarantinedDesc = prometheus.NewDesc("sog_mail_quarantined_total", "Mails moved to Quarantine, by reason.", []string{"mailbox", "reason"}, nil)
	retriesDesc     = prometheus.NewDesc("sog_mail_retries_total", "Transient failures that left a mail in the inbox for a later attempt.", []string{"mailbox"}, nil)
	reconnectsDesc  = prometheus.NewDesc("sog_mail_reconnects_total", "Lost IMAP connections.", []string{"mailbox"}, nil)
	uidvalDesc      = prometheus.NewDesc("sog_mail_uidvalidity_changes_total", "UIDVALIDITY changes seen on the inbox.", []string{"mailbox"}, nil)
)

// Collector exports each intake's Status as Prometheus metrics (sog_mail_*,
// labelled by mailbox name). Register it on the /metrics registry.
func Collector(intakes ...*Intake) prometheus.Collector { return collector(intakes) }

type collector []*Intake

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectedDesc, pendingDesc, processedDesc, duplicatesDesc, quarantinedDesc, retriesDesc, reconnectsDesc, uidvalDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, in := range c {
		st := in.Status()
		name := st.Name
		connected := 0.0
		if st.Connected {
			connected = 1
		}
		ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, connected, name)
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending), name)
		ch <- prometheus.MustNewConstMetric(processedDesc, prometheus.CounterValue, float64(st.Processed), name)
		ch <- prometheus.MustNewConstMetric(duplicatesDesc, prometheus.CounterValue, float64(st.Duplicates), name)
		for _, reason := range Reasons {
			ch <- prometheus.MustNewConstMetric(quarantinedDesc, prometheus.CounterValue, float64(st.QuarantinedBy[reason]), name, reason)
		}
		ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(st.Retries), name)
		ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(st.Reconnects), name)
		ch <- prometheus.MustNewConstMetric(uidvalDesc, prometheus.CounterValue, float64(st.UIDValidityChanges), name)
	}
}

// Reasons lists every quarantine reason Reason returns, plus "other".
var Reasons = []string{"no_tag", "too_large", "bad_mime", "type_not_allowed", "auto_reply", "sender_not_allowed", "untranslatable", "unknown_task", "refused", "conflict", "invalid", "other"}
