package command

import (
	"context"
	"io"
	"runtime/trace"
	"testing"

	"github.com/google/uuid"
)

// TestTraceTaskOnlyWhileTracing: while no trace is taken a command's task costs nothing (the
// context is the caller's, no allocation); while one is, the command runs in a task of its own.
func TestTraceTaskOnlyWhileTracing(t *testing.T) {
	ctx := context.Background()
	id := uuid.New()
	if allocs := testing.AllocsPerRun(100, func() {
		c, end := TraceCommand(ctx, id)
		end()
		if c != ctx {
			t.Fatal("a task without a trace")
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per command without a trace, want none", allocs)
	}
	if err := trace.Start(io.Discard); err != nil {
		t.Skip("a trace is already being taken:", err)
	}
	defer trace.Stop()
	c, end := TraceCommand(ctx, id)
	defer end()
	if c == ctx {
		t.Fatal("no task while a trace is taken")
	}
}
