package powercut

import (
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// stopTimeout bounds how long Cut and Close wait for the FUSE server to stop after unmounting.
const stopTimeout = 10 * time.Second

// FS is a mounted power-cut file system.
type FS struct {
	backing, volatile, mountpoint string
	server                        *fuse.Server

	cut    atomic.Bool // no operation may change B any more
	fsyncs atomic.Int64

	mu     sync.Mutex
	byIno  map[uint64]*ident // V's inode number of every inode still named in V
	byPath map[string]*ident // every durable entry of B
	done   bool              // Cut or Close has run
}

// Mount mounts at mountpoint a file system whose durable state is the directory backing (see
// the package documentation for the model). The volatile copy lives in a temporary directory of
// tb. The mount is closed (made durable and unmounted) in tb's cleanup unless it was cut or closed
// before. Mount fails tb if FUSE cannot be used; see [Require].
func Mount(tb testing.TB, backing, mountpoint string) *FS {
	tb.Helper()
	f, err := mount(backing, tb.TempDir(), mountpoint)
	if err != nil {
		tb.Fatalf("powercut: %v", err)
	}
	tb.Cleanup(func() {
		if err := f.Close(); err != nil {
			tb.Errorf("powercut: close %s: %v", mountpoint, err)
		}
	})
	return f
}

func mount(backing, volatile, mountpoint string) (*FS, error) {
	f := &FS{
		backing:    backing,
		volatile:   volatile,
		mountpoint: mountpoint,
		byIno:      map[uint64]*ident{},
		byPath:     map[string]*ident{},
	}
	if err := copyTree(backing, volatile); err != nil {
		return nil, fmt.Errorf("copy %s: %w", backing, err)
	}
	f.mu.Lock()
	err := f.index()
	f.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", volatile, err)
	}
	root, err := fs.NewLoopbackRoot(volatile)
	if err != nil {
		return nil, err
	}
	lb := root.(*fs.LoopbackNode)
	rootNode := &node{LoopbackNode: lb, pfs: f}
	lb.RootData.RootNode = rootNode
	zero := time.Duration(0)
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMount:       true,
			DirectMountStrict: true, // there is no fusermount to fall back to
			FsName:            "powercut",
			Name:              "powercut",
			DisableXAttrs:     true,
			// Passthrough would let the kernel write V's files directly, and the writeback
			// cache would hold writes (and answer fsyncs) in the kernel.
			DisabledCapabilities: fuse.CAP_PASSTHROUGH | fuse.CAP_WRITEBACK_CACHE,
			Logger:               log.New(os.Stderr, "powercut: ", 0),
		},
		// Names can change only through this process, so the kernel may not keep stale entries;
		// no caching keeps it simple all the same.
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
	}
	server, err := fs.Mount(mountpoint, rootNode, opts)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	f.server = server
	return f, nil
}

func (f *FS) isCut() bool { return f.cut.Load() }

// Fsyncs is the number of fsyncs (and fdatasyncs) of files and directories that have reached the
// file system, counting the one after each write through a descriptor opened with O_SYNC.
func (f *FS) Fsyncs() int64 { return f.fsyncs.Load() }

// identOf returns the inode of n, open as fh if fh is not nil. f.mu must be held.
func (f *FS) identOf(n *node, fh fs.FileHandle) (*ident, error) {
	if h, ok := fh.(*handle); ok {
		return h.id, nil
	}
	return f.identAt(n.rel())
}

// fsync is the fsync of node n, open as fh (nil for a directory or an fsync without a file).
func (f *FS) fsync(n *node, fh fs.FileHandle) syscall.Errno {
	f.fsyncs.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isCut() {
		return syscall.EIO
	}
	id, err := f.identOf(n, fh)
	if err == nil {
		if id.dir {
			err = f.syncDir(id, n.rel())
		} else if !id.linked {
			err = f.syncFile(id, "")
		} else {
			err = f.syncFile(id, n.rel())
		}
	}
	if err != nil {
		log.Printf("powercut: fsync %s: %v", n.rel(), err)
		return syscall.EIO
	}
	return 0
}

// SyncAll makes everything durable, as sync(2) would: B becomes a copy of the current state.
func (f *FS) SyncAll() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isCut() {
		return errors.New("powercut: sync after cut")
	}
	return f.syncAll()
}

func (f *FS) syncAll() error {
	if err := emptyDir(f.backing); err != nil {
		return fmt.Errorf("sync all: %w", err)
	}
	if err := copyTree(f.volatile, f.backing); err != nil {
		return fmt.Errorf("sync all: %w", err)
	}
	return f.index()
}

// Cut cuts the power: from this instant B keeps only what was durable, every descriptor open on
// the mount fails, the mount is detached and the volatile state is discarded. A server still
// running on the mount may be shut down afterwards (its final writes and fsyncs then fail and
// change nothing); shutting it down before Cut would let it sync what it had not. Cut after Cut
// or Close does nothing.
func (f *FS) Cut() error {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return nil
	}
	f.done = true
	f.cut.Store(true)
	f.mu.Unlock()
	return f.stop(false)
}

// Close makes everything durable and unmounts. Close after Cut or Close does nothing.
func (f *FS) Close() error {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return nil
	}
	f.done = true
	err := f.syncAll()
	f.cut.Store(true)
	f.mu.Unlock()
	return errors.Join(err, f.stop(true))
}

// stop unmounts, waits for the server to stop and removes the volatile copy. An orderly stop
// first tries a plain unmount; otherwise, or if files are still open, a forced unmount aborts
// the FUSE connection (pending and later requests fail) and a lazy one detaches the mount.
func (f *FS) stop(orderly bool) error {
	var err error
	if !orderly || syscall.Unmount(f.mountpoint, 0) != nil {
		err = syscall.Unmount(f.mountpoint, syscall.MNT_FORCE)
		if err != nil {
			err = syscall.Unmount(f.mountpoint, syscall.MNT_DETACH)
		}
		if err != nil {
			err = fmt.Errorf("unmount %s: %w", f.mountpoint, err)
		}
	}
	stopped := make(chan struct{})
	go func() {
		f.server.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(stopTimeout):
		err = errors.Join(err, fmt.Errorf("fuse server of %s did not stop in %v", f.mountpoint, stopTimeout))
	}
	return errors.Join(err, emptyDir(f.volatile))
}

var (
	availableOnce sync.Once
	availableErr  error
)

// Available says why FUSE cannot be used here (nil if it can): not root, no /dev/fuse, or a
// mount refused. It mounts and unmounts a scratch file system once per process to know.
func Available() error {
	availableOnce.Do(func() { availableErr = probe() })
	return availableErr
}

func probe() error {
	if os.Geteuid() != 0 {
		return errors.New("powercut needs root to mount FUSE without fusermount")
	}
	dev, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("powercut needs /dev/fuse: %w", err)
	}
	dev.Close()
	dir, err := os.MkdirTemp("", "powercut-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"b", "v", "m"} {
		if err := os.Mkdir(dir+"/"+d, 0o755); err != nil {
			return err
		}
	}
	f, err := mount(dir+"/b", dir+"/v", dir+"/m")
	if err != nil {
		return fmt.Errorf("powercut cannot mount FUSE: %w", err)
	}
	return f.Close()
}

// Require skips tb when FUSE cannot be used here, or fails it when CI=true (CI must run the
// power-cut tests).
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true: %v", err)
		}
		tb.Skip(err)
	}
}

// Mountpoint is where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

// Backing is the directory that holds the durable state.
func (f *FS) Backing() string { return f.backing }
