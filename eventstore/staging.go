package eventstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Group commit's thresholds (Config.GroupCommit): the fewest waiting commits that go out as one
// atomic batch rather than as single writes side by side, measured on this project's machine
// (docs/benchmarks.md, "Group commit"). With the batches staged on disk a batch costs about
// 3 ms of file creation and removal before its fsync, and pays only from about 30 commits; staged
// in memory it costs about as much as two single writes.
const (
	MinBatchStagedInMemory = 2
	MinBatchStagedOnDisk   = 32
)

// memoryDir is where StageBatchesInMemory makes its directories.
var memoryDir = "/dev/shm"

// stagingPrefix names the directories StageBatchesInMemory makes.
const stagingPrefix = "aabendialog-batches-"

// StageBatchesInMemory makes the embedded node stage the stream's atomic batches in memory
// (under /dev/shm) instead of on disk, and returns the Config.GroupCommit to use: what the
// batches cost then (MinBatchStagedInMemory), or MinBatchStagedOnDisk when the machine has no
// memory file system. The stream must exist (Open creates it); call it again after every start.
//
// nats-server 2.15.2 stages every atomic batch of a single-replica file stream in a file store
// of its own under the stream's directory (streams/<name>/batches), created and removed per
// batch: that, not the fsync, is most of a small batch's cost. The stage only matters until the
// batch is committed, and a batch is answered only after the commit's own fsync of the stream,
// so losing the stage loses nothing acknowledged: after a process kill (memory survives it) the
// server finishes a batch cut short from its stage, as it does from disk; after a power failure
// (the stage is gone) a batch cut short keeps the members that reached the disk, none of them
// acknowledged, and their callers' retries are answered as duplicates by their message ids.
// Group commit needs no batch to be all-or-nothing: its members are commits of different
// meetings that only share a write.
func (n *Node) StageBatchesInMemory(stream string) (int, error) {
	dir := filepath.Join(n.dataDir, "jetstream", "$G", "streams", stream)
	if _, err := os.Stat(dir); err != nil {
		return 0, fmt.Errorf("stage batches of %s in memory: %w", stream, err)
	}
	if fi, err := os.Stat(memoryDir); err != nil || !fi.IsDir() {
		return MinBatchStagedOnDisk, nil
	}
	link := filepath.Join(dir, "batches")
	if err := os.RemoveAll(link); err != nil {
		return 0, fmt.Errorf("stage batches of %s in memory: %w", stream, err)
	}
	// One name per data directory, so that the stage of an earlier process (killed, so it did
	// not remove it) is found: the server's start has finished any batch cut short from it
	// through the link, and removed the link. Mkdir makes the directory afresh, ours and 0700
	// (staged commits are the log's); if anything else holds the name, batches stay on disk.
	sum := sha256.Sum256([]byte(link))
	staging := filepath.Join(memoryDir, stagingPrefix+hex.EncodeToString(sum[:8]))
	_ = os.RemoveAll(staging)
	if err := os.Mkdir(staging, 0o700); err != nil {
		return MinBatchStagedOnDisk, nil
	}
	if err := os.Symlink(staging, link); err != nil {
		_ = os.RemoveAll(staging)
		return 0, fmt.Errorf("stage batches of %s in memory: %w", stream, err)
	}
	n.staging = append(n.staging, staging)
	return MinBatchStagedInMemory, nil
}
