package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
)

// wired holds what wire started, to stop it.
type wired struct{ closers []func() }

func (w *wired) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// wire mounts the mapping-driven parts (partners, SOAP, mail, dispatch) on gw.
func wire(ctx context.Context, cfg *configs.Config, cfgPath string, log *slog.Logger, gw *gateway.Gateway, st *store.Store, in *intake.Service) (*wired, error) {
	return &wired{}, nil
}

func runMappings(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprint(stderr, usage)
	return 2
}
