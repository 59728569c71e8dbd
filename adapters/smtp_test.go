package adapters

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

type mapStore map[string][]byte

func (m mapStore) Open(_ context.Context, a model.Attachment) (io.ReadCloser, error) {
	b, ok := m[a.StoredAt]
	if !ok {
		return nil, fmt.Errorf("test store: %s: %w", a.StoredAt, model.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func smtpVendor(addr string) *configs.VendorConfig {
	return &configs.VendorConfig{Transport: "smtp", Email: &configs.EmailConfig{To: "Dispatch <orders@acme.example>",
		From: "gateway@equus.example", SMTPAddr: addr}}
}

func TestSMTPDeliverMultipartWithAttachments(t *testing.T) {
	srv := testutil.StartSMTPSink(t)
	pdf := bytes.Repeat([]byte("%PDF-1.4 binary\x00\x01\x02"), 50)
	env := envOf(nil)
	env.Attachments = mapStore{"o1/survey.pdf": pdf}
	a, err := NewRegistry().Build("smtp", "acme", smtpVendor(srv.Addr()), env)
	if err != nil {
		t.Fatal(err)
	}
	m := msg("Please move the household at 1 Main St.\nThanks — Équipe")
	m.ContentType = "text/plain; charset=utf-8"
	m.Subject = "Service order o1\r\nBcc: evil@example.com"
	m.Order.Attachments = []model.Attachment{
		{Name: "survey.pdf", ContentType: "application/pdf", StoredAt: "o1/survey.pdf"},
		{Name: "photo.jpg", URL: "https://files.example/photo.jpg"},
	}
	if _, err := a.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver() = %v", err)
	}
	if len(srv.Mails()) != 1 {
		t.Fatalf("server got %d messages, want 1", len(srv.Mails()))
	}
	got := srv.Mails()[0]
	if !strings.HasPrefix(got.From, "<gateway@equus.example>") || got.To != "<orders@acme.example>" {
		t.Errorf("envelope = %s -> %s", got.From, got.To)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if pm.Header.Get("Bcc") != "" {
		t.Errorf("subject injected a Bcc header")
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(pm.Header.Get("Subject"))
	if subj != "Service order o1  Bcc: evil@example.com" {
		t.Errorf("Subject = %q", subj)
	}
	if pm.Header.Get("Message-Id") != "<dlv_123@sogateway>" || pm.Header.Get("X-Delivery-Id") != "dlv_123" {
		t.Errorf("Message-ID = %q, X-Delivery-Id = %q", pm.Header.Get("Message-Id"), pm.Header.Get("X-Delivery-Id"))
	}
	mt, params, _ := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %s, want multipart/mixed", mt)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	p1, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(p1) // quoted-printable is decoded by the reader
	if !strings.Contains(string(text), "Thanks — Équipe") || !strings.Contains(string(text), "photo.jpg: https://files.example/photo.jpg") {
		t.Errorf("text part = %q", text)
	}
	p2, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if p2.FileName() != "survey.pdf" || !strings.HasPrefix(p2.Header.Get("Content-Type"), "application/pdf") {
		t.Errorf("attachment part: filename %q type %q", p2.FileName(), p2.Header.Get("Content-Type"))
	}
	raw, _ := io.ReadAll(p2)
	dst := make([]byte, len(raw))
	n, err := decodeBase64Lines(raw, dst)
	if err != nil || !bytes.Equal(dst[:n], pdf) {
		t.Errorf("attachment content differs (err %v, %d bytes, want %d)", err, n, len(pdf))
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("extra part: %v", err)
	}
}

func TestSMTPClassifiesReplies(t *testing.T) {
	srv := testutil.StartSMTPSink(t)
	a, _ := NewSMTP("acme", smtpVendor(srv.Addr()), envOf(nil))
	srv.SetRcptReply("450 mailbox busy")
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "450") {
		t.Errorf("Deliver(450) = %v, want transient", err)
	}
	srv.SetRcptReply("550 no such user")
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("Deliver(550) = %v, want permanent", err)
	}
	srv.Close()
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrTransient) {
		t.Errorf("Deliver(down) = %v, want transient", err)
	}
}

func TestSMTPMissingAttachmentIsPermanent(t *testing.T) {
	srv := testutil.StartSMTPSink(t)
	env := envOf(nil)
	env.Attachments = mapStore{}
	a, _ := NewSMTP("acme", smtpVendor(srv.Addr()), env)
	m := msg("x")
	m.Order.Attachments = []model.Attachment{{Name: "gone.pdf", StoredAt: "o1/gone.pdf"}}
	_, err := a.Deliver(context.Background(), m)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, model.ErrNotFound) || !strings.Contains(err.Error(), "gone.pdf") {
		t.Errorf("Deliver() = %v, want permanent naming gone.pdf", err)
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("a message was sent without its attachment")
	}
}

func decodeBase64Lines(raw, dst []byte) (int, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, raw)
	return base64Std.Decode(dst, clean)
}

var base64Std = base64.StdEncoding

func TestSMTPLongSubjectStaysWithinLineLimit(t *testing.T) {
	a, _ := NewSMTP("acme", smtpVendor("127.0.0.1:25"), envOf(nil))
	m := msg("x")
	m.Subject = strings.Repeat("Déménagement ", 200)
	raw, err := a.(*SMTP).Compose(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d characters: %.60s…", len(line), line)
		}
	}
}

func TestSMTPKeepsTheMappingsMessageID(t *testing.T) {
	tests := []struct{ declared, want string }{
		{"<task-T-200.dlv_123@ssp7.gateway>", "<task-T-200.dlv_123@ssp7.gateway>"},
		{"<no-at-sign>", "<dlv_123@sogateway>"},
		{"<a@b>\r\nBcc: evil@example.com", "<dlv_123@sogateway>"},
		{"", "<dlv_123@sogateway>"},
	}
	for _, tt := range tests {
		m := msg("text")
		if tt.declared != "" {
			m.Headers = map[string]string{"Message-ID": tt.declared}
		}
		if got := messageID(m); got != tt.want {
			t.Errorf("messageID(declared %q) = %q, want %q", tt.declared, got, tt.want)
		}
	}
	srv := testutil.StartSMTPSink(t)
	a, _ := NewSMTP("acme", smtpVendor(srv.Addr()), envOf(nil))
	m := msg("text")
	m.Headers = map[string]string{"Message-ID": "<task-T-200.dlv_123@ssp7.gateway>"}
	if _, err := a.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(srv.Mails()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.Header.Get("Message-Id"); got != "<task-T-200.dlv_123@ssp7.gateway>" {
		t.Errorf("sent Message-ID = %q, want the mapping's", got)
	}
}
