package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestOneLineFieldsRefuseControls: names, titles, services, addresses and agenda items are one
// line without control characters or direction marks (a line feed in a service made a fake row in
// a listing); what was agreed and reasons may run over lines, but take no other controls.
func TestOneLineFieldsRefuseControls(t *testing.T) {
	m, p := uuid.New(), uuid.New()
	for _, tc := range []struct {
		name  string
		cmd   Command
		field string // "" means accepted
	}{
		{"line feed in a service", &InviteParticipant{Meeting: m, Participant: p, Name: "Ole", Kind: KindProfessional, Service: "Jobcenter\nFalsk række"}, "service"},
		{"carriage return in a name", &InviteParticipant{Meeting: m, Participant: p, Name: "Ole\rHansen", Kind: KindNetwork}, "name"},
		{"tab in a title", &ConveneMeeting{Meeting: m, Citizen: p, Title: "Mit\tmøde"}, "title"},
		{"C1 control in a title", &ConveneMeeting{Meeting: m, Citizen: p, Title: "Mit\u0085møde"}, "title"},
		{"bidi override in an address", &ScheduleMeeting{Meeting: m, At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Place: PlaceChosen, Address: "Vej 1\u202e2"}, "address"},
		{"bidi isolate in an agenda item", &CitizenSetsAgenda{Meeting: m, Items: []string{"Bolig\u2066x"}}, "items[0]"},
		{"line feed in an agenda item", &CitizenSetsAgenda{Meeting: m, Items: []string{"Bolig\nØkonomi"}}, "items[0]"},
		{"lines in what was agreed", &RecordFollowUp{Meeting: m, FollowUp: p, What: "Søge bostøtte\nRinge til lægen", Responsible: p}, ""},
		{"bidi override in what was agreed", &RecordFollowUp{Meeting: m, FollowUp: p, What: "Søge\u202ebostøtte", Responsible: p}, "what"},
		{"lines in a reason", &CancelMeeting{Meeting: m, Reason: "Syg\nVi finder en ny dag"}, ""},
		{"plain one-line fields", &InviteParticipant{Meeting: m, Participant: p, Name: "Åse Ørum-Hansen", Kind: KindProfessional, Service: "Center for Børn og Unge"}, ""},
	} {
		err := tc.cmd.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: got %v, want accepted", tc.name, err)
		case tc.field != "" && (KindOf(err) != Invalid || err.(*Error).Field != tc.field):
			t.Errorf("%s: got %v, want an invalid %s", tc.name, err, tc.field)
		}
	}
}
