package mail

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Rules says how a mail is tied to a task and what it may carry. They are
// declared by the partner's mapping. A nil *Rules, and every zero field, means
// the default given in the field's comment, so the zero value works.
type Rules struct {
	// Matchers are tried in order; the first that finds a reference wins.
	// Default: DefaultMatchers (ssp7: [Task#<ref>] in the subject, then a
	// [[TaskId]]: <ref> line in the body).
	Matchers []Matcher `json:"matchers,omitempty" yaml:"matchers,omitempty"`
	// TagPattern finds key/value tags in the new part of the body: groups named
	// "key" and "value", else the first two groups. It is applied line by line
	// ((?m) is implied). Default DefaultTagPattern.
	TagPattern string `json:"tag_pattern,omitempty" yaml:"tag_pattern,omitempty"`
	// ReplyPrefixes are stripped (case-insensitively, repeatedly, with an
	// optional [n] counter) from the start of the subject before matching.
	// Default DefaultReplyPrefixes.
	ReplyPrefixes []string `json:"reply_prefixes,omitempty" yaml:"reply_prefixes,omitempty"`
	// Limits bound what one mail may hold.
	Limits Limits `json:"limits,omitempty" yaml:"limits,omitempty"`
	// AcceptAutoReplies applies automatic replies and delivery reports
	// (Auto-Submitted: auto-replied, X-Autoreply, multipart/report, mail from
	// MAILER-DAEMON) like any mail. Default false: they are quarantined as
	// auto_reply, so an out-of-office answer never becomes a task update.
	// Auto-Submitted: auto-generated (ticket-system notifications) is always accepted.
	AcceptAutoReplies bool `json:"accept_auto_replies,omitempty" yaml:"accept_auto_replies,omitempty"`
}

// Matcher finds a task reference in one source of the mail.
type Matcher struct {
	// Name identifies the matcher in logs and in the document ("matched_by").
	Name string `json:"name" yaml:"name"`
	// Source is "subject", "body" or "header:<Name>" (e.g. header:In-Reply-To,
	// header:References). The subject is matched with reply prefixes stripped;
	// the body is the whole text including quoted replies.
	Source string `json:"source" yaml:"source"`
	// Pattern is a Go regular expression with a named group holding the reference.
	Pattern string `json:"pattern" yaml:"pattern"`
	// Group is the name of the group in Pattern. Default "ref".
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
	// Last takes the last match in the source instead of the first.
	Last bool `json:"last,omitempty" yaml:"last,omitempty"`
}

// Limits bound the size and shape of one mail. A zero field means its default.
type Limits struct {
	// MaxTotalBytes bounds the raw message. Default 25 MiB.
	MaxTotalBytes int64 `json:"max_total_bytes,omitempty" yaml:"max_total_bytes,omitempty"`
	// MaxHeaderBytes bounds each header block (the message's and each part's). Default 64 KiB.
	MaxHeaderBytes int `json:"max_header_bytes,omitempty" yaml:"max_header_bytes,omitempty"`
	// MaxParts bounds the number of MIME entities, the message itself included. Default 100.
	MaxParts int `json:"max_parts,omitempty" yaml:"max_parts,omitempty"`
	// MaxDepth bounds multipart nesting; the message itself is depth 0. Default 8.
	MaxDepth int `json:"max_depth,omitempty" yaml:"max_depth,omitempty"`
	// MaxAttachments bounds the number of attachments. Default 20.
	MaxAttachments int `json:"max_attachments,omitempty" yaml:"max_attachments,omitempty"`
	// MaxAttachmentBytes bounds each decoded attachment. Default 10 MiB.
	MaxAttachmentBytes int64 `json:"max_attachment_bytes,omitempty" yaml:"max_attachment_bytes,omitempty"`
	// MaxTextBytes bounds the decoded text (plain or HTML) of the mail. Default 1 MiB.
	MaxTextBytes int64 `json:"max_text_bytes,omitempty" yaml:"max_text_bytes,omitempty"`
	// AllowedTypes lists the attachment media types accepted, each exact
	// ("application/pdf") or a wildcard ("image/*"). Default: any type.
	AllowedTypes []string `json:"allowed_types,omitempty" yaml:"allowed_types,omitempty"`
}

// DefaultTagPattern matches lines such as "[[ExternalReference]]: INC0012345".
const DefaultTagPattern = `(?m)^[ \t]*\[\[(\w+)\]\]:[ \t]*(.*?)[ \t\r]*$`

// DefaultReplyPrefixes are the reply and forward prefixes of the common mail
// clients in English, German, the Nordic languages, Dutch, French and Spanish.
var DefaultReplyPrefixes = []string{"Re", "Fwd", "Fw", "AW", "WG", "SV", "VS", "Antw", "Doorst", "TR", "RV", "Réf", "Ynt", "Odp"}

// DefaultMatchers are the ssp7 conventions: "[Task#<ref>]" in the subject,
// then a "[[TaskId]]: <ref>" line in the body.
var DefaultMatchers = []Matcher{
	{Name: "subject-task", Source: "subject", Pattern: `\[Task#(?P<ref>[A-Za-z0-9][A-Za-z0-9._:/-]{0,127})\]`},
	{Name: "body-taskid", Source: "body", Pattern: `(?m)^[ \t]*\[\[TaskId\]\]:[ \t]*(?P<ref>[A-Za-z0-9][A-Za-z0-9._:/-]{0,127})[ \t\r]*$`},
}

func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 25 << 20
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 100
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 8
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 20
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 10 << 20
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = 1 << 20
	}
	return l
}

// typeAllowed reports whether media type t is in the allowed list (any when empty).
func (l Limits) typeAllowed(t string) bool {
	if len(l.AllowedTypes) == 0 {
		return true
	}
	t = strings.ToLower(t)
	for _, a := range l.AllowedTypes {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == t || a == "*/*" || a == "*" {
			return true
		}
		if ok, _ := path.Match(a, t); ok && strings.HasSuffix(a, "/*") {
			return true
		}
	}
	return false
}

// compiled is the checked, compiled form of Rules.
type compiled struct {
	matchers []compiledMatcher
	tags     *regexp.Regexp
	tagKey   int // group index of the key in tags
	tagValue int // group index of the value in tags
	autoOK   bool
	prefixes *regexp.Regexp
	limits   Limits
}

type compiledMatcher struct {
	Matcher
	re    *regexp.Regexp
	group int
}

var compileCache sync.Map // string (rules fingerprint) -> *compiled

// Validate checks the rules and reports the first problem, naming the dotted
// key and the value received. It wraps ErrConfig.
func (r *Rules) Validate() error {
	_, err := r.compile()
	return err
}

func (r *Rules) compile() (*compiled, error) {
	if r == nil {
		r = &Rules{}
	}
	key := fmt.Sprintf("%#v|%q|%q", r.Matchers, r.TagPattern, r.ReplyPrefixes)
	var c *compiled
	if v, ok := compileCache.Load(key); ok {
		c = v.(*compiled)
	} else {
		var err error
		if c, err = r.build(); err != nil {
			return nil, err
		}
		compileCache.Store(key, c)
	}
	// Limits are cheap: copy so each call sees the caller's current values.
	cc := *c
	cc.limits = r.Limits.withDefaults()
	cc.autoOK = r.AcceptAutoReplies
	if err := cc.limits.check(); err != nil {
		return nil, err
	}
	return &cc, nil
}

func (l Limits) check() error {
	for i, t := range l.AllowedTypes {
		t = strings.TrimSpace(t)
		if t == "*" {
			continue
		}
		if strings.Count(t, "/") != 1 || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") {
			return fmt.Errorf("%w: limits.allowed_types[%d]: must be type/subtype or type/*, got %q", ErrConfig, i, t)
		}
	}
	return nil
}

func (r *Rules) build() (*compiled, error) {
	c := &compiled{}
	ms := r.Matchers
	if len(ms) == 0 {
		ms = DefaultMatchers
	}
	for i, m := range ms {
		if m.Group == "" {
			m.Group = "ref"
		}
		switch {
		case m.Source == "subject", m.Source == "body":
		case strings.HasPrefix(strings.ToLower(m.Source), "header:") && len(m.Source) > len("header:"):
		default:
			return nil, fmt.Errorf("%w: matchers[%d].source: must be subject, body or header:<Name>, got %q", ErrConfig, i, m.Source)
		}
		re, err := regexp.Compile(m.Pattern)
		if err != nil {
			return nil, fmt.Errorf("%w: matchers[%d].pattern: %v", ErrConfig, i, err)
		}
		g := re.SubexpIndex(m.Group)
		if g < 0 {
			return nil, fmt.Errorf("%w: matchers[%d].pattern: has no group named %q, got %q", ErrConfig, i, m.Group, m.Pattern)
		}
		if m.Name == "" {
			m.Name = fmt.Sprintf("matcher%d", i)
		}
		c.matchers = append(c.matchers, compiledMatcher{Matcher: m, re: re, group: g})
	}
	tp := r.TagPattern
	if tp == "" {
		tp = DefaultTagPattern
	}
	if !strings.HasPrefix(tp, "(?m)") {
		tp = "(?m)" + tp
	}
	re, err := regexp.Compile(tp)
	if err != nil {
		return nil, fmt.Errorf("%w: tag_pattern: %v", ErrConfig, err)
	}
	c.tags, c.tagKey, c.tagValue = re, re.SubexpIndex("key"), re.SubexpIndex("value")
	if c.tagKey < 0 || c.tagValue < 0 {
		if re.NumSubexp() < 2 {
			return nil, fmt.Errorf("%w: tag_pattern: needs groups key and value (or two groups), got %q", ErrConfig, r.TagPattern)
		}
		c.tagKey, c.tagValue = 1, 2
	}
	prefixes := r.ReplyPrefixes
	if len(prefixes) == 0 {
		prefixes = DefaultReplyPrefixes
	}
	quoted := make([]string, 0, len(prefixes))
	for i, p := range prefixes {
		p = strings.TrimSuffix(strings.TrimSpace(p), ":")
		if p == "" {
			return nil, fmt.Errorf("%w: reply_prefixes[%d]: must not be empty", ErrConfig, i)
		}
		quoted = append(quoted, regexp.QuoteMeta(p))
	}
	c.prefixes = regexp.MustCompile(`(?i)^\s*(?:(?:` + strings.Join(quoted, "|") + `)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+`)
	return c, nil
}

// StripReplyPrefixes removes leading reply and forward prefixes ("Re: AW: Fwd:")
// from subject using r's ReplyPrefixes.
func (r *Rules) StripReplyPrefixes(subject string) string {
	c, err := r.compile()
	if err != nil {
		return strings.TrimSpace(subject)
	}
	return c.stripPrefixes(subject)
}

func (c *compiled) stripPrefixes(s string) string {
	return strings.TrimSpace(c.prefixes.ReplaceAllString(s, ""))
}
