package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/equus/sogateway/internal/model"
)

// servers lists the servers the same suite runs against: go-imap's memory
// server with IMAP4rev2 (IDLE, MOVE) and with IMAP4rev1 only (poll, COPY
// fallback), and, in the integration run, real Dovecot in both shapes.
var servers = []struct {
	name string
	new  func(t testing.TB) *imapServer
}{
	{"mem-rev2", func(t testing.TB) *imapServer { return memServer(t, true) }},
	{"mem-rev1", func(t testing.TB) *imapServer { return memServer(t, false) }},
	{"dovecot", func(t testing.TB) *imapServer { return dovecotServer(t, "") }},
	{"dovecot-rev1", func(t testing.TB) *imapServer { return dovecotServer(t, "IMAP4rev1 UIDPLUS LITERAL+") }},
}

// suite is one intake test, run against each server.
type suite struct {
	t     *testing.T
	srv   *imapServer
	adm   *admin
	sink  *fakeSink
	store *DirStore
	run   *running // the intake waitCounts watches
}

func TestIntake(t *testing.T) {
	cases := []struct {
		name string
		run  func(s *suite)
	}{
		{"Applies", testApplies},
		{"Quarantine", testQuarantine},
		{"CrashBetweenCommitAndMove", testCrashBetweenCommitAndMove},
		{"Redelivery", testRedelivery},
		{"UIDValidityChange", testUIDValidityChange},
		{"Burst100", testBurst},
		{"TransientSinkFailure", testTransient},
		{"Reconnect", testReconnect},
	}
	// Small chunks and batches (BatchSize 7 below) so the 100-mail burst
	// crosses both boundaries.
	old := sizeChunk
	sizeChunk = 30
	t.Cleanup(func() { sizeChunk = old })
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					s := &suite{t: t, srv: srv.new(t), sink: newFakeSink("T-1", "T-2", "T-3"), store: &DirStore{Dir: t.TempDir()}}
					s.adm = newAdmin(t, s.srv)
					s.adm.create(testInbox)
					c.run(s)
				})
			}
		})
	}
}

func (s *suite) intake(r *Rules, hook func(imap.UID, *model.Outcome) error) *Intake {
	in := NewIntake(testConfig(s.srv), r, receiver(ssp7Translator{}, s.sink), s.store, &Options{Logger: quietLogger(), BatchSize: 7})
	in.afterCommit = hook
	return in
}

// start runs an intake in the background; waitCounts watches its Status.
func (s *suite) start(r *Rules, hook func(imap.UID, *model.Outcome) error) *running {
	s.run = startIntake(s.t, s.intake(r, hook))
	return s.run
}

// waitCounts waits until the folders hold processed and quarantined mails,
// the inbox is empty, and the running intake has counted them.
func (s *suite) waitCounts(processed, quarantined int) {
	s.t.Helper()
	eventually(s.t, fmt.Sprintf("%d processed and %d quarantined", processed, quarantined), func() bool {
		st := s.run.in.Status()
		return st.Processed == int64(processed) && st.Quarantined == int64(quarantined) &&
			s.adm.count("Processed") == processed && s.adm.count("Quarantine") == quarantined && s.adm.count(testInbox) == 0
	})
}

const ackBody = "Hello,\n\nwe took the ticket.\n[[Action]]: Acknowledge\n[[ExternalReference]]: INC0012345\n\n-- \nProvider Service Desk\n+49 30 1234"

func testApplies(s *suite) {
	t := s.t
	r := s.start(nil, nil)
	s.adm.append(testInbox, mkMail("ack-1@provider", "Re: [Task#T-1] printer broken", ackBody))
	s.adm.append(testInbox, mkMail("upd-1@provider", "AW: WG: [Task#T-1] printer broken",
		"Technician is on the way.\n\nOn Mon, 23 Nov 2026 at 09:00, Gateway <gw@equus.example> wrote:\n> [[TaskId]]: T-2\n> old text"))
	s.adm.append(testInbox, attachmentMail("res-1@provider", "Solved", "[[TaskId]]: T-1\n[[Action]]: Reassign\n[[Solution]]: replaced the fuser\n"))
	s.waitCounts(3, 0)

	evs := s.sink.eventList()
	var types []model.EventType
	for _, e := range evs {
		types = append(types, e.Type)
		if e.Protocol != model.ProtocolEmail || e.OrderID != "o1" {
			t.Errorf("event %s: protocol %q order %q, want email o1", e.ID, e.Protocol, e.OrderID)
		}
	}
	want := []model.EventType{model.EventOrderAcknowledged, model.EventOrderMessage, model.EventOrderReassigned}
	if !slices.Equal(types, want) {
		t.Fatalf("event types = %v, want %v", types, want)
	}
	if evs[0].MessageID != "ack-1@provider" {
		t.Errorf("event message id = %q, want ack-1@provider", evs[0].MessageID)
	}
	o := s.sink.order("T-1")
	if o.Refs.Servicer != "INC0012345" || o.Status != model.StatusResolved {
		t.Errorf("order refs.servicer %q status %q, want INC0012345 resolved", o.Refs.Servicer, o.Status)
	}
	if len(o.Messages) != 1 || o.Messages[0].Text != "Technician is on the way." {
		t.Errorf("order messages = %+v, want the new part only", o.Messages)
	}
	if sol := o.Fields["solution"].Value; sol != "replaced the fuser" {
		t.Errorf("solution = %v, want replaced the fuser", sol)
	}
	if len(o.Attachments) != 1 || o.Attachments[0].Name != "report.pdf" || o.Attachments[0].Size != int64(len(pdfBytes)) {
		t.Fatalf("attachments = %+v, want report.pdf of %d bytes", o.Attachments, len(pdfBytes))
	}
	got, err := os.ReadFile(o.Attachments[0].StoredAt)
	if err != nil || string(got) != string(pdfBytes) {
		t.Errorf("stored attachment at %q = %q, %v; want the PDF bytes", o.Attachments[0].StoredAt, got, err)
	}
	if filepath.Base(o.Attachments[0].StoredAt) != o.Attachments[0].SHA256 {
		t.Errorf("stored at %q, want a path named by the sha256 %s", o.Attachments[0].StoredAt, o.Attachments[0].SHA256)
	}
	// BODY.PEEK: the processed mail is not marked \Seen.
	for i, fl := range s.adm.flags("Processed") {
		if slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("processed mail %d flags = %v, want no \\Seen", i, fl)
		}
	}
	st := r.in.Status()
	if st.Processed != 3 || st.Quarantined != 0 || !st.Connected || st.UIDValidity == 0 || st.Pending != 0 {
		t.Errorf("Status() = %+v, want 3 processed, 0 pending, connected, a UIDVALIDITY", st)
	}
	wantMode := "idle"
	if strings.HasSuffix(s.srv.name, "rev1") {
		wantMode = "poll"
	}
	if st.Mode != wantMode {
		t.Errorf("Status().Mode = %q, want %q", st.Mode, wantMode)
	}
}

var pdfBytes = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

func attachmentMail(msgID, subject, text string) []byte {
	return []byte("From: desk@provider.example\r\nTo: gw@equus.example\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Subject: " + subject + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(text, "\n", "\r\n") + "\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + b64(pdfBytes) + "\r\n--b1--\r\n")
}

func testQuarantine(s *suite) {
	t := s.t
	rules := &Rules{Limits: Limits{MaxAttachmentBytes: 16, AllowedTypes: []string{"application/pdf", "image/*"}}}
	r := s.start(rules, nil)
	s.adm.append(testInbox, mkMail("notag@provider", "Your ticket", "We are on it."))
	s.adm.append(testInbox, mkMail("unknown@provider", "[Task#T-404] status", "Hello"))
	s.adm.append(testInbox, []byte("From: x@provider.example\r\nSubject: [Task#T-1] x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"))
	s.adm.append(testInbox, attachmentMail("big@provider", "[Task#T-1] log", "see attached")) // PDF over 16 bytes
	s.adm.append(testInbox, []byte("From: x@provider.example\r\nMessage-ID: <exe@provider>\r\nSubject: [Task#T-1] tool\r\n"+
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nrun this\r\n"+
		"--b\r\nContent-Type: application/x-msdownload; name=tool.exe\r\n\r\nMZ\r\n--b--\r\n"))
	s.adm.append(testInbox, mkMail("badaction@provider", "[Task#T-2] x", "[[Action]]: Explode"))
	s.adm.append(testInbox, mkMail("ooo@provider", "Re: [Task#T-2] x", "I am out of the office.", "Auto-Submitted: auto-replied"))
	s.adm.append(testInbox, mkMail("good@provider", "[Task#T-2] update", "All fine now."))
	s.waitCounts(1, 7)

	st := r.in.Status()
	want := map[string]int64{"no_tag": 1, "unknown_task": 1, "bad_mime": 1, "too_large": 1, "type_not_allowed": 1, "untranslatable": 1, "auto_reply": 1}
	for k, v := range want {
		if st.QuarantinedBy[k] != v {
			t.Errorf("Status().QuarantinedBy[%q] = %d, want %d (all: %v)", k, st.QuarantinedBy[k], v, st.QuarantinedBy)
		}
	}
	if st.Quarantined != 7 || st.Processed != 1 || st.Pending != 0 {
		t.Errorf("Status() quarantined %d processed %d pending %d, want 7, 1 and 0", st.Quarantined, st.Processed, st.Pending)
	}
	if evs := s.sink.eventList(); len(evs) != 1 || evs[0].MessageID != "good@provider" {
		t.Errorf("events = %v, want only the good mail's", evs)
	}
	// Each quarantined mail carries its reason as a keyword.
	var kws []string
	for _, fl := range s.adm.flags("Quarantine") {
		for _, f := range fl {
			if f := strings.ToLower(string(f)); strings.HasPrefix(f, "$gateway_") {
				kws = append(kws, f)
			}
		}
	}
	slices.Sort(kws)
	wantKW := []string{"$gateway_auto_reply", "$gateway_bad_mime", "$gateway_no_tag", "$gateway_too_large", "$gateway_type_not_allowed", "$gateway_unknown_task", "$gateway_untranslatable"}
	if !slices.Equal(kws, wantKW) {
		t.Errorf("quarantine keywords = %v, want %v", kws, wantKW)
	}
}

var errCrash = errors.New("crash between commit and move")

func testCrashBetweenCommitAndMove(s *suite) {
	t := s.t
	s.adm.append(testInbox, mkMail("crash-1@provider", "[Task#T-1] update", "first"))
	ctx, die := context.WithCancel(context.Background())
	crashed := startIntakeCtx(t, ctx, s.intake(nil, func(uid imap.UID, out *model.Outcome) error {
		die() // the process dies right after the commit
		return errCrash
	}))
	<-crashed.done
	if n := len(s.sink.eventList()); n != 1 {
		t.Fatalf("events after crash = %d, want 1", n)
	}
	if n := s.adm.count(testInbox); n != 1 {
		t.Fatalf("inbox after crash = %d mails, want 1 (not moved)", n)
	}
	// The restarted intake sees the mail again; the Sink says Duplicate; it is moved.
	r := s.start(nil, nil)
	s.waitCounts(1, 0)
	if n := len(s.sink.eventList()); n != 1 {
		t.Errorf("events after restart = %d, want 1", n)
	}
	if st := r.in.Status(); st.Duplicates != 1 || st.Processed != 1 {
		t.Errorf("Status() duplicates %d processed %d, want 1 and 1", st.Duplicates, st.Processed)
	}
}

func testRedelivery(s *suite) {
	t := s.t
	r := s.start(nil, nil)
	m := mkMail("dup-1@provider", "[Task#T-1] update", "once only")
	s.adm.append(testInbox, m)
	s.waitCounts(1, 0)
	// The same mail again through another hop: a new UID and an extra Received header.
	s.adm.append(testInbox, append([]byte("Received: from relay2.example by mx.equus.example; Mon, 23 Nov 2026 10:05:00 +0000\r\n"), m...))
	s.waitCounts(2, 0)
	if n := len(s.sink.eventList()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}
	if st := r.in.Status(); st.Duplicates != 1 {
		t.Errorf("Status().Duplicates = %d, want 1", st.Duplicates)
	}
}

func testUIDValidityChange(s *suite) {
	t := s.t
	r := s.start(nil, nil)
	m1 := mkMail("v-1@provider", "[Task#T-1] one", "one")
	s.adm.append(testInbox, m1)
	s.adm.append(testInbox, mkMail("v-2@provider", "[Task#T-1] two", "two"))
	s.waitCounts(2, 0)
	before := r.in.Status()
	// The mailbox is recreated: UIDVALIDITY changes and UIDs start over. The
	// already applied mail comes back (restored from a backup) with a new one.
	s.adm.delete(testInbox)
	s.adm.create(testInbox)
	s.adm.append(testInbox, m1)
	s.adm.append(testInbox, mkMail("v-3@provider", "[Task#T-1] three", "three"))
	s.waitCounts(4, 0)
	evs := s.sink.eventList()
	var texts []string
	for _, e := range evs {
		texts = append(texts, fmt.Sprint(e.Data["text"]))
	}
	if !slices.Equal(texts, []string{"one", "two", "three"}) {
		t.Errorf("event texts = %v, want [one two three]", texts)
	}
	eventually(t, "the new UIDVALIDITY in Status", func() bool {
		st := r.in.Status()
		return st.UIDValidity != before.UIDValidity && st.UIDValidityChanges >= 1
	})
}

func testBurst(s *suite) {
	t := s.t
	const n = 100
	r := s.start(nil, nil)
	for i := range n {
		task := fmt.Sprintf("T-%d", i%3+1)
		s.adm.append(testInbox, mkMail(fmt.Sprintf("burst-%d@provider", i), "[Task#"+task+"] step", fmt.Sprintf("step %03d", i)))
	}
	s.waitCounts(n, 0)
	if got := len(s.sink.eventList()); got != n {
		t.Fatalf("events = %d, want %d", got, n)
	}
	// Per task, the messages are applied in the order they arrived.
	for _, task := range []string{"T-1", "T-2", "T-3"} {
		o := s.sink.order(task)
		var texts []string
		for _, m := range o.Messages {
			texts = append(texts, m.Text)
		}
		if !slices.IsSorted(texts) || len(texts) < n/3 {
			t.Errorf("order %s messages = %v, want %d+ in arrival order", task, texts, n/3)
		}
	}
	if st := r.in.Status(); st.Processed != n {
		t.Errorf("Status().Processed = %d, want %d", st.Processed, n)
	}
}

func testTransient(s *suite) {
	t := s.t
	s.sink.setFail(errors.New("redis: connection refused"))
	r := s.start(nil, nil)
	s.adm.append(testInbox, mkMail("tr-1@provider", "[Task#T-1] a", "a"))
	s.adm.append(testInbox, mkMail("tr-2@provider", "[Task#T-1] b", "b"))
	eventually(t, "retries while the sink is down", func() bool { return r.in.Status().Retries >= 2 })
	if n := s.adm.count(testInbox); n != 2 {
		t.Fatalf("inbox while the sink is down = %d mails, want 2 (left for later)", n)
	}
	if st := r.in.Status(); st.Quarantined != 0 || !strings.Contains(st.LastError, "connection refused") {
		t.Errorf("Status() = %+v, want nothing quarantined and the last error shown", st)
	}
	s.sink.setFail(nil)
	s.waitCounts(2, 0)
	if evs := s.sink.eventList(); len(evs) != 2 || evs[0].MessageID != "tr-1@provider" {
		t.Errorf("events = %v, want tr-1 then tr-2", evs)
	}
}

func testReconnect(s *suite) {
	t := s.t
	r := s.start(nil, nil)
	s.adm.append(testInbox, mkMail("rc-1@provider", "[Task#T-1] a", "a"))
	s.waitCounts(1, 0)
	s.srv.restart()
	s.adm.append(testInbox, mkMail("rc-2@provider", "[Task#T-1] b", "b"))
	s.waitCounts(2, 0)
	eventually(t, "connected again", func() bool { st := r.in.Status(); return st.Connected && st.Reconnects >= 1 })
	if n := len(s.sink.eventList()); n != 2 {
		t.Errorf("events = %d, want 2", n)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cases := []struct {
		cfg  MailboxConfig
		want error
	}{
		{MailboxConfig{Addr: "imap.example:993", User: "u"}, ErrMissingCredentials},
		{MailboxConfig{Addr: "imap.example", User: "u", Password: "p"}, ErrConfig},
		{MailboxConfig{Addr: "imap.example:993", User: "u", Password: "p", TLS: "ssl"}, ErrConfig},
		{MailboxConfig{Addr: "imap.example:993", User: "u", Password: "p", Processed: "INBOX"}, ErrConfig},
	}
	for _, c := range cases {
		in := NewIntake(c.cfg, nil, receiver(ssp7Translator{}, newFakeSink()), nil, nil)
		if err := in.Run(context.Background()); !errors.Is(err, c.want) {
			t.Errorf("Run() with %+v = %v, want %v", c.cfg, err, c.want)
		}
		if st := in.Status(); st.LastError == "" || st.Disabled == "" {
			t.Errorf("Status() = %+v for %+v, want LastError and Disabled set", st, c.cfg)
		}
	}
}

// TestPasswordNeverLogged runs an intake with a wrong password and checks
// that neither its log nor its Status holds the password.
func TestPasswordNeverLogged(t *testing.T) {
	srv := memServer(t, true)
	var buf syncBuffer
	cfg := testConfig(srv)
	cfg.Password = "s3cret-wrong-pw"
	in := NewIntake(cfg, nil, receiver(ssp7Translator{}, newFakeSink()), nil, &Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	r := startIntake(t, in)
	eventually(t, "a failed login", func() bool { return r.in.Status().Reconnects >= 2 })
	st := r.in.Status()
	if !strings.Contains(st.LastError, "login as gateway") {
		t.Errorf("Status().LastError = %q, want the failed login", st.LastError)
	}
	r.cancel()
	<-r.done
	if !strings.Contains(buf.String(), "connection lost") {
		t.Fatalf("log = %s, want the failed connection logged", buf.String())
	}
	if strings.Contains(buf.String(), "s3cret") || strings.Contains(st.LastError, "s3cret") {
		t.Errorf("password in the log or status: %s / %s", buf.String(), st.LastError)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type panicTranslator struct{}

func (panicTranslator) Translate([]byte) (*model.Inbound, error) { panic("mapping bug") }

// TestTranslatorPanic: a mapping that panics on a mail quarantines that mail;
// the intake keeps running.
func TestTranslatorPanic(t *testing.T) {
	srv := memServer(t, true)
	adm := newAdmin(t, srv)
	adm.create(testInbox)
	adm.append(testInbox, mkMail("p@provider", "[Task#T-1] x", "boom"))
	r := startIntake(t, NewIntake(testConfig(srv), nil, receiver(panicTranslator{}, newFakeSink("T-1")), nil, &Options{Logger: quietLogger()}))
	eventually(t, "the mail quarantined", func() bool {
		return r.in.Status().QuarantinedBy["untranslatable"] == 1 && adm.count("Quarantine") == 1
	})
}

// TestAllowedSenders: mail from outside the allowed addresses and domains is
// quarantined; an allowed domain and address pass, in any letter case.
func TestAllowedSenders(t *testing.T) {
	srv := memServer(t, true)
	adm := newAdmin(t, srv)
	adm.create(testInbox)
	from := func(addr string, raw []byte) []byte {
		return bytes.Replace(raw, []byte("From: Service Desk <desk@provider.example>"), []byte("From: "+addr), 1)
	}
	adm.append(testInbox, from("spammer@elsewhere.example", mkMail("s1@x", "[Task#T-1] buy", "spam")))
	adm.append(testInbox, from("Jane@Provider.Example", mkMail("s2@x", "[Task#T-1] ok", "domain ok")))
	adm.append(testInbox, from("robot@partner-tickets.example", mkMail("s3@x", "[Task#T-1] ok", "address ok")))
	cfg := testConfig(srv)
	cfg.AllowedSenders = []string{"@provider.example", "robot@partner-tickets.example"}
	sink := newFakeSink("T-1")
	r := startIntake(t, NewIntake(cfg, nil, receiver(ssp7Translator{}, sink), nil, &Options{Logger: quietLogger()}))
	eventually(t, "two applied, one quarantined", func() bool {
		st := r.in.Status()
		return st.Processed == 2 && st.QuarantinedBy["sender_not_allowed"] == 1
	})
	if evs := sink.eventList(); len(evs) != 2 || evs[0].MessageID != "s2@x" || evs[1].MessageID != "s3@x" {
		t.Errorf("events = %v, want s2 and s3", evs)
	}
	bad := MailboxConfig{Addr: "h:1", User: "u", Password: "p", AllowedSenders: []string{"provider.example"}}
	if err := bad.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "allowed_senders[0]") {
		t.Errorf("Validate(%v) = %v, want ErrConfig naming allowed_senders[0]", bad.AllowedSenders, err)
	}
}
