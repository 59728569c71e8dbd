package main

import (
	"fmt"
	"io"
	"net/http"
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

// backends are the Redis deployments the binary's suites run on: the
// embedded in-process one (miniredis) and a real redis-server.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"embedded":     func(t *testing.T) string { return "" },
		"redis-server": func(t *testing.T) string { return testutil.StartRedis(t).URL() },
	}
}

// metricValue returns the value of the sample line of name with labels from
// /metrics, or "" when there is none.
func metricValue(t *testing.T, base, sample string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

// TestBinaryMailReassignmentSolution sends reassignment mails through real
// Dovecot to the binary: the [[Solution]] tag's value becomes the task's
// solution message; a reassignment without any solution is refused as the
// SOAP operation refuses it (the mail goes to Quarantine, the task is
// unchanged); and the pending gauge is back to 0 once the inbox is empty.
func TestBinaryMailReassignmentSolution(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	for name, redisURL := range backends(t) {
		t.Run(name, func(t *testing.T) {
			dc := testutil.StartDovecot(t, nil)
			g := startGateway(t, "REDIS_URL="+redisURL(t), "SSP7_IMAP_ADDR="+dc.Addr(), "SSP7_IMAP_USER="+testutil.DovecotUser,
				"SSP7_IMAP_PASSWORD="+testutil.DovecotPassword, "SSP7_IMAP_TLS=none")
			ids := map[string]string{}
			for _, task := range []string{"T-81", "T-82"} {
				code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"ssp7","refs":{"requestor":%q}}`, task))
				if code != 201 {
					t.Fatalf("create %s = %d %v", task, code, o)
				}
				ids[task] = o["id"].(string)
			}
			appendMail(t, dc.Addr(), "INBOX", "From: Provider Desk <desk@provider.example>\nTo: intake@equus.example\nSubject: RE: [Task#T-81] Printer down\nMessage-ID: <sol-1@provider.example>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nHello,\n\n[[Action]]: Reassign\n[[Solution]]: replaced the fuser\n\n-- \nProvider Desk\n")
			appendMail(t, dc.Addr(), "INBOX", "From: Provider Desk <desk@provider.example>\nTo: intake@equus.example\nSubject: RE: [Task#T-82] Printer down\nMessage-ID: <sol-2@provider.example>\nDate: Mon, 23 Nov 2026 10:01:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n[[Action]]: Reassign\n\n-- \nProvider Desk\n")
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) && (mailboxCount(t, dc.Addr(), "Processed") != 1 || mailboxCount(t, dc.Addr(), "Quarantine") != 1) {
				time.Sleep(200 * time.Millisecond)
			}
			_, _, got := do(t, "GET", g.URL+"/v1/orders/"+ids["T-81"], "")
			msgs, _ := got["messages"].([]any)
			if got["status"] != "resolved" || len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "replaced the fuser" {
				t.Errorf("T-81: status %v, messages %v; want resolved with the message \"replaced the fuser\"\n%s", got["status"], msgs, g.Logs())
			}
			_, _, got = do(t, "GET", g.URL+"/v1/orders/"+ids["T-82"], "")
			if msgs, _ := got["messages"].([]any); got["status"] == "resolved" || len(msgs) != 0 {
				t.Errorf("T-82 without a solution: status %v, messages %v; want it unchanged", got["status"], got["messages"])
			}
			if q := mailboxCount(t, dc.Addr(), "Quarantine"); q != 1 {
				t.Errorf("Quarantine holds %d mails, want the reassignment without a solution", q)
			}
			if !strings.Contains(g.Logs(), "a reassignment needs a solution") {
				t.Errorf("the log does not say why the mail was put aside:\n%s", g.Logs())
			}
			sample := `sog_mail_pending{mailbox="ssp7"}`
			deadline = time.Now().Add(10 * time.Second)
			for metricValue(t, g.URL, sample) != "0" && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if v := metricValue(t, g.URL, sample); v != "0" {
				t.Errorf("%s = %q with an empty inbox, want 0", sample, v)
			}
		})
	}
}
