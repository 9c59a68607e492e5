// Package powercut is a test helper that simulates a power cut under a program that writes files:
// a FUSE file system that behaves like a disk with a volatile page cache, so that a test can run a
// real program (an embedded nats-server with its JetStream file store) on it, cut the power and
// see only what was made durable with fsync.
//
// # Model
//
// The backing directory B holds the durable state. The mount M shows the current, volatile
// state, which lives in a scratch copy V of B made at Mount (V is what a page cache plus a
// journal not yet committed would be). Every operation on M is carried out on V; B changes only
// when an fsync reaches the file system, so B is at every moment what a disk would hold after a
// power cut at that moment. Durability is tracked per file (inode), never per descriptor, as
// Linux does.
//
// File data:
//   - write, truncate and fallocate change V only; reads see V.
//   - fsync or fdatasync of a file, through any open descriptor of it (or a write through a
//     descriptor opened with O_SYNC or O_DSYNC), writes the file's current content and size to
//     its durable entry in B. Nothing else makes data durable: a file written and never fsynced
//     keeps in B the content of its last fsync (or of Mount), whatever other files or directories
//     were synced. This is never more forgiving than Linux for file data (ext4 in data=ordered
//     with delayed allocation can lose every unsynced write the same way).
//
// Names (create, mkdir, rename, unlink, rmdir), as ext4 does in practice, pessimistically:
//   - fsync of a file whose entry is not durable also makes its entry durable, at its current
//     name in its parent, and, the same way, every parent directory up to the root that is not
//     durable yet (ext4 commits a new inode's directory entry with it).
//   - fsync of a directory makes that directory's list of names durable as it is now: names
//     created since become durable (a new file that was not fsynced itself appears in B empty,
//     as after a crash on ext4 with delayed allocation), names removed or renamed away since are
//     removed from B, and a file or directory renamed into it keeps its durable content (a
//     rename is one journal operation, so its source disappears with it).
//   - nothing else makes a name durable: a new file never fsynced, whose directory was never
//     fsynced after its creation, is gone after a cut; a file unlinked or renamed is still in B
//     under its old name until its directory is fsynced (or, for an unlinked file still open,
//     until it is fsynced: its fsync commits its removal).
//   - a file that loses its durable name without gaining a new one (its old name replaced by an
//     entry made durable by another fsync, or renamed out of a directory that is fsynced before
//     its new one) loses its durable content too, which is more pessimistic than ext4.
//   - mode bits, owners, times and extended attributes are not tracked; hard links, symbolic
//     links and device nodes are refused (ENOTSUP), so every inode has exactly one name.
//
// [FS.Cut] cuts the power: from that instant no operation changes B, the mount is aborted
// (open descriptors, such as a server's, get errors from then on) and detached, and the volatile
// state is discarded. A test then starts a fresh program on B, or mounts B again, and sees what
// survived. [FS.Close] is the orderly shutdown: it makes everything durable, then unmounts.
//
// With an embedded server, call Cut first and shut the server down after it: its shutdown syncs
// what it holds, which would otherwise become durable. A server in another process can be killed
// first (SIGKILL syncs nothing; its writes already reached V).
//
// # Limits
//
//   - Files are opened with direct I/O, so shared writable mmap fails (SQLite in WAL mode maps
//     its -shm file: keep such databases off the mount or use exclusive locking mode).
//   - A write and an fsync are atomic with respect to Cut: no torn writes, no half-done fsync.
//   - Mode bits are not kept: B's files are 0644 and its directories 0755.
//   - Do not touch B while it is mounted; the volatile copy costs as much disk as B.
//   - If the test process dies without its cleanups (killed by a timeout), the kernel aborts the
//     mount but leaves it in place, unusable, until someone unmounts it.
//
// The kernel is kept from hiding writes: every file is opened with direct I/O (no page cache,
// every write reaches this process), the writeback cache and FUSE passthrough are off, so every
// fsync reaches the handler. [Available] says why FUSE cannot be used on this machine (it needs
// root and /dev/fuse; there is no fusermount, so it mounts with mount(2) directly).
package powercut
