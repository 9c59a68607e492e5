package eventstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syncedStream is one stream's newest message block, held open, and how much of it is synced.
type syncedStream struct {
	name    string
	dir     *os.Root  // the stream's directory
	stamp   time.Time // its modification time when its own files were last synced
	last    int       // index of the newest block; 0 before the stream has one
	f       *os.File  // the newest block, open
	synced  int64     // its size at the last fsync
	pending int64     // its size when this round found it grown

	// The msgs directory as last synced: its modification time, and which file each block's
	// name held then. The server rewrites an older block (a compaction) into a new file,
	// unsynced, and renames it over the old one; a rename made durable before the new file's
	// data would leave the block's name on an empty file.
	msgsStamp time.Time
	blocks    map[int]fileID
}

// openSyncedStream finds the stream's newest block and fsyncs everything in the stream's
// directory, so that a stream created since the last round is on disk whole.
func openSyncedStream(root *os.Root, name string) (*syncedStream, error) {
	dir, err := root.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("fsync the log's stream %s: %w", name, err)
	}
	st := &syncedStream{name: name, dir: dir, blocks: map[int]fileID{}}
	if fi, err := dir.Stat("msgs"); err == nil {
		st.msgsStamp = settled(fi.ModTime()) // before the walk: a change during it is seen next round
	}
	fi, err := dir.Stat(".")
	if err == nil {
		st.stamp = settled(fi.ModTime())
		err = fs.WalkDir(dir.FS(), ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed while walked (a compaction's temporary file)
				}
				return err
			}
			if i, ok := blockIndex(d.Name()); ok && filepath.Dir(path) == "msgs" {
				st.last = max(st.last, i)
				if id, ok := idOf(d); ok {
					st.blocks[i] = id
				}
			}
			if d.Type()&fs.ModeSymlink != 0 { // a batch stage, in memory
				return nil
			}
			if err := syncFile(dir, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	if err == nil && st.last > 0 {
		if st.f, err = dir.Open(blockPath(st.last)); err == nil {
			if fi, err := st.f.Stat(); err == nil {
				st.synced = fi.Size() // synced by the walk
			}
		}
	}
	if err != nil {
		st.close()
		return nil, fmt.Errorf("fsync the log's stream %s: %w", name, err)
	}
	return st, nil
}

// sync fsyncs what the stream wrote since the last round, its own files if they changed and any
// block that stopped being the newest, and returns the newest block's size if it grew (for
// the round to fsync), else -1.
func (st *syncedStream) sync(root *os.Root) (int64, error) {
	if err := st.syncMeta(); err != nil {
		return -1, err
	}
	added := false
	for {
		f, err := st.dir.Open(blockPath(st.last + 1))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return -1, fmt.Errorf("fsync the log: %w", err)
		}
		if st.f != nil {
			// The block stopped growing when its successor was made; sync what it last got.
			err := st.f.Sync()
			st.f.Close()
			if err != nil {
				f.Close()
				return -1, &fsyncError{err}
			}
		}
		st.f, st.last, st.synced, added = f, st.last+1, -1, true
	}
	if err := st.syncBlocks(added); err != nil {
		return -1, err
	}
	if st.f == nil {
		return -1, nil
	}
	fi, err := st.f.Stat()
	if err != nil {
		return -1, fmt.Errorf("fsync the log: %w", err)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
		// The block was removed (its messages aged out, or the stream was purged): find the
		// stream's blocks again.
		fresh, err := openSyncedStream(root, st.name)
		if err != nil {
			return -1, err
		}
		if fresh.last < st.last {
			// Only older blocks are left; the next block the server makes is st.last + 1.
			if fresh.f != nil {
				fresh.f.Close()
				fresh.f = nil
			}
			fresh.last, fresh.synced = st.last, 0
		}
		st.close()
		*st = *fresh
		return -1, nil
	}
	if fi.Size() == st.synced {
		// Unchanged since the last fsync: the file system makes a page part of the file's size
		// only once it holds the page's bytes, so a write still under way then grows it later.
		return -1, nil
	}
	return fi.Size(), nil
}

// syncBlocks, when the msgs directory changed since the last round (or added says a block was
// added), fsyncs every block now under a name that held another file at the last look
// (a block the server rewrote and renamed into place), and then the directory, so that no name
// becomes durable before the data it names. A rename that lands between the listing and the
// directory's fsync is made durable by that fsync: the directory is listed again after it, and
// what changed meanwhile is fsynced before the round ends.
func (st *syncedStream) syncBlocks(added bool) error {
	fi, err := st.dir.Stat("msgs")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no block yet
	}
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if !added && fi.ModTime().Equal(st.msgsStamp) {
		return nil
	}
	for range 4 {
		changed, err := st.syncRenamedBlocks()
		if err != nil {
			return err
		}
		if !changed && !added {
			break
		}
		if err := syncFile(st.dir, "msgs"); err != nil {
			return err
		}
		added = false
	}
	st.msgsStamp = settled(fi.ModTime())
	return nil
}

// syncRenamedBlocks lists the msgs directory, fsyncs each block whose name holds a file other
// than the one last seen there, and says whether the listing differed from the last.
func (st *syncedStream) syncRenamedBlocks() (bool, error) {
	entries, err := fs.ReadDir(st.dir.FS(), "msgs")
	if err != nil {
		return false, fmt.Errorf("fsync the log: %w", err)
	}
	changed := false
	seen := map[int]bool{}
	for _, e := range entries {
		i, ok := blockIndex(e.Name())
		if !ok {
			continue
		}
		id, ok := idOf(e)
		if !ok {
			continue // removed since the listing
		}
		seen[i] = true
		known, ok := st.blocks[i]
		st.blocks[i] = id
		// The newest block grows between looks (the round fsyncs it): only another file under
		// its name is a change.
		if ok && (known == id || i == st.last && known.ino == id.ino) {
			continue
		}
		changed = true
		if err := syncFile(st.dir, "msgs/"+e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	for i := range st.blocks {
		if !seen[i] {
			delete(st.blocks, i)
			changed = true
		}
	}
	return changed, nil
}

// fileID tells one file under a name from another: the inode number alone does not, as the
// file system gives a freed number to the next file it makes (a block compacted twice can come
// back to its first number), but a rewritten file has, besides, its own size or time.
type fileID struct {
	ino   uint64
	size  int64
	mtime time.Time
}

// idOf is the file a directory entry names, or false when it is gone.
func idOf(e fs.DirEntry) (fileID, bool) {
	info, err := e.Info()
	if err != nil {
		return fileID{}, false
	}
	sys, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{ino: sys.Ino, size: info.Size(), mtime: info.ModTime()}, true
}

// racyWindow is how recent a directory's modification time may be before a round stops trusting
// it: file systems stamp times from a clock that ticks every few milliseconds, so a change in
// the same tick as the round's look leaves the time as it was.
const racyWindow = 50 * time.Millisecond

// settled is a directory's modification time to compare the next round's with: the time itself,
// or, when it is within racyWindow of now, the zero time, so that the next round looks again.
func settled(mtime time.Time) time.Time {
	if time.Since(mtime) < racyWindow {
		return time.Time{}
	}
	return mtime
}

// syncMeta fsyncs the stream's own files when its directory changed: the server rewrites its
// configuration (meta.inf, meta.sum) through a temporary file renamed into place, unsynced,
// and a stream whose configuration is lost is not loaded at all.
func (st *syncedStream) syncMeta() error {
	fi, err := st.dir.Stat(".")
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	if fi.ModTime().Equal(st.stamp) {
		return nil
	}
	entries, err := fs.ReadDir(st.dir.FS(), ".")
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // msgs is synced block by block; the consumers' directories are not the log
		}
		if err := syncFile(st.dir, e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := syncFile(st.dir, "."); err != nil {
		return err
	}
	st.stamp = settled(fi.ModTime())
	return nil
}

func (st *syncedStream) close() {
	if st.f != nil {
		st.f.Close()
		st.f = nil
	}
	st.dir.Close()
}

func blockPath(i int) string { return "msgs/" + strconv.Itoa(i) + ".blk" }

// blockIndex reads a message block's file name, "<index>.blk".
func blockIndex(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".blk")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i > 0
}

// readDirNames lists the directories in dir.
func readDirNames(root *os.Root, dir string) ([]string, error) {
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// fsyncError is a failed fsync: what it was to write may be lost even if the next succeeds.
type fsyncError struct{ err error }

func (e *fsyncError) Error() string { return "fsync the log: " + e.err.Error() }
func (e *fsyncError) Unwrap() error { return e.err }

// syncFile fsyncs a file or directory: name in root, or the path name when root is nil. Only
// the fsync's own failure is an fsyncError.
func syncFile(root *os.Root, name string) error {
	var f *os.File
	var err error
	if root == nil {
		f, err = os.Open(name)
	} else {
		f, err = root.Open(name)
	}
	if err != nil {
		return fmt.Errorf("fsync the log: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return &fsyncError{fmt.Errorf("%s: %w", name, err)}
	}
	return nil
}
