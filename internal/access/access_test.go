package access_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/testutil"
)

func TestEnsureTokenFileIsPrivateAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "admin-token")
	tok, created, err := access.EnsureTokenFile(path)
	testutil.Must(t, err)
	if !created || len(tok) < 32 {
		t.Fatalf("EnsureTokenFile = %q, %v, want a fresh long token", tok, created)
	}
	fi, err := os.Stat(path)
	testutil.Must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode = %04o, want 0600", fi.Mode().Perm())
	}
	again, created, err := access.EnsureTokenFile(path)
	testutil.Must(t, err)
	if created || again != tok {
		t.Fatalf("second EnsureTokenFile = %q, %v, want the same token, not created", again, created)
	}
	testutil.Must(t, os.Chmod(path, 0o644))
	if _, _, err := access.EnsureTokenFile(path); err == nil {
		t.Fatal("EnsureTokenFile accepted a token file others can read")
	}
}

func TestVerify(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	ks := access.NewKeys(rdb, &access.Options{AdminToken: "the-admin-token-123456"})
	ctx := context.Background()
	p, err := ks.Verify(ctx, "the-admin-token-123456")
	if err != nil || !p.Can(access.ScopeAdmin) || p.Bound() {
		t.Fatalf("Verify(admin token) = %+v, %v, want an unbound admin", p, err)
	}
	k, tok, err := ks.Create(ctx, access.NewKey{Name: "sync", Scopes: []access.Scope{access.ScopeWrite}, Vendor: "acme"}, "test")
	testutil.Must(t, err)
	p, err = ks.Verify(ctx, tok)
	if err != nil || p.KeyID != k.ID || !p.Can(access.ScopeRead) || !p.Can(access.ScopeWrite) || p.Can(access.ScopeAdmin) || p.Vendor != "acme" {
		t.Fatalf("Verify(key) = %+v, %v, want write (so read, not admin) bound to vendor acme", p, err)
	}
	for _, bad := range []string{"", "the-admin-token-12345", tok[:len(tok)-1] + "x", "sogk_" + k.ID + "_", "sogk_zz", tok + tok} {
		if _, err := ks.Verify(ctx, bad); !errors.Is(err, access.ErrUnauthenticated) {
			t.Errorf("Verify(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}
	testutil.Must(t, ks.Revoke(ctx, k.ID))
	if _, err := ks.Verify(ctx, tok); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("Verify(revoked) = %v, want ErrUnauthenticated", err)
	}
	none := access.NewKeys(rdb, nil)
	if _, err := none.Verify(ctx, "the-admin-token-123456"); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("Verify without an admin token configured = %v, want ErrUnauthenticated", err)
	}
}
