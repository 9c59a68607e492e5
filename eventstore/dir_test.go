package eventstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSecureDir: a missing directory is made 0700 whatever the umask allows; one others can
// read is tightened to 0700 and says so; one that is the owner's alone is left as it is; a file
// in the way is refused.
func TestSecureDir(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which lets MkdirAll make 0755 from 0777
	defer syscall.Umask(old)
	root := t.TempDir()

	missing := filepath.Join(root, "a", "b")
	if tightened, err := eventstore.SecureDir(missing); err != nil || tightened {
		t.Fatalf("missing: %v %v", tightened, err)
	}
	if m := mode(t, missing); m != 0o700 {
		t.Fatalf("made with %04o, want 0700", m)
	}

	open := filepath.Join(root, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o775); err != nil {
		t.Fatal(err)
	}
	if tightened, err := eventstore.SecureDir(open); err != nil || !tightened {
		t.Fatalf("0775: %v %v, want it tightened", tightened, err)
	}
	if m := mode(t, open); m != 0o700 {
		t.Fatalf("tightened to %04o, want 0700", m)
	}
	if tightened, err := eventstore.SecureDir(open); err != nil || tightened {
		t.Fatalf("again: %v %v, want it left alone", tightened, err)
	}

	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := eventstore.SecureDir(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("a file: %v", err)
	}
}

// TestSecureFile: a file others can read is set to 0600; a missing one is not made.
func TestSecureFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	if tightened, err := eventstore.SecureFile(f); err != nil || !tightened {
		t.Fatalf("0644: %v %v", tightened, err)
	}
	if m := mode(t, f); m != 0o600 {
		t.Fatalf("mode %04o, want 0600", m)
	}
	if tightened, err := eventstore.SecureFile(filepath.Join(dir, "none")); err != nil || tightened {
		t.Fatalf("missing: %v %v", tightened, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); err == nil {
		t.Fatal("SecureFile made a missing file")
	}
}

// TestNodeTightensItsDirectory: a node started on a directory others can read (as a data
// directory made by hand often is) leaves it its owner's alone.
func TestNodeTightensItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jetstream")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e, err := testnode.StartIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("the node's directory is %04o, want 0700", m)
	}
}

// TestNodeUsersAreChecked: client users need the service's user, a password, and an inbox
// prefix of their own, one token that is not _INBOX.
func TestNodeUsersAreChecked(t *testing.T) {
	pw := "a-password-of-thirty-two-characters"
	client := func(user, prefix string) eventstore.ClientUser {
		return eventstore.ClientUser{User: user, Password: pw, InboxPrefix: prefix, Publish: []string{"a.*"}}
	}
	for _, tc := range []struct {
		name string
		cfg  eventstore.NodeConfig
		want string
	}{
		{"clients without the service's user", eventstore.NodeConfig{Clients: []eventstore.ClientUser{client("c", "_INBOX_c")}}, "need the service's user"},
		{"a client without a password", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{{User: "c", InboxPrefix: "_INBOX_c"}}}, "password"},
		{"the service's name", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{client("s", "_INBOX_s")}}, "twice"},
		{"the shared prefix", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{client("c", "_INBOX")}}, "inbox prefix"},
		{"a prefix in another's tree", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{client("c", "_INBOX_c.d")}}, "inbox prefix"},
		{"a wildcard prefix", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{client("c", "_INBOX_*")}}, "inbox prefix"},
		{"one prefix for two", eventstore.NodeConfig{User: "s", Password: pw, Clients: []eventstore.ClientUser{client("c", "_INBOX_c"), client("d", "_INBOX_c")}}, "another client's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = t.TempDir()
			nd, err := eventstore.StartNode(tc.cfg)
			if err == nil {
				nd.Shutdown()
				t.Fatalf("started, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
