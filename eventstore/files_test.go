package eventstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecureDir: a missing data directory is made 0700, one others can read is tightened (and
// says so), and a file where a directory should be is refused by name.
func TestSecureDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "new", "data")
	if tightened, err := SecureDir(fresh); err != nil || tightened {
		t.Fatalf("a new directory: tightened %t, %v", tightened, err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("a new directory is %v, want 0700", fi.Mode().Perm())
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if tightened, err := SecureDir(open); err != nil || !tightened {
		t.Fatalf("a 0755 directory: tightened %t, %v", tightened, err)
	}
	if fi, _ := os.Stat(open); fi.Mode().Perm() != 0o700 {
		t.Errorf("a 0755 directory is now %v, want 0700", fi.Mode().Perm())
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := SecureDir(file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a file as data directory: %v, want refused naming it", err)
	}
}
