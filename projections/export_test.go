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

// FoldedLog is the whole log folded in memory, in the batches LoadEmpty would write.
type FoldedLog struct {
	batches [][]Folded
	last    uint64
	at      time.Time
}

// FoldLog folds the whole log as LoadEmpty does, keeping the batches instead of writing them.
func FoldLog(ctx context.Context, store *eventstore.Store) (*FoldedLog, error) {
	last, err := store.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	f := &FoldedLog{}
	f.last, f.at, err = logSource(store, last, nil)(ctx, func(ms []Folded) error {
		f.batches = append(f.batches, ms)
		return nil
	})
	return f, err
}

// WriteFolded writes a folded log into the empty read models, all at once, as LoadEmpty does.
func WriteFolded(ctx context.Context, ps []*Projector, f *FoldedLog) error {
	return loadInto(ctx, ps, func(ctx context.Context, emit func([]Folded) error) (uint64, time.Time, error) {
		for _, ms := range f.batches {
			if err := emit(ms); err != nil {
				return 0, time.Time{}, err
			}
		}
		return f.last, f.at, nil
	})
}

// SetFoldBatch makes bulk loads hand over n meetings at a time until the returned function is
// called, for tests that cross many batch borders.
func SetFoldBatch(n int) (restore func()) {
	was := foldBatch
	foldBatch = n
	return func() { foldBatch = was }
}
