// Command aabendialog is the Åben Dialog service and its command-line client.
//
// Run "aabendialog help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aabendialog/aabendialog/domain"
)

// subcommand is one verb of the CLI.
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []subcommand {
	cs := []subcommand{
		{name: "serve", summary: "run the service: embedded NATS JetStream log (or a cluster), HTTP API, command handlers", run: runServe},
		{name: "token", summary: "issue a signed token for a citizen, support person, professional, evaluator or admin", run: runToken},
		{name: "health", summary: "ask a running server whether it is ready (exit status 0 if so)", run: runHealth},
		{name: "sign-out", summary: "revoke your token on the server, everywhere, before it expires", run: runSignOut},
	}
	for _, v := range verbs() {
		cs = append(cs, subcommand{name: v.name, summary: domain.CommandSummary(v.name), run: v.run})
	}
	for _, q := range queryVerbs() {
		cs = append(cs, subcommand{name: q.name, summary: q.summary, run: q.run})
	}
	cs = append(cs,
		subcommand{name: "replay", summary: "a history event by event and as it stood at a time or sequence (evaluators see pseudonyms)", run: runReplay},
		subcommand{name: "evaluate", summary: "the Open Dialogue indicators as a table, CSV, JSON or a printable HTML page (evaluators)", run: runEvaluate},
		subcommand{name: "rebuild", summary: "rebuild read models from the start of the log and swap them in (administrators)", run: runRebuild},
		subcommand{name: "seed", summary: "write synthetic meeting histories into the log through the command path", run: runSeed},
	)
	return cs
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "aabendialog:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage is a mistake on the command line (exit status 2).
var errUsage = errors.New("usage")

// usageError names what was wrong on the command line.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0 // help was asked for
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdout, stderr)
		}
		printHelp(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return fmt.Errorf("%w: unknown command %q; run \"aabendialog help\" for the list", errUsage, args[0])
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "aabendialog: Åben Dialog meetings, where the citizen sets the agenda and decides who takes part.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: aabendialog <command> [flags]   (aabendialog help <command> for its flags)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	for _, c := range cs {
		fmt.Fprintf(w, "  %-24s %s\n", c.name, c.summary)
	}
}

// newFlagSet returns a flag set that prints its usage to stderr with a one-line description.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: aabendialog %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}
