package adapters

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
)

// SMTP mails a rendered message (multipart/mixed: the rendered text and the
// order's attachments) to the vendor's address.
type SMTP struct {
	vendor   string
	cfg      configs.EmailConfig
	timeout  time.Duration
	user     configs.Secret
	password configs.Secret
	store    AttachmentStore
	now      func() time.Time
	// TLSConfig is used for tls and starttls; nil means the system roots and
	// the relay's host name.
	TLSConfig *tls.Config
}

var _ Adapter = (*SMTP)(nil)

// NewSMTP builds the SMTP transport from a vendor's email config.
func NewSMTP(vendor string, cfg *configs.VendorConfig, env *Env) (Adapter, error) {
	c := *cfg
	c.SetDefaults()
	if c.Email == nil {
		return nil, fmt.Errorf("smtp: vendor %s has no email section: %w", vendor, ErrPermanent)
	}
	s := &SMTP{vendor: vendor, cfg: *c.Email, timeout: c.Timeout, now: env.now}
	if env != nil {
		s.store = env.Attachments
	}
	var err error
	if c.Email.UserEnv != "" {
		if s.user, err = env.lookup(c.Email.UserEnv); err != nil {
			return nil, err
		}
		if s.password, err = env.lookup(c.Email.PasswordEnv); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Transport returns "smtp".
func (s *SMTP) Transport() string { return configs.TransportSMTP }

// Deliver mails m. SMTP 4xx replies and network failures are ErrTransient; 5xx
// replies, a missing attachment or attachments over the size cap are ErrPermanent.
func (s *SMTP) Deliver(ctx context.Context, m *Message) (*Result, error) {
	raw, err := s.Compose(ctx, m)
	if err != nil {
		return nil, err
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	if err := s.send(ctx, raw); err != nil {
		return nil, err
	}
	return &Result{Response: "250 accepted for " + s.cfg.To}, nil
}

func (s *SMTP) send(ctx context.Context, raw []byte) error {
	host, _, err := net.SplitHostPort(s.cfg.SMTPAddr)
	if err != nil {
		return permanent(0, "bad smtp_addr", err)
	}
	tlsCfg := s.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.SMTPAddr)
	if err != nil {
		return transient(0, "connection failed", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.cfg.TLS == "tls" {
		conn = tls.Client(conn, tlsCfg)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return classifySMTP("greeting", err)
	}
	defer c.Close()
	if err := c.Hello("sogateway"); err != nil {
		return classifySMTP("EHLO", err)
	}
	if s.cfg.TLS != "tls" && s.cfg.TLS != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return classifySMTP("STARTTLS", err)
			}
		} else if s.cfg.TLS == "starttls" {
			return permanent(0, "the relay does not offer STARTTLS and email.tls is starttls", nil)
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user.Reveal(), s.password.Reveal(), host)); err != nil {
			return classifySMTP("AUTH", err)
		}
	}
	from, _ := mail.ParseAddress(s.cfg.From)
	to, _ := mail.ParseAddress(s.cfg.To)
	if from == nil || to == nil {
		return permanent(0, "bad email.from or email.to", nil)
	}
	if err := c.Mail(from.Address); err != nil {
		return classifySMTP("MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return classifySMTP("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classifySMTP("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		return classifySMTP("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classifySMTP("end of DATA", err)
	}
	_ = c.Quit()
	return nil
}

func classifySMTP(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 500 {
			return &DeliveryError{Kind: ErrPermanent, StatusCode: te.Code, Detail: step + ": " + te.Msg}
		}
		return &DeliveryError{Kind: ErrTransient, StatusCode: te.Code, Detail: step + ": " + te.Msg}
	}
	return transient(0, step, err)
}

// msgIDRe is an RFC 5322 msg-id as a mapping may declare it: <left@right>
// with no spaces, brackets or control characters inside.
var msgIDRe = regexp.MustCompile(`^<[^<>@\s"]{1,200}@[^<>@\s"]{1,200}>$`)

// messageID is the mapping's declared Message-ID (its render's Message-ID
// header, which lets the partner's reply find its order again), or one made
// from the delivery id. The same delivery keeps the same id on every attempt.
func messageID(m *Message) string {
	for k, v := range m.Headers {
		if strings.EqualFold(k, "Message-ID") {
			if v = strings.TrimSpace(v); msgIDRe.MatchString(v) {
				return v
			}
		}
	}
	return "<" + clean(m.DeliveryID) + "@sogateway>"
}

// Compose builds the RFC 5322 message: headers, the rendered text and one part
// per stored attachment of the order. Attachments known only by URL are listed
// at the end of the text.
func (s *SMTP) Compose(ctx context.Context, m *Message) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	subject := m.Subject
	if subject == "" && m.Order != nil {
		subject = "Service order " + m.Order.ID
	}
	hdr := []struct{ k, v string }{
		{"From", s.cfg.From},
		{"To", s.cfg.To},
		{"Subject", mime.QEncoding.Encode("utf-8", truncateRunes(clean(subject), maxSubject))},
		{"Date", s.now().UTC().Format(time.RFC1123Z)},
		{"Message-ID", messageID(m)},
		{"X-Delivery-Id", clean(m.DeliveryID)},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/mixed; boundary="` + mw.Boundary() + `"`},
	}
	for k, v := range m.Headers {
		if strings.HasPrefix(strings.ToLower(k), "x-") {
			hdr = append(hdr, struct{ k, v string }{textproto.CanonicalMIMEHeaderKey(clean(k)), clean(v)})
		}
	}
	var head bytes.Buffer
	for _, h := range hdr {
		head.WriteString(h.k + ": " + h.v + "\r\n")
	}
	head.WriteString("\r\n")

	ct := m.ContentType
	if ct == "" || !strings.HasPrefix(ct, "text/") {
		ct = "text/plain; charset=utf-8"
	}
	text := m.Body
	var links []string
	var stored []model.Attachment
	if m.Order != nil {
		for _, a := range m.Order.Attachments {
			if a.StoredAt != "" && s.store != nil {
				stored = append(stored, a)
			} else if a.URL != "" {
				links = append(links, a.Name+": "+a.URL)
			}
		}
	}
	if len(links) > 0 {
		text = append(append(append([]byte(nil), text...), "\r\n\r\nAttachments:\r\n"...), strings.Join(links, "\r\n")...)
	}
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}, "Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return nil, permanent(0, "compose", err)
	}
	qw := quotedprintable.NewWriter(pw)
	_, _ = qw.Write(text)
	_ = qw.Close()

	var total int64
	for _, a := range stored {
		r, err := s.store.Open(ctx, a)
		if err != nil {
			return nil, permanent(0, "attachment "+a.Name+" could not be read", err)
		}
		limit := s.cfg.MaxAttachmentBytes
		if limit <= 0 {
			limit = 20 << 20
		}
		content, err := io.ReadAll(io.LimitReader(r, limit-total+1))
		r.Close()
		if err != nil {
			return nil, transient(0, "attachment "+a.Name+" could not be read", err)
		}
		total += int64(len(content))
		if total > limit {
			return nil, permanent(0, fmt.Sprintf("attachments exceed email.max_attachment_bytes (%d)", limit), nil)
		}
		act := a.ContentType
		if _, _, err := mime.ParseMediaType(act); act == "" || err != nil {
			act = "application/octet-stream"
		}
		name := mime.QEncoding.Encode("utf-8", clean(a.Name))
		aw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(act, map[string]string{"name": name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": clean(a.Name)})},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, permanent(0, "compose", err)
		}
		enc := base64.StdEncoding.EncodeToString(content)
		for len(enc) > 76 {
			_, _ = aw.Write([]byte(enc[:76] + "\r\n"))
			enc = enc[76:]
		}
		_, _ = aw.Write([]byte(enc + "\r\n"))
	}
	if err := mw.Close(); err != nil {
		return nil, permanent(0, "compose", err)
	}
	return append(head.Bytes(), buf.Bytes()...), nil
}

// clean removes CR and LF so a value cannot inject headers.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// maxSubject caps the subject (in runes) so its encoded header line stays
// within RFC 5322's 998 characters.
const maxSubject = 150

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
