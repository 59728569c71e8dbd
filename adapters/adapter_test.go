package adapters

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/equus/sogateway/internal/model"
)

func TestDirStore(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "o1"), 0o755)
	os.WriteFile(filepath.Join(dir, "o1", "a.txt"), []byte("hello"), 0o644)
	s := DirStore{Dir: dir}
	for _, p := range []string{"o1/a.txt", filepath.Join(dir, "o1", "a.txt")} {
		r, err := s.Open(context.Background(), model.Attachment{StoredAt: p})
		if err != nil {
			t.Fatalf("Open(%q) = %v", p, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "hello" {
			t.Errorf("Open(%q) read %q", p, b)
		}
	}
	for _, p := range []string{"", "../etc/passwd", "/etc/passwd", "o1/missing", "o1/../../x", dir + "/../x"} {
		if _, err := s.Open(context.Background(), model.Attachment{StoredAt: p}); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", p, err)
		}
	}
}
