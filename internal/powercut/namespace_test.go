package powercut_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Rule: fsync of a directory makes its names durable as they are; a new file named there that
// was not fsynced itself is durable empty. Its parent directory, new too, becomes durable with it.
func TestDirectoryFsyncMakesNewNamesDurable(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	dir := filepath.Join(mnt, "d", "e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "named"), "data never synced")
	writeSync(t, filepath.Join(dir, "synced"), "synced")
	syncDir(t, dir)
	write(t, filepath.Join(dir, "later"), "after the directory's fsync")
	if err := os.Mkdir(filepath.Join(mnt, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(backing, "d", "e", "named"), "")
	wantFile(t, filepath.Join(backing, "d", "e", "synced"), "synced")
	wantAbsent(t, filepath.Join(backing, "d", "e", "later"))
	wantAbsent(t, filepath.Join(backing, "other"))
}

// A fsynced file in a new directory survives with that directory, no directory fsync needed.
func TestFsyncedFileInNewDirectorySurvives(t *testing.T) {
	f, backing, mnt := mountTemp(t, nil)
	dir := filepath.Join(mnt, "streams", "s", "msgs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSync(t, filepath.Join(dir, "1.blk"), "block")
	write(t, filepath.Join(dir, "index.db"), "index")
	cut(t, f)
	wantFile(t, filepath.Join(backing, "streams", "s", "msgs", "1.blk"), "block")
	wantAbsent(t, filepath.Join(backing, "streams", "s", "msgs", "index.db"))
}

// Rename and unlink become durable with the directory's fsync.
func TestRenameAndUnlinkAreDurableWithTheDirectory(t *testing.T) {
	seed := func(backing string) {
		write(t, filepath.Join(backing, "meta"), "v1")
		write(t, filepath.Join(backing, "gone"), "gone")
		write(t, filepath.Join(backing, "x"), "x")
		write(t, filepath.Join(backing, "y"), "y")
	}
	replace := func(t *testing.T, mnt string) {
		writeSync(t, filepath.Join(mnt, "meta.tmp"), "v2")
		if err := os.Rename(filepath.Join(mnt, "meta.tmp"), filepath.Join(mnt, "meta")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(mnt, "gone")); err != nil {
			t.Fatal(err)
		}
		// Swap x and y through a third name.
		for _, mv := range [][2]string{{"x", "t"}, {"y", "x"}, {"t", "y"}} {
			if err := os.Rename(filepath.Join(mnt, mv[0]), filepath.Join(mnt, mv[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("without the directory's fsync", func(t *testing.T) {
		f, backing, mnt := mountTemp(t, seed)
		replace(t, mnt)
		cut(t, f)
		wantFile(t, filepath.Join(backing, "meta"), "v1")
		wantFile(t, filepath.Join(backing, "meta.tmp"), "v2")
		wantFile(t, filepath.Join(backing, "gone"), "gone")
		wantFile(t, filepath.Join(backing, "x"), "x")
		wantFile(t, filepath.Join(backing, "y"), "y")
	})
	t.Run("with it", func(t *testing.T) {
		f, backing, mnt := mountTemp(t, seed)
		replace(t, mnt)
		syncDir(t, mnt)
		cut(t, f)
		wantFile(t, filepath.Join(backing, "meta"), "v2")
		wantAbsent(t, filepath.Join(backing, "meta.tmp"))
		wantAbsent(t, filepath.Join(backing, "gone"))
		wantFile(t, filepath.Join(backing, "x"), "y")
		wantFile(t, filepath.Join(backing, "y"), "x")
		entries, err := os.ReadDir(backing)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 {
			t.Fatalf("after the cut the backing directory holds %d entries, want meta, x and y", len(entries))
		}
	})
}

// An unlinked file keeps its durable name until its directory is fsynced, or until it is itself
// fsynced through a descriptor still open, which commits its removal.
func TestUnlinkedOpenFile(t *testing.T) {
	seed := func(backing string) { write(t, filepath.Join(backing, "f"), "durable") }
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%v", fsync), func(t *testing.T) {
			f, backing, mnt := mountTemp(t, seed)
			file, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			if err := os.Remove(filepath.Join(mnt, "f")); err != nil {
				t.Fatal(err)
			}
			if _, err := file.WriteAt([]byte("DURABLE"), 0); err != nil {
				t.Fatal(err)
			}
			if fsync {
				if err := file.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			cut(t, f)
			if fsync {
				wantAbsent(t, filepath.Join(backing, "f"))
			} else {
				wantFile(t, filepath.Join(backing, "f"), "durable")
			}
		})
	}
}

// A directory renamed into another keeps its durable files when the destination is fsynced.
func TestRenamedDirectoryKeepsItsDurableFiles(t *testing.T) {
	f, backing, mnt := mountTemp(t, func(backing string) {
		if err := os.MkdirAll(filepath.Join(backing, "a", "old"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(backing, "a", "old", "1.blk"), "block")
	})
	if err := os.Mkdir(filepath.Join(mnt, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(mnt, "a", "old"), filepath.Join(mnt, "b", "new")); err != nil {
		t.Fatal(err)
	}
	syncDir(t, filepath.Join(mnt, "b"))
	cut(t, f)
	wantFile(t, filepath.Join(backing, "b", "new", "1.blk"), "block")
	wantAbsent(t, filepath.Join(backing, "a", "old"))
}
