package powercut

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// handle is an open file of the mount. It wraps the loopback file without embedding it, so that
// the file offers no descriptor for FUSE passthrough: every write must come through Write.
type handle struct {
	lf   fs.FileHandle
	pfs  *FS
	id   *ident
	sync bool // opened with O_SYNC or O_DSYNC
}

func (f *FS) newHandle(lf fs.FileHandle, id *ident, flags uint32) *handle {
	return &handle{lf: lf, pfs: f, id: id, sync: flags&(syscall.O_SYNC|syscall.O_DSYNC) != 0}
}

var (
	_ fs.FileReader    = (*handle)(nil)
	_ fs.FileReleaser  = (*handle)(nil)
	_ fs.FileFlusher   = (*handle)(nil)
	_ fs.FileGetattrer = (*handle)(nil)
	_ fs.FileSetattrer = (*handle)(nil)
	_ fs.FileLseeker   = (*handle)(nil)
	_ fs.FileAllocater = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if h.pfs.isCut() {
		return nil, syscall.EIO
	}
	return h.lf.(fs.FileReader).Read(ctx, dest, off)
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	return h.lf.(fs.FileReleaser).Release(ctx)
}

func (h *handle) Flush(ctx context.Context) syscall.Errno {
	return h.lf.(fs.FileFlusher).Flush(ctx)
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.lf.(fs.FileGetattrer).Getattr(ctx, out)
}

func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.lf.(fs.FileSetattrer).Setattr(ctx, in, out)
}

func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return h.lf.(fs.FileLseeker).Lseek(ctx, off, whence)
}

func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	p := h.pfs
	if p.isCut() {
		return syscall.EIO
	}
	p.mu.Lock() // the change and its mark as one step for an fsync, as in Write
	errno := h.lf.(fs.FileAllocater).Allocate(ctx, off, size, mode)
	h.id.mark(int64(off), toEnd)
	p.mu.Unlock()
	return errno
}

// dirHandle is an open directory of the mount; its fsync goes to the model.
type dirHandle struct {
	fs.DirStream
	n *node
}

var (
	_ fs.FileFsyncdirer   = (*dirHandle)(nil)
	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileReleasedirer = (*dirHandle)(nil)
)

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return d.n.pfs.fsync(d.n, nil)
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.DirStream.(fs.FileReaddirenter).Readdirent(ctx)
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.DirStream.(fs.FileSeekdirer).Seekdir(ctx, off)
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	d.DirStream.(fs.FileReleasedirer).Releasedir(ctx, flags)
}
