package projections

import (
	"context"
	"embed"
	"time"

	"github.com/aabendialog/aabendialog/eventstore"
)

//go:embed migrations
var migrations embed.FS

// Projection turns commits into rows of one read model. Apply is called in log order inside the
// batch's transaction; it must not fail for a commit the domain could have written, and it
// never sees a commit twice (the projector skips what the checkpoint says is done).
type Projection interface {
	Name() string
	Apply(ctx context.Context, tx *Tx, r eventstore.Recorded) error
}

// Finisher is a projection with work to do once per batch, before the checkpoint is written.
type Finisher interface {
	Finish(ctx context.Context, tx *Tx) error
}

// ts is the form times are stored in: UTC, millisecond precision, sortable as text.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func parseTS(s string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05.000Z", s)
	return t
}
