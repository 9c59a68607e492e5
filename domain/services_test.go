package domain_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TestCatalogueRefusesFreeText: an invitation or suggestion names a service from the catalogue,
// network members and others none; evaluators see "anden" for anything outside it.
func TestCatalogueRefusesFreeText(t *testing.T) {
	c := domain.DefaultCatalogue()
	m, p := uuid.New(), uuid.New()
	for _, tc := range []struct {
		name string
		cmd  domain.Command
		msg  string // "" when accepted
	}{
		{"a catalogued professional", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "Sagsbehandler", Kind: domain.KindProfessional, Service: "Jobcenter"}, ""},
		{"the region's psychiatry", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "Læge", Kind: domain.KindRegion, Service: "Regionspsykiatrien"}, ""},
		{"a network member without a service", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "Mor", Kind: domain.KindNetwork}, ""},
		{"free text that names a person", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "x", Kind: domain.KindProfessional, Service: "Min bror Oluf Brandt 0101901234"}, "not in the municipality's list"},
		{"a network member with a service", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "Mor", Kind: domain.KindNetwork, Service: "Jobcenter"}, "names no service"},
		{"an other with a service", &domain.InviteParticipant{Meeting: m, Participant: p, Name: "Nabo", Kind: domain.KindOther, Service: "Jobcenter"}, "names no service"},
		{"a suggestion with free text", &domain.SuggestParticipant{Meeting: m, Suggestion: uuid.New(), Name: "Søren", Kind: domain.KindProfessional, Service: "Bostøtten hos Søren"}, "not in the municipality's list"},
		{"other commands pass", &domain.CancelMeeting{Meeting: m}, ""},
	} {
		err := c.Check(tc.cmd)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%s: %v, want accepted", tc.name, err)
			}
			continue
		}
		var de *domain.Error
		if !errorAs(err, &de) || de.Kind != domain.Invalid || de.Field != "service" || !strings.Contains(de.Message, tc.msg) {
			t.Errorf("%s: %v, want an invalid service containing %q", tc.name, err, tc.msg)
		}
	}
	for in, want := range map[string]string{"Jobcenter": "Jobcenter", "Min bror Oluf Brandt 0101901234": domain.ServiceOther, "": ""} {
		if got := c.Evaluated(in); got != want {
			t.Errorf("Evaluated(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseCatalogue: a catalogue file is one service per line with comments; a bad line is
// named.
func TestParseCatalogue(t *testing.T) {
	c, err := domain.ParseCatalogue("# Kommunens centre\nJobcenter\r\n\n  Center for Børn og Unge  \n")
	if err != nil || strings.Join(c.Names(), "|") != "Jobcenter|Center for Børn og Unge" {
		t.Fatalf("got %v %v", c, err)
	}
	for text, msg := range map[string]string{
		"Jobcenter\nJobcenter":   "listed twice",
		"Jobcenter\nanden":       "line 2",
		"# intet\n":              "no services",
		"Jobcenter\n" + "a\x00b": "line 2",
		strings.Repeat("x", 201): "longer than",
	} {
		if _, err := domain.ParseCatalogue(text); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseCatalogue(%q): %v, want an error containing %q", text, err, msg)
		}
	}
}
