package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/equus/sogateway/internal/testutil"
)

// pruvanCreate is a Pruvan work order as the partner posts it.
const pruvanCreate = `{"workOrders":[{"workOrderNumber":"WO-PRUVAN-1","address1":"111 East Main","city":"Round Rock","state":"TX","zip":"78664","workOrderInfo":"Call Office 555-111-2222","clientStatus":"Order Created","dueDate":"2026-12-05 1200 +0","services":[{"serviceName":"Task-01 Mow Grass"}]}]}`

// browser starts a headless Debian chromium with a fresh profile (no network
// beyond loopback is needed) and returns a context that drives it.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed (apt-get install chromium)")
	return ""
}

// shots saves what the browser shows, one PNG per step, under the test's
// artifact directory (kept with go test -artifacts -outputdir DIR).
type shots struct {
	t   *testing.T
	dir string
	n   int
}

func (s *shots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		s.n++
		path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
		return os.WriteFile(path, png, 0o644)
	})
}

// TestBrowserConsole drives the operator console in a real browser against
// the real binary, a real redis-server and a local vendor: it logs in, finds
// an order by its reference and reads its timeline, sends an order during a
// maintenance window and shortens the window until the held order goes out,
// replays a dead letter, translates a payload in the playground, and is
// refused without a CSRF token or a session. Every page is saved as a PNG.
func TestBrowserConsole(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server", "chromium")
	vendor := &vendorSink{}
	vs := httptest.NewServer(vendor)
	t.Cleanup(vs.Close)
	g := startGateway(t, "REDIS_URL="+testutil.StartRedis(t).URL(), "ACME_MOVERS_URL="+vs.URL, "ACME_MOVERS_TOKEN=acme-token",
		"ACME_MOVERS_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ACME_MOVERS_PULL_KEY=pull-key", "PRUVAN_API_KEY=pruvan-key")

	// What partners and the platform did before the operator looks.
	if code, _, res := do(t, "POST", g.URL+"/partners/pruvan/workorders?apiKey=pruvan-key", pruvanCreate); code != 200 || !strings.Contains(fmt.Sprint(res), "created:1") {
		t.Fatalf("pruvan create = %d %v", code, res)
	}
	full := `"move_date":"2026-12-01","origin_address":"1 Main, Round Rock TX","destination_address":"9 Elm, Austin TX"`
	create := func(ref string) string {
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"acme-movers","company":"globex","service_type":"household_goods_move","refs":{"requestor":%q},"fields":{%s}}`, ref, full))
		if code != 201 {
			t.Fatalf("create %s = %d %v", ref, code, o)
		}
		return o["id"].(string)
	}
	sendOrder := func(id string) {
		if code, _, res := do(t, "POST", g.URL+"/v1/orders/"+id+"/send", ""); code != 202 {
			t.Fatalf("send %s = %d %v", id, code, res)
		}
	}
	id1, id2, id3 := create("N-1"), create("N-2"), create("N-3")
	sendOrder(id1)
	waitFor(t, "the first order to reach the vendor", 30*time.Second, func() bool { return vendor.count() == 1 })
	vendor.mu.Lock()
	vendor.failWith = 400 // refused for good: N-3 becomes a dead letter
	vendor.mu.Unlock()
	sendOrder(id3)
	var deadID string
	waitFor(t, "order N-3 to fail for good", 30*time.Second, func() bool {
		_, _, dl := do(t, "GET", g.URL+"/v1/vendors/acme-movers/dead-letters", "")
		if l, _ := dl["dead_letters"].([]any); len(l) == 1 {
			deadID = l[0].(map[string]any)["id"].(string)
		}
		return deadID != ""
	})
	vendor.mu.Lock()
	vendor.failWith = 0 // the vendor fixed its side
	vendor.mu.Unlock()

	ctx := browser(t)
	sh := &shots{t: t, dir: t.ArtifactDir()}
	t.Logf("screenshots: %s", sh.dir)
	// Each step is bounded; the browser itself lives as long as the test.
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			_ = chromedp.Do(ctx, sh.take("failed-"+strings.ReplaceAll(what, " ", "-")))
			t.Fatalf("%s: %v (screenshots in %s)", what, err, sh.dir)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		u, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("read the location: %v", err)
		}
		return u
	}

	// Anonymous: the console sends the browser to the login form.
	run("open the console", chromedp.Navigate(g.URL+"/console/orders"), chromedp.WaitVisible(chromedp.ID("api_key")), sh.take("login"))
	if u := location(); !strings.Contains(u, "/console/login?next=") {
		t.Fatalf("anonymous /console/orders ended at %s, want the login form", u)
	}
	run("log in with a wrong key", chromedp.SendKeys(chromedp.ID("api_key"), "not-a-key"), chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("login-error")), sh.take("login-refused"))
	run("log in", chromedp.SendKeys(chromedp.ID("api_key"), testutil.AdminToken), chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Console sections"]`)), sh.take("orders"))
	if !strings.Contains(text("table"), "WO-PRUVAN-1") {
		t.Errorf("orders page does not list the Pruvan order:\n%s", text("main"))
	}

	// Find the Pruvan order by its reference and read its timeline.
	run("search by ref", chromedp.SendKeys(chromedp.ID("ref"), "WO-PRUVAN-1"), chromedp.Click(chromedp.CSS(`.filters button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("timeline")))
	run("open the raw message", chromedp.Click(chromedp.CSS(`#timeline details:last-of-type summary`)), sh.take("order-timeline"))
	tl := text("#timeline")
	for _, want := range []string{"order.created", "pruvan", "via rest", "Mapping version", "sha256:", "Raw message from pruvan", "WO-PRUVAN-1"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	run("phone-sized order page", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), sh.take("order-phone"), chromedp.EmulateViewport(1280, 900))

	// The delivered order shows Success.
	run("open N-1", chromedp.Navigate(g.URL+"/console/orders?ref=N-1"), chromedp.WaitVisible(chromedp.ID("deliveries")), sh.take("order-delivered"))
	if d := text("#deliveries"); !strings.Contains(d, "Success") || !strings.Contains(d, "order.submitted") {
		t.Errorf("N-1 deliveries = %q, want order.submitted with Success", d)
	}

	// A maintenance window: set it, Save and Send is held, shorten it, and the held order goes out.
	run("set a window", chromedp.Navigate(g.URL+"/console/vendors"), chromedp.WaitVisible(chromedp.ID("end-acme-movers")),
		chromedp.SendKeys(chromedp.ID("end-acme-movers"), "2h"),
		chromedp.Click(chromedp.CSS(`#vendor-acme-movers form[action$="/window"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("vendors-window-set"))
	if f := text(".flash"); !strings.Contains(f, "Offline window of acme-movers set") {
		t.Fatalf("after setting the window: %q", f)
	}
	if w := text("#vendor-acme-movers .window"); !strings.Contains(w, "Offline now") {
		t.Errorf("vendor window = %q, want Offline now", w)
	}
	run("save and send N-2", chromedp.Navigate(g.URL+"/console/orders/"+id2), chromedp.WaitVisible(chromedp.ID("send-vendor")),
		chromedp.Click(chromedp.CSS(`form.inline button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("order-held"))
	if f := text(".flash"); !strings.Contains(f, "maintenance") {
		t.Errorf("Save and Send during the window said %q, want the maintenance notice", f)
	}
	if d := text("#deliveries"); !strings.Contains(d, "Sending") {
		t.Errorf("held delivery = %q, want Sending", d)
	}
	if n := vendor.count(); n != 1 {
		t.Fatalf("the vendor received %d orders during its window, want 1 (the earlier one)", n)
	}
	run("vendors with a held order", chromedp.Navigate(g.URL+"/console/vendors"), chromedp.WaitVisible(chromedp.ID("shorten-acme-movers")))
	if h := text("#vendor-acme-movers .q-held"); h != "1" {
		t.Errorf("held by window = %q, want 1", h)
	}
	run("shorten the window", chromedp.SendKeys(chromedp.ID("shorten-acme-movers"), "2s"),
		chromedp.Click(chromedp.CSS(`#vendor-acme-movers form[action$="/shorten"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("vendors-window-shortened"))
	if f := text(".flash"); !strings.Contains(f, "now ends") {
		t.Fatalf("after shortening: %q", f)
	}
	waitFor(t, "the held order to go out when the shortened window ends", 30*time.Second, func() bool { return vendor.count() == 2 })
	if !strings.Contains(vendor.bodies[1], "N-2") {
		t.Errorf("the vendor's second order = %s, want N-2", vendor.bodies[1])
	}
	waitFor(t, "N-2 to show Success", 15*time.Second, func() bool {
		run("reload N-2", chromedp.Navigate(g.URL+"/console/orders/"+id2), chromedp.WaitVisible(chromedp.ID("deliveries")))
		return strings.Contains(text("#deliveries"), "Success")
	})
	run("N-2 sent", sh.take("order-sent-after-window"))

	// Replay the dead letter.
	run("dead letters", chromedp.Navigate(g.URL+"/console/dead-letters?vendor=acme-movers"), chromedp.WaitVisible(chromedp.ID("dead-letters")),
		chromedp.Click(chromedp.CSS(`#dead-letters details summary`)), sh.take("dead-letters"))
	if dl := text("#dead-letters"); !strings.Contains(dl, deadID) || !strings.Contains(dl, "400") {
		t.Errorf("dead letters = %q, want %s with the vendor's 400", dl, deadID)
	}
	run("replay it", chromedp.Click(chromedp.CSS(`button[name=one][value="`+deadID+`"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("dead-letter-replayed"))
	if f := text(".flash"); !strings.Contains(f, "Replayed 1") {
		t.Errorf("after replay: %q", f)
	}
	waitFor(t, "the replayed order to reach the vendor", 30*time.Second, func() bool { return vendor.count() == 3 })
	waitFor(t, "N-3 to show Success", 15*time.Second, func() bool {
		run("reload N-3", chromedp.Navigate(g.URL+"/console/orders/"+id3), chromedp.WaitVisible(chromedp.ID("deliveries")))
		return strings.Contains(text("#deliveries"), "Success")
	})

	// Translate a payload in the playground.
	run("playground", chromedp.Navigate(g.URL+"/console/mappings/playground?partner=pruvan"), chromedp.WaitVisible(chromedp.ID("pg-payload")),
		chromedp.SetValue(chromedp.ID("pg-payload"), `{"protocol":"rest","route":"workorders","body":`+strings.Replace(pruvanCreate, "WO-PRUVAN-1", "WO-TRY-9", 1)+`}`),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("pg-result")), sh.take("playground"))
	if res := text("#pg-result"); !strings.Contains(res, "WO-TRY-9") || !strings.Contains(res, "explain") {
		t.Errorf("playground result lacks the reference or the explanation:\n%s", res)
	}
	run("search the tried reference", chromedp.Navigate(g.URL+"/console/orders?ref=WO-TRY-9"), chromedp.WaitVisible(chromedp.CSS("table")))
	if l := text("table tbody"); !strings.Contains(l, "No order matches") {
		t.Errorf("the playground committed an order: %q", l)
	}

	// The other pages render.
	for _, p := range []struct{ path, wait, name string }{
		{"/console/mappings", "#mappings", "mappings"},
		{"/console/integrations", "main h2", "integrations"},
		{"/console/mail", "main h1", "mail"},
		{"/console/api-keys", "#key-name", "api-keys"},
	} {
		run("open "+p.path, chromedp.Navigate(g.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), sh.take(p.name))
		m := text("main")
		if p.name == "mappings" && (!strings.Contains(m, "pruvan") || !strings.Contains(m, "sha256:")) {
			t.Errorf("mappings page = %q, want each partner's live version", m)
		}
		if p.name == "integrations" && (!strings.Contains(m, "acme-movers") || !strings.Contains(m, "order.submitted") || strings.Contains(m, "acme-token")) {
			t.Errorf("integrations page = %q, want the live vendors with their definitions and no credential", m)
		}
	}

	// Refused: a form whose CSRF token is gone, then a form posted after the session is gone.
	run("a form without its CSRF token", chromedp.Navigate(g.URL+"/console/vendors"), chromedp.WaitVisible(chromedp.ID("end-acme-movers")),
		chromedp.SendKeys(chromedp.ID("end-acme-movers"), "3h"),
		chromedp.RemoveAttribute(chromedp.CSS(`#vendor-acme-movers form[action$="/window"] input[name=csrf]`), "value"),
		chromedp.Click(chromedp.CSS(`#vendor-acme-movers form[action$="/window"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("main .error")), sh.take("refused-csrf"))
	if e := text("main"); !strings.Contains(e, "403") || !strings.Contains(e, "security token") {
		t.Errorf("form without its token = %q, want 403 naming the security token", e)
	}
	if _, _, w := do(t, "GET", g.URL+"/v1/vendors/acme-movers/offline-window", ""); w["active"] == true {
		t.Errorf("a form posted without its CSRF token set a window: %v", w)
	}
	run("forget the session", chromedp.Navigate(g.URL+"/console/vendors"), chromedp.WaitVisible(chromedp.ID("end-acme-movers")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		chromedp.SendKeys(chromedp.ID("end-acme-movers"), "1h"),
		chromedp.Click(chromedp.CSS(`#vendor-acme-movers form[action$="/window"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("login-error")), sh.take("refused-no-session"))
	if e := text("#login-error"); !strings.Contains(e, "Log in first") {
		t.Errorf("form without a session = %q, want the login form saying to log in first", e)
	}
	if _, _, w := do(t, "GET", g.URL+"/v1/vendors/acme-movers/offline-window", ""); w["active"] == true {
		t.Errorf("a form posted without a session set a window: %v", w)
	}
	run("a page without a session", chromedp.Navigate(g.URL+"/console/orders/"+id1), chromedp.WaitVisible(chromedp.ID("api_key")))
	if u := location(); !strings.Contains(u, "/console/login") {
		t.Errorf("a page without a session ended at %s, want the login form", u)
	}
}
