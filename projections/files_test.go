package projections_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadModelFilesAreTheOwners: the read models hold names, agendas and follow-ups, so every
// file is 0600 (the database and its -wal and -shm) whatever the umask, and a directory or files
// an older version left readable by others are tightened.
func TestReadModelFilesAreTheOwners(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	e := newEnv(t)
	e.seed(3)
	e.caughtUp()
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(e.dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: the read-model directory is %v (%v), want 0700", when, fi.Mode().Perm(), err)
		}
		files, _ := filepath.Glob(filepath.Join(e.dir, "*"))
		sides := 0
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				continue // a -shm file may come and go
			}
			if strings.HasSuffix(f, "-wal") || strings.HasSuffix(f, "-shm") {
				sides++
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: %s is %v, want 0600", when, filepath.Base(f), fi.Mode().Perm())
			}
		}
		if sides == 0 {
			t.Errorf("%s: no -wal or -shm files to check among %v", when, files)
		}
	}
	check("new files")

	// As an older version left them.
	e.stop()
	files, _ := filepath.Glob(filepath.Join(e.dir, "*"))
	for _, f := range files {
		os.Chmod(f, 0o644)
	}
	os.Chmod(e.dir, 0o755)
	e.start()
	e.caughtUp()
	check("after reopening files left 0644 in a 0755 directory")
}
