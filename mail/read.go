package mail

import (
	"fmt"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// RulesOf returns the Rules a mapping's mail section declares.
func RulesOf(spec *mappings.MailSpec) *Rules {
	r := &Rules{TagPattern: spec.Tags, Limits: Limits{MaxAttachments: spec.Limits.MaxAttachments,
		MaxAttachmentBytes: spec.Limits.MaxAttachmentBytes, MaxTotalBytes: spec.Limits.MaxTotalBytes, AllowedTypes: spec.Limits.AllowedTypes}}
	for _, m := range spec.Matchers {
		r.Matchers = append(r.Matchers, Matcher{Name: m.Name, Source: m.Source, Pattern: m.Pattern, Group: m.Group, Last: m.Pick == "last"})
	}
	return r
}

// reasonText says, for a mapping's author, why the intake quarantines a mail
// with each reason Parse can give.
var reasonText = map[string]string{
	"no_tag":           "no matcher of the mapping's mail section found a task reference",
	"too_large":        "the mail is over the mapping's mail limits (size, parts, depth, header, attachments)",
	"bad_mime":         "the mail cannot be read as RFC 5322 / MIME",
	"type_not_allowed": "an attachment's type is not in the mapping's limits.allowed_types",
	"auto_reply":       "the mail is an automatic reply or a delivery report",
}

// ReadInput is the mappings.Reader of raw mail: raw is parsed with the
// Rules m's mail section declares (Parse, RulesOf) and handed over as the
// Intake hands a mail to the inbound path: its Document, without the
// attachments' stored_at (nothing is stored). A mail the Intake would
// quarantine is a *mappings.ReadError naming the quarantine reason.
func ReadInput(m *mappings.Mapping, raw []byte) (mappings.Input, error) {
	spec := m.Spec().Mail
	if spec == nil {
		return mappings.Input{}, &mappings.ReadError{Reason: "no_mail", Msg: "the mapping declares no mail section", Err: ErrConfig}
	}
	c, err := RulesOf(spec).compile()
	if err != nil {
		return mappings.Input{}, &mappings.ReadError{Reason: "config", Msg: "the mapping's mail section is invalid", Err: err}
	}
	ml, err := c.parse(raw)
	if err == nil {
		var doc []byte
		if doc, err = ml.Document(); err == nil {
			return mappings.Input{Protocol: model.ProtocolEmail, Body: doc}, nil
		}
		err = fmt.Errorf("%w: document: %w", ErrBadMIME, err)
	}
	reason := Reason(err)
	msg, ok := reasonText[reason]
	if !ok {
		reason, msg = "bad_mime", reasonText["bad_mime"]
	}
	return mappings.Input{}, &mappings.ReadError{Reason: reason, Msg: "the mail intake quarantines this mail: " + msg, Err: err}
}

var _ mappings.Reader = ReadInput
