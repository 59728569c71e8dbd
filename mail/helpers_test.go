package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// fakeSink commits like the real one where it matters here: it dedupes on
// IdempotencyKey (returning the first outcome with Duplicate), finds orders by
// requestor reference (ErrNotFound otherwise) and applies the patch.
type fakeSink struct {
	mu     sync.Mutex
	orders map[string]*model.Order
	keys   map[string]*model.Outcome
	events []*model.Event
	fail   error // when set, every Commit returns it (Redis down)
}

func newFakeSink(refs ...string) *fakeSink {
	s := &fakeSink{orders: map[string]*model.Order{}, keys: map[string]*model.Outcome{}}
	for i, r := range refs {
		s.orders[r] = &model.Order{ID: fmt.Sprintf("o%d", i+1), Partner: "ssp7", Refs: model.Refs{Requestor: r}, Status: model.StatusSent}
	}
	return s
}

func (s *fakeSink) Commit(ctx context.Context, in *model.Inbound) (*model.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, fmt.Errorf("fakesink: %w", s.fail)
	}
	if in.IdempotencyKey == "" {
		return nil, &model.ValidationError{Field: "idempotency_key", Rule: "is required"}
	}
	if out, ok := s.keys[in.IdempotencyKey]; ok {
		dup := *out
		dup.Duplicate = true
		return &dup, nil
	}
	o, ok := s.orders[in.Target.Requestor]
	if !ok {
		return nil, fmt.Errorf("fakesink: order with requestor ref %q: %w", in.Target.Requestor, model.ErrNotFound)
	}
	if err := in.Require.Check(o, in.Kind); err != nil {
		return nil, err
	}
	applied, err := o.Apply(&in.Patch, in.Options)
	if err != nil {
		return nil, err
	}
	o.Version++
	ev := &model.Event{ID: fmt.Sprintf("e%d", len(s.events)+1), OrderID: o.ID, Type: in.Event, Direction: model.DirectionIn,
		Partner: in.Partner, Protocol: in.Protocol, MessageID: in.MessageID, Data: in.Data, OrderVersion: o.Version}
	s.events = append(s.events, ev)
	out := &model.Outcome{Order: o, Event: ev, Applied: applied}
	s.keys[in.IdempotencyKey] = out
	return out, nil
}

func (s *fakeSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *fakeSink) eventList() []*model.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*model.Event(nil), s.events...)
}

func (s *fakeSink) order(ref string) model.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.orders[ref]
}

// ssp7Translator does what the ssp7 mapping declares for mail: the task by
// correlation, [[Action]] Acknowledge|Update|Reassign (default Update).
type ssp7Translator struct{}

type doc struct {
	MessageID   string            `json:"message_id"`
	From        string            `json:"from"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	Tags        map[string]string `json:"tags"`
	Correlation string            `json:"correlation"`
	Attachments []Attachment      `json:"attachments"`
}

var errUnknownAction = errors.New("unknown action")

func (ssp7Translator) Translate(b []byte) (*model.Inbound, error) {
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	in := &model.Inbound{Partner: "ssp7", Target: model.Target{Requestor: d.Correlation}, Require: model.Require{Exists: true}}
	in.Options.Writer = "ssp7"
	msg := model.Message{Direction: model.DirectionIn, Author: d.From, Text: d.Text, Protocol: model.ProtocolEmail}
	switch action := d.Tags["Action"]; strings.ToLower(action) {
	case "acknowledge":
		in.Kind, in.Event = "acknowledge", model.EventOrderAcknowledged
		ext := d.Tags["ExternalReference"]
		if ext == "" {
			return nil, &model.ValidationError{Field: "tags.ExternalReference", Rule: "is required to acknowledge"}
		}
		in.Patch.Refs.Servicer = ext
	case "", "update":
		in.Kind, in.Event = "update", model.EventOrderMessage
		in.Patch.Messages = []model.Message{msg}
	case "reassign":
		in.Kind, in.Event = "reassign", model.EventOrderReassigned
		st := model.StatusResolved
		in.Patch.Status = &st
		in.Patch.Fields = map[string]any{"solution": d.Tags["Solution"]}
	default:
		return nil, fmt.Errorf("tags.Action: %w %q", errUnknownAction, action)
	}
	for _, a := range d.Attachments {
		in.Patch.Attachments = append(in.Patch.Attachments, model.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, StoredAt: a.StoredAt})
	}
	in.Data = map[string]any{"text": d.Text}
	return in, nil
}

// imapServer is a server the intake suite runs against.
type imapServer struct {
	name    string
	addr    string
	user    string
	pass    string
	restart func() // drops every connection, keeps the mail
	// noIdle makes the intake poll (DisableIdle): go-imap's server always offers IDLE.
	noIdle bool
}

const testInbox = "ssp7"

// memServer starts go-imap's in-memory server. rev2 offers IMAP4rev2 (IDLE,
// MOVE, UIDPLUS); otherwise only IMAP4rev1 + UIDPLUS, so the intake polls and
// moves with COPY + STORE + UID EXPUNGE.
func memServer(t testing.TB, rev2 bool) *imapServer {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("gateway", "pw")
	testutil.Must(t, u.Create("INBOX", nil))
	mem.AddUser(u)
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}
	if rev2 {
		caps[imap.CapIMAP4rev2] = struct{}{}
	}
	newSrv := func() *imapserver.Server {
		return imapserver.New(&imapserver.Options{
			NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
				return mem.NewSession(), nil, nil
			},
			Caps:         caps,
			InsecureAuth: true,
			Logger:       discardLogger{},
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Must(t, err)
	addr := ln.Addr().String()
	var mu sync.Mutex
	srv := newSrv()
	go srv.Serve(ln)
	t.Cleanup(func() { mu.Lock(); srv.Close(); mu.Unlock() })
	name := "mem-rev1"
	if rev2 {
		name = "mem-rev2"
	}
	return &imapServer{name: name, addr: addr, user: "gateway", pass: "pw", noIdle: !rev2, restart: func() {
		mu.Lock()
		defer mu.Unlock()
		srv.Close()
		var ln net.Listener
		var err error
		for range 50 {
			if ln, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		testutil.Must(t, err)
		srv = newSrv()
		go srv.Serve(ln)
	}}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// dovecotServer starts a real Dovecot; capability, when set, replaces what it
// announces (e.g. to hide IDLE and MOVE).
func dovecotServer(t testing.TB, capability string) *imapServer {
	testutil.RequireIntegration(t)
	d := testutil.StartDovecot(t, &testutil.DovecotOptions{Capability: capability})
	name := "dovecot"
	if capability != "" {
		name = "dovecot-rev1"
	}
	return &imapServer{name: name, addr: d.Addr(), user: testutil.DovecotUser, pass: testutil.DovecotPassword, restart: d.Restart}
}

// admin is the test's own IMAP connection to the server.
type admin struct {
	t testing.TB
	s *imapServer
	c *imapclient.Client
}

func newAdmin(t testing.TB, s *imapServer) *admin {
	t.Helper()
	a := &admin{t: t, s: s}
	a.connect()
	t.Cleanup(func() { a.c.Close() })
	return a
}

func (a *admin) connect() {
	a.t.Helper()
	var err error
	for range 100 { // the server may be restarting
		var c *imapclient.Client
		if c, err = imapclient.DialInsecure(a.s.addr, nil); err == nil {
			if err = c.Login(a.s.user, a.s.pass).Wait(); err == nil {
				a.c = c
				return
			}
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("admin connect %s: %v", a.s.addr, err)
}

// do runs f, reconnecting once when the connection was dropped by a restart.
func (a *admin) do(f func(c *imapclient.Client) error) {
	a.t.Helper()
	if err := f(a.c); err != nil {
		a.c.Close()
		a.connect()
		if err := f(a.c); err != nil {
			a.t.Fatalf("admin: %v", err)
		}
	}
}

func (a *admin) create(name string) {
	a.t.Helper()
	a.do(func(c *imapclient.Client) error { return c.Create(name, nil).Wait() })
}

func (a *admin) delete(name string) {
	a.t.Helper()
	a.do(func(c *imapclient.Client) error { return c.Delete(name).Wait() })
}

func (a *admin) append(mbox string, raw []byte) {
	a.t.Helper()
	a.do(func(c *imapclient.Client) error {
		cmd := c.Append(mbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	})
}

// count returns the number of messages in mbox (-1 when it does not exist).
func (a *admin) count(mbox string) int {
	a.t.Helper()
	n := -1
	a.do(func(c *imapclient.Client) error {
		list, err := c.List("", mbox, nil).Collect()
		if err != nil {
			return err
		}
		if len(list) == 0 {
			n = -1
			return nil
		}
		st, err := c.Status(mbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return err
		}
		n = int(*st.NumMessages)
		return nil
	})
	return n
}

// flags returns the flags of every message in mbox, in UID order.
func (a *admin) flags(mbox string) [][]imap.Flag {
	a.t.Helper()
	var out [][]imap.Flag
	a.do(func(c *imapclient.Client) error {
		out = nil
		sel, err := c.Select(mbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return err
		}
		if sel.NumMessages == 0 {
			return nil
		}
		msgs, err := c.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...), &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			out = append(out, m.Flags)
		}
		return c.Unselect().Wait()
	})
	return out
}

func seqRange(n uint32) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(i + 1)
	}
	return s
}

// running is an Intake running in the background.
type running struct {
	in     *Intake
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
}

func testConfig(s *imapServer) MailboxConfig {
	return MailboxConfig{Name: "ssp7", Addr: s.addr, User: s.user, Password: Secret(s.pass), TLS: TLSNone,
		Inbox: testInbox, DisableIdle: s.noIdle, PollInterval: 100 * time.Millisecond, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
}

func startIntake(t testing.TB, in *Intake) *running {
	t.Helper()
	return startIntakeCtx(t, context.Background(), in)
}

// startIntakeCtx runs in until parent is done or the test ends.
func startIntakeCtx(t testing.TB, parent context.Context, in *Intake) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(parent)
	r := &running{in: in, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = in.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("intake did not stop")
		}
	})
	return r
}

// quietLogger discards the intake's log; MAIL_TEST_LOG=1 shows it.
func quietLogger() *slog.Logger {
	if os.Getenv("MAIL_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// eventually waits (up to 30s, it is not a speed assertion) for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mkMail builds a text/plain mail with CRLF line ends.
func mkMail(msgID, subject, body string, extra ...string) []byte {
	var b strings.Builder
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("From: Service Desk <desk@provider.example>\r\n")
	b.WriteString("To: gateway@equus.example\r\n")
	b.WriteString("Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n")
	if msgID != "" {
		b.WriteString("Message-ID: <" + msgID + ">\r\n")
	}
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// docTranslator is a mapping stand-in reading the mail document.
type docTranslator interface {
	Translate(doc []byte) (*model.Inbound, error)
}

// receiver runs tr through the one inbound path onto sink, as the gateway
// wires the partner's real mapping.
func receiver(tr docTranslator, sink model.Sink) inbound.Receiver {
	return inbound.New(oneMapping{tr}, sink, &inbound.Options{Logger: quietLogger()})
}

// oneMapping serves tr as every partner's mapping.
type oneMapping struct{ tr docTranslator }

func (o oneMapping) Translator(string) inbound.Translator { return o }

func (o oneMapping) Translate(in mappings.Input) (*mappings.Batch, error) {
	inb, err := o.tr.Translate(in.Body)
	if err != nil {
		return nil, err
	}
	return &mappings.Batch{Items: []mappings.Item{{Kind: inb.Kind, Inbound: inb}}}, nil
}
