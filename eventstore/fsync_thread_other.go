//go:build !linux || !cgo

package eventstore

import (
	"errors"
	"os"
)

// fsyncThread is the cgo build's thread for fsyncs; without cgo the syncer fsyncs from its
// own goroutine.
type fsyncThread struct{}

func startFsyncThread() (*fsyncThread, error) {
	return nil, errors.ErrUnsupported
}

func (t *fsyncThread) fsync(files []*os.File) []error { panic("unreachable") }

func (t *fsyncThread) close() {}
