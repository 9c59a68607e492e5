package powercut_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/internal/powercut"
)

// messages is how many messages each test publishes (each acknowledged before the next).
const messages = 200

// waitBound bounds the waits for a server to start or stop, so that a broken test fails instead of
// hanging; it is no assertion on speed.
const waitBound = 30 * time.Second

// startNode starts an embedded nats-server with JetStream storing in dir.
func startNode(t *testing.T, dir string, syncAlways bool) (*server.Server, jetstream.JetStream) {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host:         "127.0.0.1",
		Port:         -1,
		JetStream:    true,
		StoreDir:     dir,
		SyncAlways:   syncAlways,
		SyncInterval: time.Hour, // without SyncAlways, nothing syncs during the test
		NoLog:        true,
		NoSigs:       true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(waitBound) {
		s.Shutdown()
		t.Fatal("nats-server did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		s.Shutdown()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		stopNode(t, s)
	})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return s, js
}

// stopNode shuts the server down (again, harmlessly, if it was).
func stopNode(t *testing.T, s *server.Server) {
	t.Helper()
	stopped := make(chan struct{})
	go func() {
		s.Shutdown()
		s.WaitForShutdown()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(waitBound):
		t.Error("nats-server did not shut down")
	}
}

func createStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	_, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name:     "LOG",
		Subjects: []string{"log.>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// publish publishes the messages, each acknowledged before the next.
func publish(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	for i := 1; i <= messages; i++ {
		ack, err := js.Publish(context.Background(), "log.m", payload(i))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Sequence != uint64(i) {
			t.Fatalf("message %d acknowledged as sequence %d", i, ack.Sequence)
		}
	}
}

func payload(i int) []byte { return []byte(fmt.Sprintf("message %d %s", i, strings.Repeat("x", 100))) }

// survivors restarts a server on the backing directory and returns how many of the published
// messages it has, checking that those it has are the first ones, intact. It returns -1 if the
// stream itself is gone.
func survivors(t *testing.T, backing string) int {
	t.Helper()
	_, js := startNode(t, backing, true)
	ctx := context.Background()
	stream, err := js.Stream(ctx, "LOG")
	if err == jetstream.ErrStreamNotFound {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n > 0 && (info.State.FirstSeq != 1 || info.State.LastSeq != uint64(n)) {
		t.Fatalf("after the cut the stream holds sequences %d to %d", info.State.FirstSeq, info.State.LastSeq)
	}
	for i := 1; i <= n; i++ {
		m, err := stream.GetMsg(ctx, uint64(i))
		if err != nil {
			t.Fatalf("after the cut, message %d: %v", i, err)
		}
		if string(m.Data) != string(payload(i)) {
			t.Fatalf("after the cut, message %d holds %q", i, m.Data)
		}
	}
	return n
}

// With SyncAlways the server fsyncs every write before it acknowledges: every acknowledged message
// survives the cut.
func TestNatsServerSyncAlwaysKeepsEveryAcknowledgedMessage(t *testing.T) {
	powercut.Require(t)
	backing := t.TempDir()
	pfs := powercut.Mount(t, backing, t.TempDir())
	s, js := startNode(t, pfs.Mountpoint(), true)
	createStream(t, js)
	before := pfs.Fsyncs()
	publish(t, js)
	if synced := pfs.Fsyncs() - before; synced < messages {
		t.Fatalf("%d fsyncs reached the file system for %d messages with SyncAlways", synced, messages)
	}
	if err := pfs.Cut(); err != nil { // before the shutdown, which would sync
		t.Fatal(err)
	}
	stopNode(t, s)
	if n := survivors(t, backing); n != messages {
		t.Fatalf("after the cut the stream holds %d of %d acknowledged messages", n, messages)
	}
}

// Without SyncAlways and with a long sync interval the server acknowledges messages it has
// written but not synced: the cut loses them. This shows the simulator bites.
func TestNatsServerWithoutSyncLosesAcknowledgedMessages(t *testing.T) {
	powercut.Require(t)
	backing := t.TempDir()
	pfs := powercut.Mount(t, backing, t.TempDir())
	s, js := startNode(t, pfs.Mountpoint(), false)
	createStream(t, js)
	if err := pfs.SyncAll(); err != nil { // the stream itself is durable
		t.Fatal(err)
	}
	publish(t, js)
	if err := pfs.Cut(); err != nil {
		t.Fatal(err)
	}
	stopNode(t, s)
	n := survivors(t, backing)
	if n < 0 {
		t.Fatal("after the cut the stream is gone, although it was made durable")
	}
	if n >= messages {
		t.Fatalf("after the cut the stream holds all %d acknowledged messages, never synced", n)
	}
	t.Logf("%d of %d acknowledged messages survived the cut", n, messages)
}

// The durability scheme's principle: the server writes without syncing, and a descriptor of
// someone else's, opened on the stream's block files, fsyncs them after the acknowledgements;
// then every acknowledged message survives.
func TestNatsServerBlocksFsyncedFromAnotherDescriptorSurvive(t *testing.T) {
	powercut.Require(t)
	backing := t.TempDir()
	pfs := powercut.Mount(t, backing, t.TempDir())
	s, js := startNode(t, pfs.Mountpoint(), false)
	createStream(t, js)
	publish(t, js)
	msgs := filepath.Join(pfs.Mountpoint(), "jetstream", "$G", "streams", "LOG", "msgs")
	blocks := 0
	err := filepath.WalkDir(msgs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".blk") {
			return err
		}
		blocks++
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
	if err != nil {
		t.Fatal(err)
	}
	if blocks == 0 {
		t.Fatalf("no block files in %s", msgs)
	}
	// The stream's own files (its configuration) were never synced without SyncAlways; a
	// directory's fsync makes their names durable, but not their content, so make them durable
	// the way the scheme must too.
	stream := filepath.Dir(msgs)
	for _, name := range []string{"meta.inf", "meta.sum"} {
		f, err := os.Open(filepath.Join(stream, name))
		if err != nil {
			t.Fatal(err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := pfs.Cut(); err != nil {
		t.Fatal(err)
	}
	stopNode(t, s)
	if n := survivors(t, backing); n != messages {
		t.Fatalf("after the cut the stream holds %d of %d acknowledged messages", n, messages)
	}
}
