package projections

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// foldBatch is how many whole meetings the fold hands the writers at a time. Each batch is
// sorted by id, so that its rows go into the B-trees in key order; larger batches insert with
// fewer jumps across the trees, smaller ones hold less memory.
var foldBatch = 4096

// fold reads the log from 1 to until and builds every meeting's state through the domain,
// decoding on two goroutines while this one applies in order. counts says how many commits
// the log holds for each meeting (eventstore.Store.CommitCounts): a meeting is done when that
// many are applied, and then goes to emit in the next batch of whole meetings, sorted by id. A
// meeting counted for more commits than the fold reads (a commit after until) or not counted
// at all goes at the end. fold returns the last sequence folded and when it was stored.
//
// A commit for a meeting after the commits counted for it (a count that does not match the
// log) is errUnusual, as is anything the domain cannot fold: the commit-by-commit path stops
// on it with the reason.
func fold(ctx context.Context, store *eventstore.Store, until uint64, counts map[uuid.UUID]uint32, batch int, progress func(done, total uint64), emit func([]Folded) error) (uint64, time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered, readErr := decodeLog(ctx, store, until)
	open := map[uuid.UUID]*Folded{}
	var ready []Folded
	flush := func() error {
		if len(ready) == 0 {
			return nil
		}
		slices.SortFunc(ready, byID)
		err := emit(ready)
		ready = make([]Folded, 0, batch) // the writers keep the batch
		return err
	}
	var last uint64
	var lastAt time.Time
	for ch := range ordered {
		for _, d := range <-ch {
			if d.err != nil {
				return 0, time.Time{}, fmt.Errorf("%w: commit at sequence %d cannot be read", errUnusual, d.raw.Seq)
			}
			c := d.commit
			left, counted := counts[c.MeetingID]
			f := open[c.MeetingID]
			if f == nil {
				if counted && left == 0 {
					return 0, time.Time{}, fmt.Errorf("%w: commit at sequence %d is for meeting %s, after the commits the log counts for it", errUnusual, d.raw.Seq, c.MeetingID)
				}
				if _, convene := c.Events[0].Data.(domain.MeetingConvened); !convene {
					return 0, time.Time{}, fmt.Errorf("%w: commit at sequence %d is for meeting %s, never convened", errUnusual, d.raw.Seq, c.MeetingID)
				}
				f = &Folded{Meeting: &domain.Meeting{}}
				open[c.MeetingID] = f
			}
			f.Meeting.Apply(c)
			f.LastSeq = d.raw.Seq
			last, lastAt = d.raw.Seq, d.raw.Time
			if !counted {
				continue
			}
			counts[c.MeetingID] = left - 1
			if left == 1 {
				delete(open, c.MeetingID)
				ready = append(ready, *f)
				if len(ready) >= batch {
					if err := flush(); err != nil {
						return 0, time.Time{}, err
					}
				}
			}
		}
		if progress != nil {
			progress(last, until)
		}
	}
	if err := <-readErr; err != nil {
		return 0, time.Time{}, err
	}
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	// What is still open had commits counted after until, or was not counted: in id order, so
	// that the same log gives the same batches.
	rest := make([]Folded, 0, len(open))
	for _, f := range open {
		rest = append(rest, *f)
	}
	slices.SortFunc(rest, byID)
	for _, f := range rest {
		ready = append(ready, f)
		if len(ready) >= batch {
			if err := flush(); err != nil {
				return 0, time.Time{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, time.Time{}, err
	}
	return last, lastAt, nil
}

// byID orders meetings by id, so that their rows go into the B-trees in key order. A uuid's
// text sorts as its bytes do.
func byID(a, b Folded) int {
	x, y := a.Meeting.ID(), b.Meeting.ID()
	return bytes.Compare(x[:], y[:])
}

// decodeLog reads the log from 1 to until in chunks and decodes each chunk on one of two
// goroutines. The chunks' results come on ordered in log order, each on its own channel; then
// readErr says how the read ended. Ending ctx stops it all.
func decodeLog(ctx context.Context, store *eventstore.Store, until uint64) (<-chan chan []decoded, <-chan error) {
	const chunk = 2000
	type job struct {
		raws []eventstore.RawRecorded
		out  chan []decoded
	}
	jobs := make(chan job, 4)
	ordered := make(chan chan []decoded, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		defer close(ordered)
		raws := make([]eventstore.RawRecorded, 0, chunk)
		send := func() bool {
			j := job{raws: raws, out: make(chan []decoded, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case ordered <- j.out:
			case <-ctx.Done():
				return false
			}
			raws = make([]eventstore.RawRecorded, 0, chunk)
			return true
		}
		readErr <- store.ReadRaw(ctx, eventstore.ReadOptions{UntilSeq: until}, func(r eventstore.RawRecorded) error {
			raws = append(raws, r)
			if len(raws) == chunk && !send() {
				return ctx.Err()
			}
			return nil
		})
		if len(raws) > 0 {
			send()
		}
	}()
	for range 2 {
		go func() {
			for j := range jobs {
				ds := make([]decoded, len(j.raws))
				for i, r := range j.raws {
					ds[i] = decode(r)
				}
				j.out <- ds
			}
		}()
	}
	return ordered, readErr
}
