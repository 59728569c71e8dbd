package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// AttachmentStore keeps attachment contents, addressed by their SHA-256.
type AttachmentStore interface {
	// Put stores content, whose SHA-256 (lowercase hex) is sha256, and returns
	// where it is kept. Putting the same digest again is a no-op that returns the
	// same place, so a mail processed twice stores its files once. The Intake
	// treats every error as transient and retries the mail later.
	Put(ctx context.Context, sha256 string, content io.Reader) (storedAt string, err error)
}

// ErrDigestMismatch is returned by DirStore.Put when the content's SHA-256 is
// not the digest it was put under, or the digest is not 64 hex characters.
var ErrDigestMismatch = errors.New("mail: attachment digest mismatch")

// DirStore is an AttachmentStore in a local directory: each file is kept at
// <Dir>/<first two hex digits>/<sha256>, written to a temporary file, synced
// and renamed into place.
type DirStore struct {
	// Dir is the root directory; it is created when missing.
	Dir string
}

var _ AttachmentStore = (*DirStore)(nil)

// Put implements AttachmentStore.
func (s *DirStore) Put(ctx context.Context, sum string, content io.Reader) (string, error) {
	if !validDigest(sum) {
		return "", fmt.Errorf("dirstore: %w: %q is not a SHA-256 hex digest", ErrDigestMismatch, sum)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir := filepath.Join(s.Dir, sum[:2])
	final := filepath.Join(dir, sum)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("dirstore: %w", err)
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return "", fmt.Errorf("dirstore: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), content); err != nil {
		f.Close()
		return "", fmt.Errorf("dirstore: write: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		f.Close()
		return "", fmt.Errorf("dirstore: %w: content is %s, put as %s", ErrDigestMismatch, got, sum)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("dirstore: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("dirstore: close: %w", err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return "", fmt.Errorf("dirstore: %w", err)
	}
	return final, nil
}

func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
