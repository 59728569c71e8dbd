package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/access"
)

// adminToken returns the bootstrap admin token: access.admin_token
// (GATEWAY_ADMIN_TOKEN) when set, else the one kept in access.token_file,
// generated there (mode 0600) on first start. The log names the file, never
// the token.
func adminToken(cfg *configs.Config, log *slog.Logger) (string, error) {
	if t := cfg.Access.AdminToken.Reveal(); t != "" {
		return t, nil
	}
	tok, created, err := access.EnsureTokenFile(cfg.Access.TokenFile)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	path, _ := filepath.Abs(cfg.Access.TokenFile)
	msg := "GATEWAY_ADMIN_TOKEN is not set: the admin token for /v1 is in this file (readable by this user only)"
	if cfg.Redis.URL != "" {
		msg += "; set GATEWAY_ADMIN_TOKEN in production so every replica shares one"
	}
	log.Warn(msg, "path", path, "created", created)
	return tok, nil
}
