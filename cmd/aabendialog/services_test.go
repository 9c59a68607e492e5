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
		t.Setenv("AABENDIALOG_MIN_GROUP", c.env)
		args := []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}
		if c.flag != "" {
			args = append(args, "--min-group", c.flag)
		}
		var out, errb bytes.Buffer
		err := runServe(context.Background(), args, &out, &errb)
		given := c.flag + c.env
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `--min-group "`+given+`"`) || !strings.Contains(err.Error(), "1 or more") {
			t.Fatalf("--min-group %q (env %q): got %v, want a usage error naming it", c.flag, c.env, err)
		}
		if out.Len() > 0 {
			t.Fatalf("serve started: %s", out.String())
		}
	}
}
