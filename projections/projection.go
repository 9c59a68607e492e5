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

// tsLayout is the form times are stored in: UTC, millisecond precision, sortable as text.
const tsLayout = "2006-01-02T15:04:05.000Z"

// ts formats t in tsLayout. A bulk load formats over a million times, so the common years are
// written by hand (cheaper than Format; BenchmarkTS); TestTSIsFormat holds the two together.
func ts(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(tsLayout)
	}
	hour, minute, sec := t.Clock()
	var b [24]byte
	put := func(i, v, digits int) {
		for k := i + digits - 1; k >= i; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, t.Nanosecond()/1e6, 3)
	b[23] = 'Z'
	return string(b[:])
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(tsLayout, s)
	return t
}
