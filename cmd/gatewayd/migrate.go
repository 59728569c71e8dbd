package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/store"
)

// runMigrate runs `gatewayd migrate history [-config FILE]`: it moves the
// messages and attachments of orders written by gateways before the history
// split out of the order document into their own lists. Reads migrate an
// order on the fly too; the command does all of them at once, and a second
// run finds nothing to do.
func runMigrate(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "history" {
		fmt.Fprint(stderr, "usage: gatewayd migrate history [-config configs/gateway.yaml]\n")
		return 2
	}
	fs := flag.NewFlagSet("migrate history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", envOr("GATEWAY_CONFIG", "configs/gateway.yaml"), "config file (GATEWAY_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := configs.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "gatewayd migrate:", err)
		return 1
	}
	if cfg.Redis.URL == "" {
		fmt.Fprintln(stderr, "gatewayd migrate: REDIS_URL is not set; the embedded Redis holds nothing to migrate")
		return 1
	}
	rdb, closeRedis, err := openRedis(cfg.Redis.URL.Reveal(), *cfg.Redis.AutoPipeline, newLogger(stderr, cfg.Log.Level))
	if err != nil {
		fmt.Fprintln(stderr, "gatewayd migrate:", err)
		return 1
	}
	defer closeRedis()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	scanned, migrated, err := store.New(rdb, storeOptions(cfg)).MigrateAll(ctx)
	fmt.Fprintf(stdout, "history: %d orders scanned, %d migrated\n", scanned, migrated)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "gatewayd migrate:", err)
		return 1
	}
	return 0
}

// storeOptions are the store's options from the config.
func storeOptions(cfg *configs.Config) *store.Options {
	return &store.Options{Prefix: cfg.Redis.Prefix, StreamMaxLen: cfg.Redis.StreamMaxLen, IdempotencyTTL: cfg.Redis.IdempotencyTTL,
		FenceTTL: cfg.Retention.Fences}
}
