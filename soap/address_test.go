package soap

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

// TestLocation checks the address the WSDL and DISCO document give: the
// public URL first, X-Forwarded-* only from a trusted proxy, else the request.
func TestLocation(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, public, remote, proto, host string
		trusted                           []netip.Prefix
		want                              string
	}{
		{"request", "", "192.0.2.1:5000", "", "", nil, "http://svc.local" + DefaultPath},
		{"untrusted proxy ignored", "", "192.0.2.1:5000", "https", "evil.example", trusted, "http://svc.local" + DefaultPath},
		{"trusted proxy", "", "10.1.2.3:5000", "https", "gw.example.com", trusted, "https://gw.example.com" + DefaultPath},
		{"trusted IPv6 proxy, first values", "", "[::1]:5000", "https, http", "gw.example.com:8443, other", trusted, "https://gw.example.com:8443" + DefaultPath},
		{"trusted proxy, bad values ignored", "", "10.1.2.3:5000", "gopher", "a b/c", trusted, "http://svc.local" + DefaultPath},
		{"public URL wins", "https://pub.example.com/", "10.1.2.3:5000", "http", "gw.example.com", trusted, "https://pub.example.com" + DefaultPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t, &recorder{}, func(o *Options) { o.PublicURL, o.TrustedProxies = tc.public, tc.trusted })
			r := httptest.NewRequest("GET", DefaultPath+"?disco", nil)
			r.Host, r.RemoteAddr = "svc.local", tc.remote
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
				r.Header.Set("X-Forwarded-Host", tc.host)
			}
			if got := h.location(r); got != tc.want {
				t.Errorf("location() = %q, want %q", got, tc.want)
			}
			w := testutil.Serve(t, h, r)
			if w.Code != 200 || !strings.Contains(w.Body.String(), `<contractRef ref="`+tc.want+`?wsdl"`) {
				t.Errorf("GET ?disco = %d %s, want the DISCO document with %s", w.Code, w.Body, tc.want)
			}
			if err := wellFormed(w.Body.Bytes()); err != nil {
				t.Errorf("DISCO document is not well-formed: %v", err)
			}
		})
	}
}

// TestClaims checks which paths the service takes from a router's fallback.
func TestClaims(t *testing.T) {
	c := SSP7Contract()
	for path, want := range map[string]bool{
		"/Workflow/WebService/WorkflowService.asmx":          true,
		"/Workflow/Webservice/WorkflowService.asmx":          true,
		"/WORKFLOW/WEBSERVICE/WORKFLOWSERVICE.ASMX":          true,
		"/workflow/webservice/Other.asmx":                    true,
		"/Workflow/WebService/WorkflowService.asmx/Op":       true,
		"/Workflow/WebServic":                                false,
		"/Workflow/":                                         false,
		"/v1/orders":                                         false,
		"/partners/ssp7/Workflow/WebService/WorkflowService": false,
	} {
		if got := c.Claims(path); got != want {
			t.Errorf("Claims(%q) = %v, want %v", path, got, want)
		}
	}
	root := Contract{Service: "S", Path: "/S.asmx", Operations: c.Operations}
	if root.Claims("/other") || !root.Claims("/s.ASMX") {
		t.Errorf("a service at the root claims only its own path")
	}
}
