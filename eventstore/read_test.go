package eventstore

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestReadStops: an error from fn, or the end of ctx, ends a read with that error, its
// goroutines gone and no consumer left on the server.
func TestReadStops(t *testing.T) {
	c := startCluster(t, 1)
	s := c.open(t, 1)
	ctx := ctxT(t)
	for i := range 20 {
		if _, err := s.Append(ctx, conveneCommit(uuid.New(), uuid.New()), 0); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	errStop := errors.New("stop")
	tests := []struct {
		name string
		read func(ctx context.Context) error
		want error
	}{
		{"fn fails", func(ctx context.Context) error {
			return s.ReadRaw(ctx, ReadOptions{}, func(r RawRecorded) error {
				if r.Seq == 9 {
					return errStop
				}
				return nil
			})
		}, errStop},
		{"ctx ends", func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			return s.ReadRaw(ctx, ReadOptions{}, func(r RawRecorded) error {
				if r.Seq == 9 {
					cancel()
				}
				return nil
			})
		}, context.Canceled},
		{"ctx ended before", func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return s.ReadRaw(ctx, ReadOptions{}, func(RawRecorded) error { return nil })
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			if err := tt.read(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			// nats.go ends a stopped subscription's goroutines shortly after Stop.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if g := runtime.NumGoroutine(); g > before {
				t.Errorf("%d goroutines after the read, want at most %d", g, before)
			}
			info, err := s.stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Consumers != 0 {
				t.Errorf("%d consumers left on the stream, want 0", info.State.Consumers)
			}
		})
	}
}

// TestReadOrder: a read of the whole log, or of part of it, gets every commit once and in order,
// and a citizen's filter only that citizen's.
func TestReadOrder(t *testing.T) {
	c := startCluster(t, 1)
	s := c.open(t, 1)
	ctx := ctxT(t)
	a, b := uuid.New(), uuid.New()
	var ofB []uint64
	for i := range 30 {
		citizen := a
		if i%7 == 3 {
			citizen = b
		}
		ap, err := s.Append(ctx, conveneCommit(citizen, uuid.New()), 0)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if citizen == b {
			ofB = append(ofB, ap.Seq)
		}
	}
	tests := []struct {
		name string
		opts ReadOptions
		want []uint64
	}{
		{"all", ReadOptions{}, seqRange(1, 30)},
		{"all by name", ReadOptions{Filter: AllFilter, From: 5, UntilSeq: 25}, seqRange(5, 25)},
		{"citizen", ReadOptions{Filter: CitizenFilter(b)}, ofB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			if err := s.ReadRaw(ctx, tt.opts, func(r RawRecorded) error { got = append(got, r.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for q := from; q <= to; q++ {
		out = append(out, q)
	}
	return out
}
