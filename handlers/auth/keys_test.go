package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aabendialog/aabendialog/handlers/auth"
)

// TestNATSPassword: the first start writes a random password (64 hexadecimal characters, mode
// 0600) and later starts read the same one; one written by hand may end in a newline; a short
// one is refused, naming the file.
func TestNATSPassword(t *testing.T) {
	dir := t.TempDir()
	path := auth.NATSPasswordFile(dir)
	pw, err := auth.LoadOrCreatePassword(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != 64 || strings.Trim(pw, "0123456789abcdef") != "" {
		t.Fatalf("password %q, want 64 hexadecimal characters", pw)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v, want mode 0600", fi, err)
	}
	if again, err := auth.LoadOrCreatePassword(path); err != nil || again != pw {
		t.Fatalf("second start read %q, %v; want the first password", again, err)
	}
	own := filepath.Join(dir, "own")
	os.WriteFile(own, []byte(strings.Repeat("x", 40)+"\n"), 0o600)
	if got, err := auth.LoadOrCreatePassword(own); err != nil || got != strings.Repeat("x", 40) {
		t.Fatalf("hand-written password: %q, %v", got, err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte(strings.Repeat("x", 31)+"\n"+strings.Repeat(" ", 10)), 0o600)
	if _, err := auth.LoadOrCreatePassword(short); err == nil || !strings.Contains(err.Error(), short) {
		t.Fatalf("short password: %v, want an error naming %s", err, short)
	}
}
