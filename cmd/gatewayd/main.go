package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/audit"
	"github.com/equus/sogateway/internal/catalog"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  gatewayd [serve] [-config configs/gateway.yaml]
  gatewayd migrate history        (move order history written by older gateways beside the order)
  gatewayd config export [-o FILE] [-url URL]   (the live vendors and groups as YAML)
  gatewayd healthcheck            (GET /healthz on GATEWAY_ADDR; for container HEALTHCHECKs)
  gatewayd mappings validate [DIR]
  gatewayd mappings test [-update] [DIR]
  gatewayd mappings translate --partner P [--explain] [--out KIND] < input
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "mappings" {
		return runMappings(args[1:], stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "migrate" {
		return runMigrate(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "config" {
		return runConfig(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	cfgPath := fs.String("config", envOr("GATEWAY_CONFIG", "configs/gateway.yaml"), "config file (GATEWAY_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *cfgPath, stderr); err != nil {
		fmt.Fprintln(stderr, "gatewayd:", err)
		return 1
	}
	return 0
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	return slog.New(gateway.ContextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})})
}

func serve(ctx context.Context, cfgPath string, logw io.Writer) error {
	cfg, err := configs.LoadFile(cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(logw, cfg.Log.Level)
	slog.SetDefault(log)
	if addr := os.Getenv("GATEWAY_DEBUG_ADDR"); addr != "" {
		if err := serveDebug(ctx, addr, log); err != nil {
			return err
		}
	}
	rdb, closeRedis, err := openRedis(cfg.Redis.URL.Reveal(), *cfg.Redis.AutoPipeline, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	st := store.New(rdb, storeOptions(cfg))
	in := intake.New(st, &intake.Options{Logger: log})
	tok, err := adminToken(cfg, log)
	if err != nil {
		return err
	}
	ix := orderindex.New(rdb, &orderindex.Options{Prefix: cfg.Redis.Prefix})
	st.SetIndexer(ix)
	go repairIndexLoop(ctx, ix, st, log)
	cat := catalog.New(rdb, &catalog.Options{Prefix: cfg.Redis.Prefix, Logger: log})
	if err := seedCatalog(ctx, cat, cfgPath, log); err != nil {
		return err
	}
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: in, Embedded: cfg.Redis.URL == "", Logger: log, Catalog: cat, Index: ix,
		Access: access.NewKeys(rdb, &access.Options{Prefix: cfg.Redis.Prefix, AdminToken: tok}),
		Audit:  audit.New(rdb, &audit.Options{Prefix: cfg.Redis.Prefix})})
	rdb.AddHook(gw.Metrics().RedisHook())

	w, err := wire(ctx, cfg, log, gw, st, in)
	if err != nil {
		return err
	}
	defer w.close()

	go publishLoop(ctx, st, log)
	return gateway.Serve(ctx, cfg.Server, gw.Handler(), log, func(addr string) {
		log.Info("gateway listening", "addr", addr, "config", cfgPath)
	})
}

// publishLoop puts events left in the outbox (after a crash or a Redis error)
// on the stream.
func publishLoop(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := st.PublishPending(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("publishing pending events failed; will retry", "err", err)
			}
		}
	}
}

// healthcheck asks the local gateway's /healthz, for images without curl.
func healthcheck(stderr io.Writer) int {
	addr := envOr("GATEWAY_ADDR", ":8080")
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: status", resp.StatusCode)
		return 1
	}
	return 0
}
