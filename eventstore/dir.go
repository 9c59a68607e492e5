package eventstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// SecureDir makes path a directory only its owner can enter: it creates it (and its missing
// parents) with mode 0700, and takes group's and others' permissions off one that exists
// (tightened is then true, for the caller to log). It refuses, saying what to do, a path that
// is not a directory, a directory of another user, or one whose mode cannot be changed: the
// data directory holds the log, the read models (names, agendas, follow-ups) and the keys.
func SecureDir(path string) (tightened bool, err error) {
	fi, err := os.Stat(path)
	if errorsIsNotExist(err) {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return false, fmt.Errorf("create directory %s: %w", path, err)
		}
		// MkdirAll honours the umask, which can only take bits away; a directory another
		// process made meanwhile is checked like any that existed.
		if fi, err = os.Stat(path); err != nil {
			return false, fmt.Errorf("directory %s: %w", path, err)
		}
	} else if err != nil {
		return false, fmt.Errorf("directory %s: %w", path, err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is not a directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return false, fmt.Errorf("directory %s belongs to user id %d, not to this process's user (%d): run as its owner, or give the service a directory of its own", path, st.Uid, os.Geteuid())
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, 0o700); err != nil {
		return false, fmt.Errorf("directory %s can be read by others (mode %04o) and its mode cannot be changed (%v): chmod 700 %s", path, perm, err, path)
	}
	return true, nil
}

// SecureFile makes an existing file readable and writable by its owner alone (mode 0600), as
// every file of the read models and the keys is created; a file that does not exist is left
// alone. tightened says whether it had more.
func SecureFile(path string) (tightened bool, err error) {
	fi, err := os.Stat(path)
	if errorsIsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode().Perm() == 0o600 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("file %s has mode %04o and its mode cannot be changed (%v): chmod 600 %s", path, fi.Mode().Perm(), err, path)
	}
	return fi.Mode().Perm()&0o077 != 0, nil
}

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
