package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-x, Windows-125x, … bodies to UTF-8
	gomail "github.com/emersion/go-message/mail"
)

// Mail is one parsed mail: what the mapping reads (Document) plus the
// attachment contents for the AttachmentStore.
type Mail struct {
	// MessageID is the Message-ID without angle brackets ("" when missing).
	MessageID string `json:"message_id"`
	// From is the sender's address; FromName its display name.
	From     string `json:"from"`
	FromName string `json:"from_name,omitempty"`
	// To lists the recipients' addresses (To and Cc).
	To []string `json:"to"`
	// Subject is the decoded subject with reply and forward prefixes stripped.
	Subject string `json:"subject"`
	// Date is the Date header in RFC 3339 ("" when missing or unreadable).
	Date string `json:"date,omitempty"`
	// InReplyTo and References are the message ids the mail answers.
	InReplyTo  string   `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
	// Text is the new part of the body: quoted replies, signatures and tag
	// lines removed; HTML-only mail converted to text.
	Text string `json:"text"`
	// Tags are the [[Key]]: value tags found in the new part of the body.
	Tags map[string]string `json:"tags"`
	// Correlation is the task reference found by MatchedBy.
	Correlation string `json:"correlation"`
	MatchedBy   string `json:"matched_by,omitempty"`
	// Attachments are the files of the mail, in order.
	Attachments []Attachment `json:"attachments"`
	// Warnings say what was left out, e.g. an inline image of a type not
	// allowed (a signature logo); the Intake adds them to the Inbound.
	Warnings []string `json:"warnings,omitempty"`
	// Key is the idempotency key: a SHA-256 digest over the Message-ID, From,
	// Date, Subject and the body as received, so the same mail redelivered
	// (other Received headers, a new UID, a new UIDVALIDITY) has the same key.
	Key string `json:"-"`
	// Size is the raw size in bytes.
	Size int `json:"-"`
}

// Attachment is one file of a mail. Content is for the store; the document
// carries the metadata only.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// StoredAt is set by the Intake once the AttachmentStore holds the content.
	StoredAt string `json:"stored_at,omitempty"`
	Content  []byte `json:"-"`
}

// Document returns the JSON document the partner mapping reads:
// {"message_id","from","from_name","to","subject","date","in_reply_to",
// "references","text","tags","correlation","matched_by","attachments":[{"name",
// "content_type","size","sha256","stored_at"}]}.
func (m *Mail) Document() ([]byte, error) {
	d := *m
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	if d.To == nil {
		d.To = []string{}
	}
	if d.Attachments == nil {
		d.Attachments = []Attachment{}
	}
	return json.Marshal(&d)
}

// Parse reads one RFC 5322 message within r's Limits into a Mail. A nil r
// means the default Rules. Errors wrap ErrTooLarge, ErrBadMIME,
// ErrTypeNotAllowed or ErrNoTag (no matcher found a task reference). Whenever
// the header could be read the returned *Mail is non-nil, with the header
// fields and Key set, even alongside an error, so the caller can log which
// mail it was.
func Parse(raw []byte, r *Rules) (*Mail, error) {
	c, err := r.compile()
	if err != nil {
		return nil, err
	}
	return c.parse(raw)
}

// parse reads raw; a panic in the MIME libraries becomes ErrBadMIME, so one
// hostile mail cannot take the gateway down (and again after each restart).
func (c *compiled) parse(raw []byte) (m *Mail, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: parser panic: %v", ErrBadMIME, r)
		}
	}()
	return c.parseRaw(raw)
}

func (c *compiled) parseRaw(raw []byte) (*Mail, error) {
	lim := c.limits
	if int64(len(raw)) > lim.MaxTotalBytes {
		return nil, fmt.Errorf("%w: message is %d bytes, limit %d", ErrTooLarge, len(raw), lim.MaxTotalBytes)
	}
	hdrEnd, bodyStart := headerEnd(raw)
	if hdrEnd > lim.MaxHeaderBytes {
		return nil, fmt.Errorf("%w: header is %d bytes, limit %d", ErrTooLarge, hdrEnd, lim.MaxHeaderBytes)
	}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: int64(lim.MaxHeaderBytes) + 1})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("%w: header: %v", ErrBadMIME, err)
	}
	if err := checkHeader(e.Header, lim, "message"); err != nil {
		return nil, err
	}
	m := &Mail{Size: len(raw), Tags: map[string]string{}}
	h := gomail.Header{Header: e.Header}
	m.MessageID = messageID(h)
	if addrs, err := h.AddressList("From"); err == nil && len(addrs) > 0 {
		m.From, m.FromName = strings.ToLower(addrs[0].Address), cleanText(addrs[0].Name, 256)
	} else {
		m.From = cleanText(h.Get("From"), 256)
	}
	for _, k := range []string{"To", "Cc"} {
		if addrs, err := h.AddressList(k); err == nil {
			for _, a := range addrs {
				m.To = append(m.To, strings.ToLower(a.Address))
			}
		}
	}
	rawSubject, err := h.Subject()
	if err != nil {
		rawSubject = h.Get("Subject")
	}
	rawSubject = cleanText(rawSubject, 1024)
	m.Subject = c.stripPrefixes(rawSubject)
	if t, err := h.Date(); err == nil && !t.IsZero() {
		m.Date = t.UTC().Format(time.RFC3339)
	}
	if ids, err := h.MsgIDList("In-Reply-To"); err == nil && len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	if ids, err := h.MsgIDList("References"); err == nil && len(ids) > 0 {
		if len(ids) > 100 {
			ids = ids[len(ids)-100:]
		}
		m.References = ids
	}
	m.Key = idempotencyKey(m.MessageID, h, raw[bodyStart:])

	w := &walker{lim: lim}
	if err := w.walk(e, 0); err != nil {
		return m, err
	}
	full := w.plain.String()
	if strings.TrimSpace(full) == "" && w.html.Len() > 0 {
		full = HTMLToText(w.html.String())
	}
	full = strings.ToValidUTF8(strings.ReplaceAll(full, "\r\n", "\n"), "\uFFFD")
	m.Attachments, m.Warnings = w.attachments, w.warnings
	m.Tags, m.Text = c.extractTags(NewPart(full))
	if why := autoReply(e.Header, m.From); why != "" && !c.autoOK {
		return m, fmt.Errorf("%w: %s", ErrAutoReply, why)
	}

	sources := func(src string) string {
		switch {
		case src == "subject":
			return m.Subject
		case src == "body":
			return full
		default:
			name := src[len("header:"):]
			return strings.Join(e.Header.Values(name), " ")
		}
	}
	for _, mt := range c.matchers {
		s := sources(mt.Source)
		if s == "" {
			continue
		}
		var ref string
		if mt.Last {
			all := mt.re.FindAllStringSubmatch(s, 1000)
			if len(all) > 0 {
				ref = all[len(all)-1][mt.group]
			}
		} else if sm := mt.re.FindStringSubmatch(s); sm != nil {
			ref = sm[mt.group]
		}
		if ref = strings.TrimSpace(ref); ref != "" {
			m.Correlation, m.MatchedBy = ref, mt.Name
			return m, nil
		}
	}
	return m, fmt.Errorf("%w: none of %d matchers found a task reference", ErrNoTag, len(c.matchers))
}

// autoReply says why a mail is an automatic reply or delivery report (RFC
// 3834 Auto-Submitted: auto-replied, the vacation headers of common servers,
// RFC 3462 multipart/report, mail from the mailer daemon), or "".
func autoReply(h message.Header, from string) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); strings.HasPrefix(v, "auto-replied") {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if v := strings.ToLower(strings.TrimSpace(h.Get(k))); v != "" && v != "no" && v != "false" {
			return k + ": " + v
		}
	}
	if v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v == "auto_reply" {
		return "Precedence: " + v
	}
	if t, _, _ := h.ContentType(); strings.EqualFold(t, "multipart/report") {
		return "delivery or read report (multipart/report)"
	}
	local, _, _ := strings.Cut(from, "@")
	if local == "mailer-daemon" || local == "postmaster" {
		return "from " + from
	}
	return ""
}

// headerEnd returns the length of the header block (without the blank line)
// and the offset where the body starts.
func headerEnd(raw []byte) (int, int) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 0, 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 0, 1
	}
	i := bytes.Index(raw, []byte("\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		return i + 1, i + 3
	case j >= 0:
		return j + 1, j + 2
	}
	return len(raw), len(raw)
}

func checkHeader(h message.Header, lim Limits, where string) error {
	n := 0
	f := h.Fields()
	for f.Next() {
		n += len(f.Key()) + len(f.Value()) + 4
		if n > lim.MaxHeaderBytes {
			return fmt.Errorf("%w: %s header is over %d bytes", ErrTooLarge, where, lim.MaxHeaderBytes)
		}
	}
	return nil
}

func messageID(h gomail.Header) string {
	if id, err := h.MessageID(); err == nil && id != "" {
		return cleanText(id, 998)
	}
	v := strings.TrimSpace(h.Get("Message-Id"))
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return cleanText(v, 998)
}

// idempotencyKey digests the fields that identify a mail across redeliveries.
// Transport headers (Received, Delivered-To, spam scores) are left out on
// purpose: a mail redelivered through another hop is the same mail.
func idempotencyKey(msgID string, h gomail.Header, body []byte) string {
	d := sha256.New()
	for _, v := range []string{msgID, h.Get("From"), h.Get("Date"), h.Get("Subject"), h.Get("Content-Type")} {
		io.WriteString(d, v)
		d.Write([]byte{0})
	}
	d.Write(body)
	return "mail:" + hex.EncodeToString(d.Sum(nil))
}

// cleanText makes a header value safe to log and store: valid UTF-8, no
// control characters, at most n bytes.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return truncateUTF8(strings.TrimSpace(s), n)
}

// walker walks the MIME tree within the limits and collects text and files.
type walker struct {
	lim         Limits
	parts       int
	textBytes   int64
	plain, html strings.Builder
	attachments []Attachment
	warnings    []string
}

func (w *walker) walk(e *message.Entity, depth int) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return fmt.Errorf("%w: more than %d MIME parts", ErrTooLarge, w.lim.MaxParts)
	}
	if depth > w.lim.MaxDepth {
		return fmt.Errorf("%w: MIME nesting deeper than %d", ErrTooLarge, w.lim.MaxDepth)
	}
	if depth > 0 {
		if err := checkHeader(e.Header, w.lim, fmt.Sprintf("part %d", w.parts)); err != nil {
			return err
		}
	}
	mediaType, params, ctErr := e.Header.ContentType()
	if ctErr != nil && e.Header.Get("Content-Type") != "" {
		// An unreadable Content-Type: RFC 2045 says treat it as text/plain.
		mediaType, params = "text/plain", map[string]string{}
	}
	if mediaType == "" {
		mediaType = "text/plain"
	}
	mediaType = strings.ToLower(mediaType)
	if strings.HasPrefix(mediaType, "multipart/") {
		if params["boundary"] == "" {
			return fmt.Errorf("%w: %s without boundary", ErrBadMIME, mediaType)
		}
		mr := e.MultipartReader()
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				return fmt.Errorf("%w: part %d: %v", ErrBadMIME, w.parts+1, err)
			}
			if err := w.walk(p, depth+1); err != nil {
				return err
			}
		}
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := partName(e.Header, dparams, params)
	isText := mediaType == "text/plain" || mediaType == "text/html"
	if isText && !strings.EqualFold(disp, "attachment") && name == "" {
		limit := w.lim.MaxTextBytes - w.textBytes
		b, err := readBounded(e.Body, limit)
		if err != nil {
			return err
		}
		if int64(len(b)) > limit {
			return fmt.Errorf("%w: text over %d bytes", ErrTooLarge, w.lim.MaxTextBytes)
		}
		w.textBytes += int64(len(b))
		dst := &w.plain
		if mediaType == "text/html" {
			dst = &w.html
		}
		if dst.Len() > 0 {
			dst.WriteByte('\n')
		}
		dst.Write(b)
		return nil
	}
	// Everything else is a file: attachments, inline images, forwarded messages.
	if len(w.attachments) >= w.lim.MaxAttachments {
		return fmt.Errorf("%w: more than %d attachments", ErrTooLarge, w.lim.MaxAttachments)
	}
	if !w.lim.typeAllowed(mediaType) {
		// An inline part (an image the HTML body shows, such as a signature
		// logo) is dropped with a warning; a real attachment quarantines the mail.
		if strings.EqualFold(disp, "inline") || (disp == "" && e.Header.Get("Content-Id") != "") {
			if len(w.warnings) < 20 {
				w.warnings = append(w.warnings, fmt.Sprintf("inline part %q (%s) left out: type not allowed", name, mediaType))
			}
			return nil
		}
		return fmt.Errorf("%w: %q (%s)", ErrTypeNotAllowed, mediaType, name)
	}
	b, err := readBounded(e.Body, w.lim.MaxAttachmentBytes)
	if err != nil {
		return err
	}
	if int64(len(b)) > w.lim.MaxAttachmentBytes {
		return fmt.Errorf("%w: attachment %q over %d bytes", ErrTooLarge, name, w.lim.MaxAttachmentBytes)
	}
	if name == "" {
		name = fmt.Sprintf("attachment-%d%s", len(w.attachments)+1, extensionFor(mediaType))
	}
	sum := sha256.Sum256(b)
	w.attachments = append(w.attachments, Attachment{
		Name: name, ContentType: mediaType, Size: int64(len(b)),
		SHA256: hex.EncodeToString(sum[:]), Content: b,
	})
	return nil
}

// readBounded reads at most limit+1 bytes of r, so the caller can tell "over".
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrBadMIME, err)
	}
	return b, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: message.CharsetReader}

// partName returns the sanitized file name of a part: the disposition's
// filename (RFC 2231 and RFC 2047 decoded), else the Content-Type name.
func partName(h message.Header, dparams, cparams map[string]string) string {
	name := dparams["filename"]
	if name == "" {
		name = cparams["name"]
	}
	if name == "" {
		return ""
	}
	if dec, err := wordDecoder.DecodeHeader(name); err == nil {
		name = dec
	}
	return sanitizeName(name)
}

// sanitizeName keeps the base name, drops control and path characters and
// caps it at 200 bytes, so it is safe in logs, JSON and file systems.
func sanitizeName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = filepath.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." || name == "/" {
		return ""
	}
	return truncateUTF8(name, 200)
}

func extensionFor(mediaType string) string {
	switch mediaType {
	case "message/rfc822":
		return ".eml"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	}
	if exts, _ := mime.ExtensionsByType(mediaType); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// Reason names the quarantine reason of err, for logs, counters and the
// keyword set on the quarantined mail: no_tag, too_large, bad_mime,
// type_not_allowed, auto_reply, sender_not_allowed, untranslatable,
// unknown_task, refused, conflict, invalid; "" when err is not a reason to
// quarantine (a transient error).
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoTag):
		return "no_tag"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrBadMIME):
		return "bad_mime"
	case errors.Is(err, ErrTypeNotAllowed):
		return "type_not_allowed"
	case errors.Is(err, ErrUntranslatable):
		return "untranslatable"
	case errors.Is(err, ErrAutoReply):
		return "auto_reply"
	case errors.Is(err, ErrSenderNotAllowed):
		return "sender_not_allowed"
	}
	return sinkReason(err)
}
