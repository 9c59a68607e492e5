package projections

import (
	"context"
	"time"

	"github.com/aabendialog/aabendialog/eventstore"
)

// ApplyAgain applies commits to the live file as the follow loop would, for the test that a
// commit delivered twice changes nothing.
func (p *Projector) ApplyAgain(ctx context.Context, batch []eventstore.RawRecorded) error {
	ds := make([]decoded, len(batch))
	for i, r := range batch {
		ds[i] = decode(r)
	}
	return p.applyBatch(ctx, p.currentDB(), ds, false)
}

// FoldedLog is the whole log folded in memory, as LoadEmpty folds it.
type FoldedLog struct {
	ms   []Folded
	last uint64
	at   time.Time
}

// FoldLog folds the whole log, as LoadEmpty does before it writes.
func FoldLog(ctx context.Context, store *eventstore.Store) (*FoldedLog, error) {
	last, err := store.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	ms, seq, at, err := fold(ctx, store, last, nil)
	return &FoldedLog{ms: ms, last: seq, at: at}, err
}

// WriteFolded writes a folded log into the empty read models, all at once, as LoadEmpty does.
func WriteFolded(ctx context.Context, ps []*Projector, f *FoldedLog) error {
	return loadFolded(ctx, ps, f.ms, f.last, f.at)
}
