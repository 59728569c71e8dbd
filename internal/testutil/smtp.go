package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// SMTPSink is a local SMTP receiver for tests: it accepts every message
// (EHLO, MAIL, RCPT, DATA; no TLS, no AUTH) and keeps it with its envelope.
// RCPT is answered with the reply SetRcptReply sets (default "250 ok").
type SMTPSink struct {
	ln        net.Listener
	mu        sync.Mutex
	mails     []SMTPMail
	rcptReply string
}

// SMTPMail is one message a SMTPSink received: the envelope's MAIL FROM and
// RCPT TO arguments (as sent, e.g. "<a@b.example>") and the data.
type SMTPMail struct {
	From, To string
	Data     []byte
}

// StartSMTPSink listens on a free loopback port until the test ends.
func StartSMTPSink(t testing.TB) *SMTPSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPSink{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
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

// Addr is host:port of the sink.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections (a server that is down).
func (s *SMTPSink) Close() { _ = s.ln.Close() }

// SetRcptReply sets the reply to RCPT TO, e.g. "450 mailbox busy"; "" means
// "250 ok".
func (s *SMTPSink) SetRcptReply(reply string) {
	s.mu.Lock()
	s.rcptReply = reply
	s.mu.Unlock()
}

// Mails returns the messages received so far with their envelopes, oldest
// first.
func (s *SMTPSink) Mails() []SMTPMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMail(nil), s.mails...)
}

// Messages returns the raw messages received so far, oldest first.
func (s *SMTPSink) Messages() [][]byte {
	var out [][]byte
	for _, m := range s.Mails() {
		out = append(out, m.Data)
	}
	return out
}

func (s *SMTPSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 sink ESMTP")
	var cur SMTPMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-sink")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			cur = SMTPMail{From: strings.TrimSpace(line[len("MAIL FROM:"):])}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			s.mu.Lock()
			rep := s.rcptReply
			s.mu.Unlock()
			if rep == "" {
				rep = "250 ok"
			}
			cur.To = strings.TrimSpace(line[len("RCPT TO:"):])
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
			cur.Data = data.Bytes()
			s.mu.Lock()
			s.mails = append(s.mails, cur)
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
