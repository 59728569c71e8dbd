package mail

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/equus/sogateway/internal/model"
)

// fileSink is a Sink whose idempotency records survive the process: one
// JSON line per committed event, synced before Commit returns.
type fileSink struct {
	mu   sync.Mutex
	path string
}

type fileRecord struct {
	Key       string `json:"key"`
	MessageID string `json:"message_id"`
}

func (s *fileSink) records() ([]fileRecord, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []fileRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r fileRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func (s *fileSink) Commit(ctx context.Context, in *model.Inbound) (*model.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	ev := &model.Event{ID: fmt.Sprintf("e%d", len(recs)+1), Type: in.Event, Protocol: in.Protocol, MessageID: in.MessageID}
	for _, r := range recs {
		if r.Key == in.IdempotencyKey {
			return &model.Outcome{Event: ev, Duplicate: true}, nil
		}
	}
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, _ := json.Marshal(fileRecord{Key: in.IdempotencyKey, MessageID: in.MessageID})
	if _, err := f.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &model.Outcome{Event: ev}, nil
}

// TestKillBetweenCommitAndMove runs the intake in a child process that is
// SIGKILLed right after its first commit, before the move to Processed; a
// second intake then finishes the job. The mail is applied exactly once.
func TestKillBetweenCommitAndMove(t *testing.T) {
	if os.Getenv("MAIL_KILL_CHILD") == "1" {
		killChild()
		return
	}
	for _, srv := range []struct {
		name string
		new  func(t testing.TB) *imapServer
	}{servers[0], servers[2]} {
		t.Run(srv.name, func(t *testing.T) {
			s := srv.new(t)
			adm := newAdmin(t, s)
			adm.create(testInbox)
			adm.append(testInbox, mkMail("kill-1@provider", "[Task#T-1] update", "once"))
			adm.append(testInbox, mkMail("kill-2@provider", "[Task#T-1] update", "twice"))
			sink := &fileSink{path: t.TempDir() + "/events.jsonl"}

			cmd := exec.Command(os.Args[0], "-test.run=^TestKillBetweenCommitAndMove$")
			cmd.Env = append(os.Environ(), "MAIL_KILL_CHILD=1", "MAIL_KILL_ADDR="+s.addr, "MAIL_KILL_USER="+s.user,
				"MAIL_KILL_PASS="+s.pass, "MAIL_KILL_EVENTS="+sink.path)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child = %v, want killed by SIGKILL; output:\n%s", err, out)
			}
			recs, err := sink.records()
			testMust(t, err)
			if len(recs) != 1 || adm.count(testInbox) != 2 || adm.count("Processed") != 0 {
				t.Fatalf("after the kill: %d events, inbox %d, processed %d; want 1, 2, 0", len(recs), adm.count(testInbox), adm.count("Processed"))
			}

			in := NewIntake(testConfig(s), nil, receiver(ssp7Translator{}, sink), nil, &Options{Logger: quietLogger()})
			r := startIntake(t, in)
			eventually(t, "both mails processed", func() bool {
				return r.in.Status().Processed == 2 && adm.count("Processed") == 2 && adm.count(testInbox) == 0
			})
			recs, err = sink.records()
			testMust(t, err)
			var ids []string
			for _, rec := range recs {
				ids = append(ids, rec.MessageID)
			}
			if strings.Join(ids, ",") != "kill-1@provider,kill-2@provider" {
				t.Errorf("events = %v, want kill-1 then kill-2, once each", ids)
			}
			if st := r.in.Status(); st.Duplicates != 1 {
				t.Errorf("Status().Duplicates = %d, want 1 (the mail committed before the kill)", st.Duplicates)
			}
		})
	}
}

// killChild is the child process: it commits the first mail, then dies by
// SIGKILL before moving it.
func killChild() {
	srv := &imapServer{addr: os.Getenv("MAIL_KILL_ADDR"), user: os.Getenv("MAIL_KILL_USER"), pass: os.Getenv("MAIL_KILL_PASS")}
	in := NewIntake(testConfig(srv), nil, receiver(ssp7Translator{}, &fileSink{path: os.Getenv("MAIL_KILL_EVENTS")}), nil, &Options{Logger: quietLogger()})
	in.afterCommit = func(imap.UID, *model.Outcome) error {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = in.Run(ctx)
	os.Exit(3) // not killed: the parent reports it
}
