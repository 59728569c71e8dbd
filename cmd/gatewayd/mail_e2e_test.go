package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/equus/sogateway/internal/testutil"
)

// imapLogin connects to the test Dovecot as its one user.
func imapLogin(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(testutil.DovecotUser, testutil.DovecotPassword).Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

func appendMail(t *testing.T, addr, mailbox, raw string) {
	t.Helper()
	c := imapLogin(t, addr)
	defer c.Close()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func mailboxCount(t *testing.T, addr, mailbox string) uint32 {
	t.Helper()
	c := imapLogin(t, addr)
	defer c.Close()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0
	}
	return *st.NumMessages
}

// TestBinaryMailAcknowledgesAndUpdatesATask runs the real binary against a
// real Dovecot and redis-server: tagged mails acknowledge and update a task,
// each once, and are moved to Processed; a mail without a task reference goes
// to Quarantine and the mailbox keeps flowing.
func TestBinaryMailAcknowledgesAndUpdatesATask(t *testing.T) {
	rs := testutil.StartRedis(t)
	dc := testutil.StartDovecot(t, nil)
	g := startGateway(t, "REDIS_URL="+rs.URL(), "SSP7_IMAP_ADDR="+dc.Addr(), "SSP7_IMAP_USER="+testutil.DovecotUser,
		"SSP7_IMAP_PASSWORD="+testutil.DovecotPassword, "SSP7_IMAP_TLS=none")
	code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","refs":{"requestor":"T-77"}}`)
	if code != 201 {
		t.Fatalf("create = %d %v", code, o)
	}
	id := o["id"].(string)
	appendMail(t, dc.Addr(), "INBOX", "From: Provider Desk <desk@provider.example>\nTo: intake@equus.example\nSubject: RE: [Task#T-77] Printer down\nMessage-ID: <ack-1@provider.example>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n[[Action]]: Acknowledge\n[[ExternalReference]]: INC0012345\n")
	appendMail(t, dc.Addr(), "INBOX", "From: Provider Desk <desk@provider.example>\nTo: intake@equus.example\nSubject: no reference at all\nMessage-ID: <stray@provider.example>\nDate: Mon, 23 Nov 2026 10:01:00 +0000\nContent-Type: text/plain\n\nhello\n")
	appendMail(t, dc.Addr(), "INBOX", fmt.Sprintf("From: Provider Desk <desk@provider.example>\nTo: intake@equus.example\nSubject: Update\nMessage-ID: <upd-1@provider.example>\nDate: Mon, 23 Nov 2026 10:02:00 +0000\nContent-Type: text/plain\n\n[[TaskId]]: %s\nThe technician is on site.\n\n-- \nProvider Desk\n", id))
	var types []string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
		types = types[:0]
		for _, e := range evs["events"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		if len(types) >= 3 && mailboxCount(t, dc.Addr(), "Quarantine") == 1 && mailboxCount(t, dc.Addr(), "Processed") == 2 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if strings.Join(types, " ") != "order.created order.acknowledged order.message" {
		t.Fatalf("events = %v, want order.created order.acknowledged order.message\n%s", types, g.Logs())
	}
	_, _, got := do(t, "GET", g.URL+"/v1/orders/"+id, "")
	if refs := got["refs"].(map[string]any); refs["servicer"] != "INC0012345" {
		t.Errorf("external reference = %v, want INC0012345", refs["servicer"])
	}
	msgs, _ := got["messages"].([]any)
	if len(msgs) == 0 || !strings.Contains(fmt.Sprint(msgs[len(msgs)-1]), "The technician is on site.") || strings.Contains(fmt.Sprint(msgs), "Provider Desk\n") {
		t.Errorf("messages = %v, want the update text without the signature", msgs)
	}
	if n := mailboxCount(t, dc.Addr(), "INBOX"); n != 0 {
		t.Errorf("INBOX still holds %d mails", n)
	}
	if q, p := mailboxCount(t, dc.Addr(), "Quarantine"), mailboxCount(t, dc.Addr(), "Processed"); q != 1 || p != 2 {
		t.Errorf("Quarantine %d, Processed %d; want 1 and 2", q, p)
	}
	if _, _, m := do(t, "GET", g.URL+"/readyz", ""); !strings.Contains(fmt.Sprint(m["checks"]), "mail.ssp7") {
		t.Errorf("readyz lacks the mailbox: %v", m)
	}
	if code, _, _ := do(t, "GET", g.URL+"/metrics", ""); code != 200 {
		t.Errorf("/metrics = %d", code)
	}
	if strings.Contains(g.Logs(), testutil.DovecotPassword) {
		t.Errorf("the IMAP password reached the log")
	}
}
