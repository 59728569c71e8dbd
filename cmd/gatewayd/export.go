package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/access"
)

// runConfig serves `gatewayd config export [-o FILE] [-url URL]`: it asks the
// running gateway (GATEWAY_ADDR, or -url) for its live vendors and groups and
// writes them as the YAML sections of configs/gateway.yaml, for review and
// version control. The admin token comes from GATEWAY_ADMIN_TOKEN or the
// token file (GATEWAY_ADMIN_TOKEN_FILE, default data/admin-token).
func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, "usage: gatewayd config export [-o FILE] [-url http://host:port]\n")
		return 2
	}
	fs := flag.NewFlagSet("config export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write to FILE instead of standard output")
	addr := envOr("GATEWAY_ADDR", ":8080")
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	base := fs.String("url", "http://"+addr, "the running gateway")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	tok := os.Getenv("GATEWAY_ADMIN_TOKEN")
	if tok == "" {
		t, created, err := access.EnsureTokenFile(envOr("GATEWAY_ADMIN_TOKEN_FILE", "data/admin-token"))
		if err != nil || created {
			fmt.Fprintln(stderr, "config export: no admin token: set GATEWAY_ADMIN_TOKEN or run where the gateway wrote data/admin-token")
			return 1
		}
		tok = t
	}
	req, _ := http.NewRequest("GET", strings.TrimRight(*base, "/")+"/v1/integrations/export", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "config export:", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "config export: the gateway answered %d: %s\n", resp.StatusCode, body)
		return 1
	}
	if *out == "" {
		_, _ = stdout.Write(body)
		return 0
	}
	if err := os.WriteFile(*out, body, 0o644); err != nil {
		fmt.Fprintln(stderr, "config export:", err)
		return 1
	}
	return 0
}
