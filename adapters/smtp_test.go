package adapters

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
)

// fakeSMTP is a minimal in-process SMTP server: it records each message and
// answers RCPT with rcptReply (default 250).
type fakeSMTP struct {
	ln        net.Listener
	mu        sync.Mutex
	msgs      []fakeMail
	rcptReply string
}

type fakeMail struct {
	from, to string
	data     []byte
}

func startSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 fake ESMTP")
	var cur fakeMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-fake")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = fakeMail{from: strings.TrimSpace(line[10:])}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			s.mu.Lock()
			rep := s.rcptReply
			s.mu.Unlock()
			if rep == "" {
				rep = "250 ok"
			}
			cur.to = strings.TrimSpace(line[8:])
			say(rep)
		case cmd == "DATA":
			say("354 go ahead")
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = data.Bytes()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

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
	srv := startSMTP(t)
	pdf := bytes.Repeat([]byte("%PDF-1.4 binary\x00\x01\x02"), 50)
	env := envOf(nil)
	env.Attachments = mapStore{"o1/survey.pdf": pdf}
	a, err := NewRegistry().Build("smtp", "acme", smtpVendor(srv.ln.Addr().String()), env)
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
	if len(srv.msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(srv.msgs))
	}
	got := srv.msgs[0]
	if !strings.HasPrefix(got.from, "<gateway@equus.example>") || got.to != "<orders@acme.example>" {
		t.Errorf("envelope = %s -> %s", got.from, got.to)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(got.data))
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
	srv := startSMTP(t)
	a, _ := NewSMTP("acme", smtpVendor(srv.ln.Addr().String()), envOf(nil))
	srv.rcptReply = "450 mailbox busy"
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "450") {
		t.Errorf("Deliver(450) = %v, want transient", err)
	}
	srv.rcptReply = "550 no such user"
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("Deliver(550) = %v, want permanent", err)
	}
	srv.ln.Close()
	if _, err := a.Deliver(context.Background(), msg("x")); !errors.Is(err, ErrTransient) {
		t.Errorf("Deliver(down) = %v, want transient", err)
	}
}

func TestSMTPMissingAttachmentIsPermanent(t *testing.T) {
	srv := startSMTP(t)
	env := envOf(nil)
	env.Attachments = mapStore{}
	a, _ := NewSMTP("acme", smtpVendor(srv.ln.Addr().String()), env)
	m := msg("x")
	m.Order.Attachments = []model.Attachment{{Name: "gone.pdf", StoredAt: "o1/gone.pdf"}}
	_, err := a.Deliver(context.Background(), m)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, model.ErrNotFound) || !strings.Contains(err.Error(), "gone.pdf") {
		t.Errorf("Deliver() = %v, want permanent naming gone.pdf", err)
	}
	if len(srv.msgs) != 0 {
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
	srv := startSMTP(t)
	a, _ := NewSMTP("acme", smtpVendor(srv.ln.Addr().String()), envOf(nil))
	m := msg("text")
	m.Headers = map[string]string{"Message-ID": "<task-T-200.dlv_123@ssp7.gateway>"}
	if _, err := a.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(srv.msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.Header.Get("Message-Id"); got != "<task-T-200.dlv_123@ssp7.gateway>" {
		t.Errorf("sent Message-ID = %q, want the mapping's", got)
	}
}
