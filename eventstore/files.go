package eventstore

import (
	"fmt"
	"os"
)

// SecureDir makes path a directory only its owner can enter: created 0700 when missing, and
// tightened to 0700 when group or others have any permission on it (an existing data directory
// made by hand or by an older version). It reports whether it tightened one, so the caller can
// say so. A path that is not a directory, or one it cannot change, is refused with a message
// naming it: the log and the read models hold names, agendas and follow-ups.
func SecureDir(path string) (tightened bool, err error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return false, fmt.Errorf("data directory %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("data directory %s: %w", path, err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("data directory %s is not a directory", path)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&0o700|0o700); err != nil {
		return false, fmt.Errorf("data directory %s can be read by others (mode %v) and could not be tightened to 0700: %w; change its mode or choose another --data", path, fi.Mode().Perm(), err)
	}
	return true, nil
}

// SecureFile creates path 0600 when missing and tightens it to 0600 when group or others have
// any permission; a missing file is left missing when create is false.
func SecureFile(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	fi, err := os.Stat(path)
	if os.IsNotExist(err) && !create {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(path, 0o600)
	}
	return nil
}
