package mappings

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
)

// MailInput turns a raw RFC 5322 message into the Input the mail package
// would hand over (see docs/architecture.md): tags are read with the
// mapping's mail.tags syntax and the correlation reference with its
// matchers. It is a small reader for fixtures and the CLI (text/plain and
// multipart/mixed); the mail package is the one that serves partners.
func MailInput(m *Mapping, data []byte) (Input, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Input{}, fmt.Errorf("mappings: mail input: %w: %w", err, model.ErrInvalid)
	}
	dec := new(mime.WordDecoder)
	hdr := func(k string) string {
		v := msg.Header.Get(k)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	var text string
	var atts []map[string]any
	ct, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return Input{}, fmt.Errorf("mappings: mail input: %w: %w", err, model.ErrInvalid)
			}
			b, _ := io.ReadAll(io.LimitReader(p, 32<<20))
			pct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if p.FileName() == "" && (pct == "text/plain" || pct == "") && text == "" {
				text = string(b)
				continue
			}
			sum := sha256.Sum256(b)
			atts = append(atts, map[string]any{"name": p.FileName(), "content_type": pct, "size": len(b), "sha256": hex.EncodeToString(sum[:])})
		}
	} else {
		b, _ := io.ReadAll(io.LimitReader(msg.Body, 32<<20))
		text = string(b)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	doc := map[string]any{
		"message_id": strings.Trim(msg.Header.Get("Message-Id"), "<> "),
		"from":       hdr("From"),
		"to":         []string{},
		"subject":    hdr("Subject"),
		"text":       text,
	}
	// The same shape as the mail package's Document: addresses without
	// display names, the date in RFC 3339, the reply headers.
	if a, err := mail.ParseAddress(hdr("From")); err == nil {
		doc["from"] = a.Address
		if a.Name != "" {
			doc["from_name"] = a.Name
		}
	}
	if l, err := mail.ParseAddressList(hdr("To")); err == nil {
		to := make([]string, len(l))
		for i, a := range l {
			to[i] = a.Address
		}
		doc["to"] = to
	}
	if d, err := msg.Header.Date(); err == nil {
		doc["date"] = d.UTC().Format(time.RFC3339)
	}
	if v := strings.Trim(msg.Header.Get("In-Reply-To"), "<> "); v != "" {
		doc["in_reply_to"] = v
	}
	if refs := strings.Fields(msg.Header.Get("References")); len(refs) > 0 {
		for i, r := range refs {
			refs[i] = strings.Trim(r, "<>")
		}
		doc["references"] = refs
	}
	tags := map[string]string{}
	if m != nil && m.spec.Mail != nil {
		ms := m.spec.Mail
		if ms.Tags != "" {
			re := regexp.MustCompile(ms.Tags)
			ki, vi := re.SubexpIndex("key"), re.SubexpIndex("value")
			for _, line := range strings.Split(text, "\n") {
				if sm := re.FindStringSubmatch(strings.TrimSpace(line)); sm != nil {
					tags[sm[ki]] = strings.TrimSpace(sm[vi])
				}
			}
		}
		for _, mt := range ms.Matchers {
			var src string
			switch {
			case mt.Source == "subject":
				src = hdr("Subject")
			case mt.Source == "body":
				src = text
			case strings.HasPrefix(mt.Source, "header:"):
				src = msg.Header.Get(strings.TrimPrefix(mt.Source, "header:"))
			}
			re := regexp.MustCompile(mt.Pattern)
			all := re.FindAllStringSubmatch(src, -1)
			if len(all) == 0 {
				continue
			}
			pick := all[0]
			if mt.Pick == "last" {
				pick = all[len(all)-1]
			}
			doc["correlation"] = pick[re.SubexpIndex(mt.Group)]
			doc["matched_by"] = mt.Name
			break
		}
	}
	doc["tags"] = tags
	if atts != nil {
		doc["attachments"] = atts
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return Input{}, err
	}
	return Input{Protocol: model.ProtocolEmail, Body: body}, nil
}
