package projections

import (
	"context"

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
