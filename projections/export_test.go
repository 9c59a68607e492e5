package projections

import (
	"context"

	"github.com/aabendialog/aabendialog/eventstore"
)

// ApplyAgain applies commits to the live file as the follow loop would, for the test that a
// commit delivered twice changes nothing.
func (p *Projector) ApplyAgain(ctx context.Context, batch []eventstore.RawRecorded) error {
	return p.applyBatch(ctx, p.currentDB(), batch, false)
}
