package powercut_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aabendialog/aabendialog/internal/powercut"
)

// mountTemp mounts a fresh power-cut file system over an empty backing directory, or one that
// seed fills, and returns it with the backing directory and the mount point.
func mountTemp(t *testing.T, seed func(backing string)) (*powercut.FS, string, string) {
	t.Helper()
	powercut.Require(t)
	backing, mnt := t.TempDir(), t.TempDir()
	if seed != nil {
		seed(backing)
	}
	return powercut.Mount(t, backing, mnt), backing, mnt
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSync creates or truncates path, writes data and fsyncs it.
func writeSync(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func cut(t *testing.T, f *powercut.FS) {
	t.Helper()
	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
}

// wantFile checks path's content; wantAbsent that it does not exist.
func wantFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("after the cut: %v", err)
	}
	if string(got) != want {
		t.Fatalf("after the cut %s holds %q, want %q", filepath.Base(path), got, want)
	}
}

func wantAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after the cut %s: %v, want it absent", filepath.Base(path), err)
	}
}

func mounted(t *testing.T, dir string) bool {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if fields := strings.Fields(line); len(fields) > 4 && fields[4] == dir {
			return true
		}
	}
	return false
}

func TestFsyncedFileSurvivesAndUnsyncedFileIsGone(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	writeSync(t, filepath.Join(mnt, "synced"), "A")
	write(t, filepath.Join(mnt, "unsynced"), "B")
	if got, _ := os.ReadFile(filepath.Join(mnt, "unsynced")); string(got) != "B" {
		t.Fatalf("the mount reads %q before the cut, want %q", got, "B")
	}
	if _, err := os.Stat(filepath.Join(backing, "unsynced")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an unsynced new file reached the backing directory before the cut: %v", err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "synced"), "A")
	wantAbsent(t, filepath.Join(backing, "unsynced"))
	if mounted(t, mnt) {
		t.Fatal("still mounted after the cut")
	}
}

func TestUnsyncedOverwriteKeepsTheOldContent(t *testing.T) {
	f, backing, mnt := mountTemp(t, func(backing string) {
		write(t, filepath.Join(backing, "old"), "old content")
	})
	wantFile(t, filepath.Join(mnt, "old"), "old content")
	write(t, filepath.Join(mnt, "old"), "new")
	wantFile(t, filepath.Join(mnt, "old"), "new")
	cut(t, f)
	wantFile(t, filepath.Join(backing, "old"), "old content")
}

func TestAppendAfterFsyncIsLost(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	file, err := os.OpenFile(filepath.Join(mnt, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString("A"); err != nil {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteString("B"); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(mnt, "log"), "AB")
	cut(t, f)
	wantFile(t, filepath.Join(backing, "log"), "A")
}

// A truncation after an fsync is undone by the cut; one before it is kept.
func TestTruncateIsDurableOnlyWithFsync(t *testing.T) {
	f, backing, mnt := mountTemp(t, func(backing string) {
		write(t, filepath.Join(backing, "a"), "0123456789")
		write(t, filepath.Join(backing, "b"), "0123456789")
	})
	if err := os.Truncate(filepath.Join(mnt, "a"), 4); err != nil {
		t.Fatal(err)
	}
	b, err := os.OpenFile(filepath.Join(mnt, "b"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if err := b.Truncate(6); err != nil { // grows with zeros
		t.Fatal(err)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "a"), "0123456789")
	wantFile(t, filepath.Join(backing, "b"), "01\x00\x00\x00\x00")
}

// The durability scheme relies on this: an fsync through a descriptor of the service's own makes
// durable what the server wrote through another descriptor of the same file.
func TestFsyncThroughAnotherDescriptorMakesTheFileDurable(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	path := filepath.Join(mnt, "blk")
	writer, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.WriteString("acknowledged"); err != nil {
		t.Fatal(err)
	}
	syncer, err := os.Open(path) // independently opened, read-only
	if err != nil {
		t.Fatal(err)
	}
	defer syncer.Close()
	before := f.Fsyncs()
	if err := syncer.Sync(); err != nil {
		t.Fatal(err)
	}
	if f.Fsyncs() != before+1 {
		t.Fatalf("fsync of the second descriptor: %d fsyncs reached the file system, want 1", f.Fsyncs()-before)
	}
	if _, err := writer.WriteString(" and more"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Fdatasync(int(syncer.Fd())); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.WriteString(", lost"); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "blk"), "acknowledged and more")
}

// A write through a descriptor opened with O_SYNC is durable when it returns.
func TestOSyncWriteIsDurable(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	file, err := os.OpenFile(filepath.Join(mnt, "meta"), os.O_CREATE|os.O_WRONLY|os.O_SYNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString("meta"); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "meta"), "meta")
}

// After the cut a descriptor still open fails, and nothing it does reaches the durable state.
func TestCutFailsOpenDescriptors(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	file, err := os.Create(filepath.Join(mnt, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString("synced"); err != nil {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	if _, err := file.WriteString(" after"); err == nil {
		t.Fatal("a write after the cut succeeded")
	}
	if err := file.Sync(); err == nil {
		t.Fatal("an fsync after the cut succeeded")
	}
	wantFile(t, filepath.Join(backing, "open"), "synced")
	if mounted(t, mnt) {
		t.Fatal("still mounted after the cut")
	}
}

func TestCloseMakesEverythingDurable(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	if err := os.MkdirAll(filepath.Join(mnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mnt, "d", "f"), "never synced")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(backing, "d", "f"), "never synced")
	if mounted(t, mnt) {
		t.Fatal("still mounted after close")
	}
}

// A second mount of the backing directory after a cut starts from what survived.
func TestMountAgainAfterCut(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	writeSync(t, filepath.Join(mnt, "kept"), "kept")
	write(t, filepath.Join(mnt, "lost"), "lost")
	cut(t, f)
	again := powercut.Mount(t, backing, t.TempDir())
	_ = again
	entries, err := os.ReadDir(backing)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "kept" {
		t.Fatalf("after the cut the backing directory holds %v, want only kept", entries)
	}
	got, err := os.ReadFile(filepath.Join(backing, "kept"))
	if err != nil || !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("kept: %q, %v", got, err)
	}
}

// Writes into a file that was durable already reach the file system (no kernel cache or
// passthrough takes them elsewhere) and become durable with its fsync, no sooner.
func TestOverwriteOfADurableFileIsDurableWithItsFsync(t *testing.T) {
	f, backing, mnt := mountTemp(t, func(backing string) {
		write(t, filepath.Join(backing, "blk"), "0123456789")
	})
	file, err := os.OpenFile(filepath.Join(mnt, "blk"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteAt([]byte("ab"), 3); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(backing, "blk"), "0123456789") // not yet
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	wantFile(t, filepath.Join(backing, "blk"), "012ab56789")
	if _, err := file.WriteAt([]byte("zz"), 0); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "blk"), "012ab56789")
}
