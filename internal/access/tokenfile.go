package access

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnsureTokenFile returns the admin token kept in path, creating the file
// (mode 0600, its folder 0700) with a fresh random token when it does not
// exist. created says whether this call made it. A file that others may read
// is refused, so a token never stays exposed.
func EnsureTokenFile(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		fi, serr := os.Stat(path)
		if serr != nil {
			return "", false, fmt.Errorf("access: token file: %w", serr)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", false, fmt.Errorf("access: token file %s is readable by others (mode %04o); chmod 600 it", path, fi.Mode().Perm())
		}
		t := strings.TrimSpace(string(b))
		if len(t) < 16 {
			return "", false, fmt.Errorf("access: token file %s holds no token of at least 16 characters", path)
		}
		return t, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("access: token file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("access: token file folder: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("access: random: %w", err)
	}
	token = "sogadm_" + base64.RawURLEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
			return EnsureTokenFile(path)
		}
		return "", false, fmt.Errorf("access: token file: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("access: token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("access: token file: %w", err)
	}
	return token, true, nil
}
