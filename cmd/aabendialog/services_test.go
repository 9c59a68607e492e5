package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestMinGroupIsValidated: serve refuses a k below 1, or not a number, from the flag or the
// environment, naming the flag, before it starts anything.
func TestMinGroupIsValidated(t *testing.T) {
	for _, c := range []struct{ flag, env string }{{"0", ""}, {"-3", ""}, {"fem", ""}, {"2.5", ""}, {"", "0"}, {"", "x"}} {
		serveRefuses(t, "min-group", "AABENDIALOG_MIN_GROUP", c.flag, c.env, "1 or more")
	}
}

// serveRefuses runs serve with the flag set to flag (unless empty) and its environment variable
// to env, and fails unless serve is refused, before it starts anything, with a usage error that
// names the flag and the value and says hint.
func serveRefuses(t *testing.T, name, envName, flag, env, hint string) {
	t.Helper()
	t.Setenv(envName, env)
	args := []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
	if flag != "" {
		args = append(args, "--"+name, flag)
	}
	var out, errb bytes.Buffer
	err := runServe(context.Background(), args, &out, &errb)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `--`+name+` "`+flag+env+`"`) || !strings.Contains(err.Error(), hint) {
		t.Fatalf("--%s %q (env %q): got %v, want a usage error naming it", name, flag, env, err)
	}
	if out.Len() > 0 {
		t.Fatalf("serve started: %s", out.String())
	}
}
