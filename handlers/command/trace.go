package command

import (
	"context"
	"runtime/trace"

	"github.com/google/uuid"
)

// TraceTask begins an execution-trace task for one command (runtime/trace, as the benchmarks'
// -trace takes one), named "command" and logged with the command id, so that
// a slow command can be found in the trace with its regions (load, decide, append, and the log's
// own) and what else ran at that time. While no trace is being taken it costs a check and
// returns ctx and a no-op: NewTask would allocate for every command.
func TraceTask(ctx context.Context, commandID string) (context.Context, func()) {
	if !trace.IsEnabled() {
		return ctx, noEnd
	}
	ctx, task := trace.NewTask(ctx, "command")
	trace.Log(ctx, "command_id", commandID)
	return ctx, task.End
}

// TraceCommand is TraceTask for a command id already parsed: it is formatted only while a trace
// is being taken.
func TraceCommand(ctx context.Context, commandID uuid.UUID) (context.Context, func()) {
	if !trace.IsEnabled() {
		return ctx, noEnd
	}
	return TraceTask(ctx, commandID.String())
}

func noEnd() {}
