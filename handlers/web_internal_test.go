package handlers

import (
	"os"
	"strings"
	"testing"
)

// TestRuleMessagesMatchTheDomain keeps the Danish translations of the domain's refusals in step
// with the domain: a rule whose English wording changes would otherwise reach a citizen as the
// generic message.
func TestRuleMessagesMatchTheDomain(t *testing.T) {
	src, err := os.ReadFile("../domain/decide.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ruleMessages {
		if !strings.Contains(string(src), m.contains) {
			t.Errorf("no rule in domain/decide.go says %q any more; update ruleMessages", m.contains)
		}
	}
}
