package powercut

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// toEnd is the end of a dirty window that reaches the end of the file, whatever its size.
const toEnd = math.MaxInt64

// stagingName is where a directory's fsync parks entries of B while it moves them; it exists
// only while the lock is held, so B never shows it after a cut.
const stagingName = ".powercut-staging"

// ident is one inode of the mount. Its durable entry is path in B (when inB); lo and hi bound the
// bytes of V that may differ from its durable content.
type ident struct {
	dir    bool
	linked bool // still named in V
	inB    bool
	path   string // relative to B; "" is the root
	lo, hi int64
}

func (id *ident) markAll()            { id.lo, id.hi = 0, toEnd }
func (id *ident) clean()              { id.lo, id.hi = toEnd, 0 }
func (id *ident) mark(off, end int64) { id.lo, id.hi = min(id.lo, off), max(id.hi, end) }

// vPath and bPath turn a path relative to the root into one in V or B.
func (f *FS) vPath(rel string) string { return filepath.Join(f.volatile, rel) }
func (f *FS) bPath(rel string) string { return filepath.Join(f.backing, rel) }

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func parentOf(rel string) string {
	d := filepath.Dir(rel)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

func inoOf(path string) (uint64, bool, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return 0, false, err
	}
	return st.Ino, st.Mode&syscall.S_IFMT == syscall.S_IFDIR, nil
}

// identAt returns the inode named rel in V. f.mu must be held.
func (f *FS) identAt(rel string) (*ident, error) {
	ino, dir, err := inoOf(f.vPath(rel))
	if err != nil {
		return nil, err
	}
	if id := f.byIno[ino]; id != nil {
		return id, nil
	}
	id := &ident{dir: dir, linked: true}
	id.markAll()
	f.byIno[ino] = id
	return id, nil
}

// created records that rel was just created in V, so it has nothing durable yet. f.mu must be
// held.
func (f *FS) created(rel string) (*ident, error) {
	ino, dir, err := inoOf(f.vPath(rel))
	if err != nil {
		return nil, err
	}
	id := &ident{dir: dir, linked: true}
	id.markAll()
	f.byIno[ino] = id
	return id, nil
}

// unlinking returns the inode named rel in V before it loses that name (nil if there is none);
// unlinked forgets it once it has. f.mu must be held.
func (f *FS) unlinking(rel string) (uint64, *ident) {
	ino, _, err := inoOf(f.vPath(rel))
	if err != nil {
		return 0, nil
	}
	return ino, f.byIno[ino]
}

func (f *FS) unlinked(ino uint64, id *ident) {
	if id == nil {
		return
	}
	if f.byIno[ino] == id {
		delete(f.byIno, ino)
	}
	id.linked = false
}

// removeB removes the durable entry at rel and everything under it. f.mu must be held.
func (f *FS) removeB(rel string) error {
	for p, id := range f.byPath {
		if p == rel || strings.HasPrefix(p, rel+"/") {
			id.inB = false
			id.markAll()
			delete(f.byPath, p)
		}
	}
	return os.RemoveAll(f.bPath(rel))
}

// moveB renames the durable entry from to to, with everything under it. f.mu must be held.
func (f *FS) moveB(from, to string) error {
	if err := os.Rename(f.bPath(from), f.bPath(to)); err != nil {
		return err
	}
	moved := map[string]*ident{}
	for p, id := range f.byPath {
		if p == from || strings.HasPrefix(p, from+"/") {
			moved[to+p[len(from):]] = id
			delete(f.byPath, p)
		}
	}
	for p, id := range moved {
		id.path = p
		f.byPath[p] = id
	}
	return nil
}

// createB gives id a new, empty durable entry at target, which must be free. f.mu must be held.
func (f *FS) createB(id *ident, target string) error {
	if id.dir {
		if err := os.Mkdir(f.bPath(target), 0o755); err != nil {
			return err
		}
	} else {
		fl, err := os.OpenFile(f.bPath(target), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if err := fl.Close(); err != nil {
			return err
		}
		id.markAll()
	}
	id.inB, id.path = true, target
	f.byPath[target] = id
	return nil
}

// ensureEntry makes the entry of id, named rel in V, durable (with its parents) if it is not.
// f.mu must be held.
func (f *FS) ensureEntry(id *ident, rel string) error {
	if id.inB || rel == "" {
		return nil
	}
	prel := parentOf(rel)
	parent, err := f.identAt(prel)
	if err != nil {
		return err
	}
	if err := f.ensureEntry(parent, prel); err != nil {
		return err
	}
	target := join(parent.path, filepath.Base(rel))
	if f.byPath[target] != nil {
		if err := f.removeB(target); err != nil {
			return err
		}
	}
	return f.createB(id, target)
}

// syncFile is the fsync of the file id, named rel in V. f.mu must be held.
func (f *FS) syncFile(id *ident, rel string) error {
	if !id.linked {
		// Its fsync commits its removal; its data has nowhere to go.
		if id.inB {
			return f.removeB(id.path)
		}
		return nil
	}
	if err := f.ensureEntry(id, rel); err != nil {
		return err
	}
	src, err := os.Open(f.vPath(rel))
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.OpenFile(f.bPath(id.path), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	size := st.Size()
	if hi := min(id.hi, size); id.lo < hi {
		w := io.NewOffsetWriter(dst, id.lo)
		if _, err := io.Copy(w, io.NewSectionReader(src, id.lo, hi-id.lo)); err != nil {
			dst.Close()
			return err
		}
	}
	if err := dst.Truncate(size); err != nil {
		dst.Close()
		return err
	}
	id.clean()
	return dst.Close()
}

// syncDir is the fsync of the directory id, named rel in V: B's copy of it gets the same names
// for the same inodes. f.mu must be held.
func (f *FS) syncDir(id *ident, rel string) error {
	if err := f.ensureEntry(id, rel); err != nil {
		return err
	}
	entries, err := os.ReadDir(f.vPath(rel))
	if err != nil {
		return err
	}
	want := map[string]*ident{}
	for _, e := range entries {
		c, err := f.identAt(join(rel, e.Name()))
		if err != nil {
			return err
		}
		want[e.Name()] = c
	}

	// Park the entries that are durable under another name, so that names can be swapped.
	staged := map[*ident]string{}
	staging := ""
	for name, c := range want {
		target := join(id.path, name)
		if !c.inB || c.path == target {
			continue
		}
		if staging == "" {
			staging = stagingName
			if err := os.Mkdir(f.bPath(staging), 0o755); err != nil {
				return err
			}
		}
		tmp := join(staging, fmt.Sprint(len(staged)))
		if err := f.moveB(c.path, tmp); err != nil {
			return err
		}
		staged[c] = tmp
	}

	// Remove what is no longer named here.
	have, err := os.ReadDir(f.bPath(id.path))
	if err != nil {
		return err
	}
	for _, e := range have {
		p := join(id.path, e.Name())
		if p == staging {
			continue
		}
		if c := want[e.Name()]; c != nil && c == f.byPath[p] {
			continue
		}
		if err := f.removeB(p); err != nil {
			return err
		}
	}

	// Name what is named here now.
	for name, c := range want {
		target := join(id.path, name)
		switch tmp, ok := staged[c]; {
		case ok:
			err = f.moveB(tmp, target)
		case c.inB:
		default:
			err = f.createB(c, target)
		}
		if err != nil {
			return err
		}
	}
	if staging != "" {
		return os.Remove(f.bPath(staging))
	}
	return nil
}

// copyTree copies the directories and regular files under src into dst, which exists.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(to, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, to)
		default:
			return fmt.Errorf("copy %s: not a regular file or directory", p)
		}
	})
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// emptyDir removes everything inside dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// index records that V and B hold the same tree: every inode of V is durable under its name
// and clean. f.mu must be held.
func (f *FS) index() error {
	for _, id := range f.byPath {
		id.inB = false
		id.markAll()
	}
	f.byPath = map[string]*ident{}
	return filepath.WalkDir(f.volatile, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(f.volatile, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		id, err := f.identAt(rel)
		if err != nil {
			return err
		}
		id.inB, id.path = true, rel
		id.clean()
		f.byPath[rel] = id
		return nil
	})
}
