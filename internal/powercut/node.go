package powercut

import (
	"context"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is an inode of the mount: the loopback node over V, with the operations that change V
// recorded so that fsync knows what to make durable.
type node struct {
	*fs.LoopbackNode
	pfs *FS
}

var (
	_ fs.NodeWrapChilder    = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeSetattrer      = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeWriter         = (*node)(nil)
	_ fs.NodeWritever       = (*node)(nil)
	_ fs.NodeSymlinker      = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeMknoder        = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
)

func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), pfs: n.pfs}
}

// rel is the node's path relative to the root.
func (n *node) rel() string { return n.Path(n.Root()) }

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	p := n.pfs
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut() {
		return nil, nil, 0, syscall.EIO
	}
	rel := join(n.rel(), name)
	_, err := os.Lstat(p.vPath(rel))
	existed := err == nil
	ch, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	var id *ident
	if existed {
		id, err = p.identAt(rel)
	} else {
		id, err = p.created(rel)
	}
	if err != nil {
		fh.(fs.FileReleaser).Release(ctx)
		return nil, nil, 0, fs.ToErrno(err)
	}
	if flags&syscall.O_TRUNC != 0 {
		id.mark(0, toEnd)
	}
	return ch, p.newHandle(fh, id, flags), fuseFlags | fuse.FOPEN_DIRECT_IO, 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	p := n.pfs
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut() {
		return nil, 0, syscall.EIO
	}
	id, err := p.identAt(n.rel())
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		id.mark(0, toEnd)
	}
	return p.newHandle(fh, id, flags), fuseFlags | fuse.FOPEN_DIRECT_IO, 0
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ds, errno := fs.NewLoopbackDirStream(n.pfs.vPath(n.rel()))
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{DirStream: ds, n: n}, 0, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := n.pfs
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut() {
		return nil, syscall.EIO
	}
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno != 0 {
		return nil, errno
	}
	if _, err := p.created(join(n.rel(), name)); err != nil {
		return nil, fs.ToErrno(err)
	}
	return ch, 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, func() syscall.Errno { return n.LoopbackNode.Unlink(ctx, name) })
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, func() syscall.Errno { return n.LoopbackNode.Rmdir(ctx, name) })
}

func (n *node) remove(name string, op func() syscall.Errno) syscall.Errno {
	p := n.pfs
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut() {
		return syscall.EIO
	}
	ino, id := p.unlinking(join(n.rel(), name))
	if errno := op(); errno != 0 {
		return errno
	}
	p.unlinked(ino, id)
	return 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	p := n.pfs
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isCut() {
		return syscall.EIO
	}
	_, moved := p.unlinking(join(n.rel(), name))
	victimIno, victim := p.unlinking(join(np.rel(), newName))
	if errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags); errno != 0 {
		return errno
	}
	if flags&fs.RENAME_EXCHANGE == 0 && victim != moved {
		p.unlinked(victimIno, victim)
	}
	return 0
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	p := n.pfs
	if p.isCut() {
		return syscall.EIO
	}
	p.mu.Lock() // the truncate and its mark as one step for an fsync, as in Write
	defer p.mu.Unlock()
	errno := n.LoopbackNode.Setattr(ctx, f, in, out)
	if size, ok := in.GetSize(); ok && errno == 0 {
		id, err := p.identOf(n, f)
		if err != nil {
			return fs.ToErrno(err)
		}
		id.mark(int64(size), toEnd)
	}
	return errno
}

// Write goes to V and marks the bytes as not durable; through a descriptor opened with O_SYNC or
// O_DSYNC it is followed by the file's fsync.
func (n *node) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	p := n.pfs
	h, ok := f.(*handle)
	if !ok {
		return 0, syscall.EBADF
	}
	if p.isCut() {
		return 0, syscall.EIO
	}
	// The write to V and its mark are one step for an fsync: one that ran between them would
	// copy the file's new size without its new bytes and mark it clean, which Linux never does
	// (a page is in the cache before the file's size covers it).
	p.mu.Lock()
	written, errno := h.lf.(fs.FileWriter).Write(ctx, data, off)
	if written > 0 {
		h.id.mark(off, off+int64(written))
	}
	p.mu.Unlock()
	if errno == 0 && h.sync {
		errno = p.fsync(n, h)
	}
	return written, errno
}

func (n *node) Writev(ctx context.Context, f fs.FileHandle, iov [][]byte, off int64) (uint32, syscall.Errno) {
	var data []byte
	for _, b := range iov {
		data = append(data, b...)
	}
	return n.Write(ctx, f, data, off)
}

func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	return n.pfs.fsync(n, f)
}

// Names other than one per inode are not modelled.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

func (n *node) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// CopyFileRange answers ENOSYS, so the kernel copies with reads and writes, which are recorded.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut, length, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}
