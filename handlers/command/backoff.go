package command

import (
	"context"
	"math/rand/v2"
	"time"
)

// backOff waits before the next try after a concurrency conflict: a random time up to 2 ms
// doubled for each conflict so far, so writers who collided do not collide again in step. It
// returns early with the context's error when the caller gives up.
func backOff(ctx context.Context, conflicts int) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(2*time.Millisecond) << conflicts)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
