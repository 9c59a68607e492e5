package eventstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The stage of atomic batches is a link into memory, made again after every start, and a
// stage a killed process left behind is removed.
func TestStageBatchesInMemoryAcrossRestarts(t *testing.T) {
	if fi, err := os.Stat(memoryDir); err != nil || !fi.IsDir() {
		t.Skip("no memory file system at", memoryDir)
	}
	dir := t.TempDir()
	cfg := NodeConfig{DataDir: dir, Port: freePort(t)}
	link := filepath.Join(dir, "jetstream", "$G", "streams", StreamName, "batches")
	var leftover string
	for round := range 3 {
		nd, err := StartNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nd.Connect()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, err := Open(ctx, nc, Config{})
		if err != nil {
			t.Fatal(err)
		}
		minBatch, err := nd.StageBatchesInMemory(StreamName)
		if err != nil || minBatch != MinBatchStagedInMemory {
			t.Fatalf("round %d: %d %v", round, minBatch, err)
		}
		target, err := os.Readlink(link)
		if err != nil || !strings.HasPrefix(target, memoryDir+"/"+stagingPrefix) {
			t.Fatalf("round %d: batches at %q (%v), want a link into %s", round, target, err, memoryDir)
		}
		if leftover != "" {
			if _, err := os.Stat(leftover); !os.IsNotExist(err) {
				t.Fatalf("round %d: what the killed process staged, %s, is still there", round, leftover)
			}
		}
		fi, _ := os.Stat(target)
		if fi.Mode().Perm() != 0o700 {
			t.Fatalf("stage mode %v, want 0700", fi.Mode().Perm())
		}
		s.EnableGroupCommit(minBatch)
		// A batch goes through the stage and lands in the log.
		commits := agendaMeetings(t, s, 4)
		for i, r := range appendAll(t, s, commits) {
			if r.err != nil {
				t.Fatalf("round %d, commit %d: %v", round, i, r.err)
			}
		}
		if st := s.GroupCommitStats(); st.Batches != 1 {
			t.Fatalf("round %d: %+v, want one batch", round, st)
		}
		cancel()
		nc.Close()
		if round == 0 {
			// As if killed: the node stops without removing its stage.
			nd.staging = nil
			leftover = filepath.Join(target, "left-by-a-killed-process")
			if err := os.WriteFile(leftover, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		} else {
			leftover = ""
		}
		nd.Shutdown()
		if round > 0 {
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Fatalf("round %d: shutdown left the stage %s", round, target)
			}
		}
	}
}

func TestStageBatchesWithoutMemoryFileSystem(t *testing.T) {
	c := startCluster(t, 1)
	_ = c.open(t, 1)
	old := memoryDir
	memoryDir = filepath.Join(t.TempDir(), "none")
	defer func() { memoryDir = old }()
	minBatch, err := c.nodes[0].StageBatchesInMemory(StreamName)
	if err != nil || minBatch != MinBatchStagedOnDisk {
		t.Fatalf("got %d %v, want %d", minBatch, err, MinBatchStagedOnDisk)
	}
	if _, err := c.nodes[0].StageBatchesInMemory("NO_SUCH_STREAM"); err == nil {
		t.Fatal("a stream that does not exist: want an error")
	}
}
