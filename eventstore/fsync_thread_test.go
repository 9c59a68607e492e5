//go:build linux && cgo

package eventstore

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The fsync thread fsyncs every file it is given and says which failed, and a closed thread is
// gone: starting and closing many leaves no threads behind.
func TestFsyncThread(t *testing.T) {
	th, err := startFsyncThread()
	if err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for i := range 20 { // more than one request holds
		f, err := os.Create(filepath.Join(t.TempDir(), strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString("commit"); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	files[17] = closed
	errs := th.fsync(files)
	for i, err := range errs {
		if i == 17 {
			if !errors.Is(err, syscall.EBADF) {
				t.Errorf("fsync of a closed file: %v, want EBADF", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("fsync of file %d: %v", i, err)
		}
	}
	th.close()

	before := threads(t)
	for range 50 {
		th, err := startFsyncThread()
		if err != nil {
			t.Fatal(err)
		}
		th.close()
	}
	if after := threads(t); after > before+5 {
		t.Fatalf("%d threads after starting and closing 50 fsync threads, %d before", after, before)
	}
}

// threads is how many threads the process has.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no thread count in /proc/self/status")
	return 0
}
