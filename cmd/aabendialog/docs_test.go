package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
)

// TestEveryServeFlagIsDocumented: each flag serve's help lists has its row in the operations
// document's table of settings.
func TestEveryServeFlagIsDocumented(t *testing.T) {
	var out, errb bytes.Buffer
	_ = runServe(context.Background(), []string{"--help"}, &out, &errb)
	flags := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(errb.String(), -1)
	if len(flags) < 20 {
		t.Fatalf("serve --help lists %d flags:\n%s", len(flags), errb.String())
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		row := regexp.MustCompile("(?m)^\\|.*`--" + regexp.QuoteMeta(f[1]) + "[ `]")
		if !row.Match(doc) {
			t.Errorf("docs/operations.md has no row for serve --%s", f[1])
		}
	}
}
