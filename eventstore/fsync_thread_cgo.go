//go:build linux && cgo

package eventstore

/*
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define AAB_FSYNC_MAX 16

// One request at a time: Go fills n and fds, writes 1 to req; the thread fsyncs each file in
// turn, fills errs, and writes 1 to done. 2 on req makes it answer once more and return.
typedef struct {
	int req, done;
	int n;
	int fds[AAB_FSYNC_MAX];
	int errs[AAB_FSYNC_MAX];
} aab_fsyncer;

static void aab_answer(int fd) {
	uint64_t v = 1;
	while (write(fd, &v, sizeof v) < 0 && errno == EINTR) {
	}
}

static void *aab_fsync_loop(void *arg) {
	aab_fsyncer *s = arg;
	for (;;) {
		uint64_t v;
		ssize_t r = read(s->req, &v, sizeof v);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r != sizeof v || v != 1) {
			break;
		}
		for (int i = 0; i < s->n; i++) {
			s->errs[i] = fsync(s->fds[i]) == 0 ? 0 : errno;
		}
		aab_answer(s->done);
	}
	aab_answer(s->done);
	return NULL;
}

static int aab_fsyncer_start(aab_fsyncer *s) {
	pthread_attr_t a;
	pthread_t t;
	int err = pthread_attr_init(&a);
	if (err != 0) {
		return err;
	}
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &a, aab_fsync_loop, s);
	pthread_attr_destroy(&a);
	return err;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// fsyncThread fsyncs on an operating-system thread of its own, outside Go's scheduler. A
// goroutine that fsyncs blocks its thread in the system call, and the runtime hands its
// processor to another thread and takes one back after: on this project's two-core virtual
// machines that hand-over, once per round, cost more than the round's own work (the durable
// rate was 15–44 % higher with this thread, docs/benchmarks.md "Group commit"). The syncer
// waits for the thread's answer on an eventfd read through the runtime's poller, so no
// goroutine's thread blocks.
type fsyncThread struct {
	c    *C.aab_fsyncer
	req  int      // eventfd the thread reads requests from
	done *os.File // eventfd it answers on, non-blocking, read through the poller
}

// startFsyncThread starts the thread, or says why it cannot.
func startFsyncThread() (*fsyncThread, error) {
	req, err := eventfd(0)
	if err != nil {
		return nil, err
	}
	done, err := eventfd(syscall.O_NONBLOCK)
	if err != nil {
		syscall.Close(req)
		return nil, err
	}
	c := (*C.aab_fsyncer)(C.calloc(1, C.size_t(unsafe.Sizeof(C.aab_fsyncer{}))))
	c.req, c.done = C.int(req), C.int(done)
	if e := C.aab_fsyncer_start(c); e != 0 {
		syscall.Close(req)
		syscall.Close(done)
		C.free(unsafe.Pointer(c))
		return nil, fmt.Errorf("start the fsync thread: %w", syscall.Errno(e))
	}
	return &fsyncThread{c: c, req: req, done: os.NewFile(uintptr(done), "fsync answers")}, nil
}

func eventfd(flags int) (int, error) {
	fd, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, uintptr(flags|syscall.O_CLOEXEC), 0)
	if e != 0 {
		return -1, fmt.Errorf("eventfd: %w", e)
	}
	return int(fd), nil
}

// fsync fsyncs files on the thread, one after the other, and returns each one's error. Only
// the syncer's loop calls it, one call at a time.
func (t *fsyncThread) fsync(files []*os.File) []error {
	errs := make([]error, len(files))
	for start := 0; start < len(files); start += C.AAB_FSYNC_MAX {
		part := files[start:min(len(files), start+C.AAB_FSYNC_MAX)]
		for i, f := range part {
			t.c.fds[i] = C.int(f.Fd())
		}
		t.c.n = C.int(len(part))
		if err := t.signal(1); err != nil {
			for i := range part {
				errs[start+i] = err
			}
			continue
		}
		for i := range part {
			if e := t.c.errs[i]; e != 0 {
				errs[start+i] = syscall.Errno(e)
			}
		}
		runtime.KeepAlive(part) // open until the thread has fsynced them
	}
	return errs
}

// signal writes v to the thread and waits for its answer.
func (t *fsyncThread) signal(v uint64) error {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	if _, err := syscall.Write(t.req, b[:]); err != nil {
		return fmt.Errorf("ask the fsync thread: %w", err)
	}
	if _, err := t.done.Read(b[:]); err != nil {
		return fmt.Errorf("the fsync thread's answer: %w", err)
	}
	return nil
}

// close stops the thread and frees what it used; no fsync may be under way.
func (t *fsyncThread) close() {
	_ = t.signal(2)
	syscall.Close(t.req)
	t.done.Close()
	C.free(unsafe.Pointer(t.c))
}
