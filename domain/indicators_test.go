package domain_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// history builds meetings from events at given times, as the log would hold them.
type history struct {
	meetings map[uuid.UUID]*domain.Meeting
	order    []uuid.UUID
}

func (h *history) at(m, citizen uuid.UUID, t time.Time, events ...domain.EventData) {
	if h.meetings == nil {
		h.meetings = map[uuid.UUID]*domain.Meeting{}
	}
	mt, ok := h.meetings[m]
	if !ok {
		mt = &domain.Meeting{}
		h.meetings[m] = mt
		h.order = append(h.order, m)
	}
	c := domain.Commit{CommandID: uuid.New(), MeetingID: m, CitizenID: citizen, Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}, At: t}
	for _, e := range events {
		c.Events = append(c.Events, domain.NewEvent(e))
	}
	mt.Apply(c)
}

func (h *history) facts() []domain.MeetingFacts {
	var fs []domain.MeetingFacts
	for _, m := range h.order {
		fs = append(fs, domain.FactsOf(h.meetings[m]))
	}
	return fs
}

// TestIndicatorsOnAHandComputedHistory: two citizens, four meetings. The expected values below
// were worked out by hand from the history (see the comments).
func TestIndicatorsOnAHandComputedHistory(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	cA, cB := uuid.New(), uuid.New()
	p1, p2, p3, p4 := uuid.New(), uuid.New(), uuid.New(), uuid.New() // professionals
	n1, r1, o1 := uuid.New(), uuid.New(), uuid.New()                 // network, region, other
	f1, f2, f3, f4 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	m1, m2, m3, m4 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	inv := func(id uuid.UUID, k domain.ParticipantKind, svc string) domain.EventData {
		return domain.ParticipantInvited{ParticipantID: id, Name: "x", Kind: k, Service: svc}
	}
	var h history
	// M1 (citizen A): convened 1 Nov 09:00, held 20:00 the same day (11 h) at home; present A,
	// P1 (Jobcenter), P2 (Psykiatri), N1 (network); R1 (region) invited, absent.
	h.at(m1, cA, day(1, 9), domain.MeetingConvened{MeetingID: m1, CitizenID: cA},
		inv(p1, domain.KindProfessional, "Jobcenter"), inv(p2, domain.KindProfessional, "Psykiatri"),
		inv(n1, domain.KindNetwork, ""), inv(r1, domain.KindRegion, "Region"),
		domain.MeetingScheduled{At: day(1, 20), Place: domain.PlaceHome})
	h.at(m1, cA, day(1, 20), domain.MeetingHeld{Present: []uuid.UUID{cA, p1, p2, n1}},
		// F1 due 10 Nov, F2 due 5 Nov, F3 no due date.
		domain.FollowUpRecorded{FollowUpID: f1, What: "x", Responsible: p1, Due: "2026-11-10"},
		domain.FollowUpRecorded{FollowUpID: f2, What: "x", Responsible: p2, Due: "2026-11-05"},
		domain.FollowUpRecorded{FollowUpID: f3, What: "x", Responsible: cA})
	h.at(m1, cA, day(9, 12), domain.FollowUpCompleted{FollowUpID: f1}) // on time; F2 never done
	// M2 (citizen A): convened 10 Nov 09:00, held 13 Nov 09:00 (72 h) at an office; present A,
	// P1 (Jobcenter), P3 (Børn og Familie). F4 due 20 Nov, done 22 Nov (late).
	h.at(m2, cA, day(10, 9), domain.MeetingConvened{MeetingID: m2, CitizenID: cA},
		inv(p1, domain.KindProfessional, "Jobcenter"), inv(p3, domain.KindProfessional, "Center for Børn og Familie"),
		domain.MeetingScheduled{At: day(13, 9), Place: domain.PlaceOffice})
	h.at(m2, cA, day(13, 9), domain.MeetingHeld{Present: []uuid.UUID{cA, p1, p3}},
		domain.FollowUpRecorded{FollowUpID: f4, What: "x", Responsible: p3, Due: "2026-11-20"})
	h.at(m2, cA, day(22, 10), domain.FollowUpCompleted{FollowUpID: f4})
	// M3 (citizen A): convened 20 Nov, cancelled: not held, counts nowhere.
	h.at(m3, cA, day(20, 9), domain.MeetingConvened{MeetingID: m3, CitizenID: cA},
		inv(p2, domain.KindProfessional, "Psykiatri"), domain.MeetingCancelled{})
	// M4 (citizen B): convened 2 Nov 09:00, held 12 Nov 09:00 (240 h) at a place B chose;
	// present B, P4 (Jobcenter), O1 (other).
	h.at(m4, cB, day(2, 9), domain.MeetingConvened{MeetingID: m4, CitizenID: cB},
		inv(p4, domain.KindProfessional, "Jobcenter"), inv(o1, domain.KindOther, ""),
		domain.MeetingScheduled{At: day(12, 9), Place: domain.PlaceChosen, Address: "Biblioteket"})
	h.at(m4, cB, day(12, 9), domain.MeetingHeld{Present: []uuid.UUID{cB, p4, o1}})

	want := map[string]float64{
		// Held: M1 11 h, M2 72 h, M4 240 h. Nearest rank: median = 2nd of 3, P90 = 3rd of 3.
		"immediate_help.median_hours": 72,
		"immediate_help.p90_hours":    240,
		"immediate_help.within_24h":   1.0 / 3,
		"immediate_help.within_7d":    2.0 / 3,
		// Present professionals: 2 + 2 + 1 over 3 held meetings; network 1; region 0; other 1.
		"social_network.present_per_meeting.professional": 5.0 / 3,
		"social_network.present_per_meeting.network":      1.0 / 3,
		"social_network.present_per_meeting.region":       0,
		"social_network.present_per_meeting.other":        1.0 / 3,
		"social_network.with_network":                     1.0 / 3,
		// Services present: M1 {Jobcenter, Psykiatri}, M2 {Jobcenter, Børn og Familie}, M4 {Jobcenter}.
		"social_network.services_per_meeting": 5.0 / 3,
		"citizen_present.share":               1,
		"flexibility.place.home":              1.0 / 3,
		"flexibility.place.chosen":            1.0 / 3,
		"flexibility.place.office":            1.0 / 3,
		"flexibility.place.online":            0,
		"flexibility.citizens_ground":         2.0 / 3,
		// Follow-ups F1..F4: three with a due date. As of 30 Nov: F1 done on time, F2 past due
		// and not done, F4 done late: 1 of 3 kept on time.
		"responsibility.with_owner_and_due": 3.0 / 4,
		"responsibility.kept_on_time":       1.0 / 3,
		// A's first meeting had P1 and P2; at M2 only P1 came back: 1/2. B had one meeting.
		"continuity.first_professionals_present": 0.5,
		// A met P1, P2, P3; B met P4: (3 + 1) / 2.
		"continuity.professionals_per_citizen": 2,
		// A: Jobcenter, Psykiatri, Børn og Familie; B: Jobcenter: (3 + 1) / 2.
		"duplication.services_per_citizen": 2,
		// A's three services make 3 pairs; 2 met together (M1, M2). B has none.
		"duplication.met_together": 2.0 / 3,
	}
	got := domain.Indicators(h.facts(), "2026-11-30")
	if len(got) != len(want) {
		t.Errorf("got %d indicators, want %d", len(got), len(want))
	}
	for _, ind := range got {
		w, ok := want[ind.Key]
		if !ok {
			t.Errorf("unexpected indicator %s", ind.Key)
			continue
		}
		if math.Abs(ind.Value-w) > 1e-9 {
			t.Errorf("%s: got %v (%v / %v), want %v", ind.Key, ind.Value, ind.Numerator, ind.Denominator, w)
		}
		if ind.Principle == "" || ind.Name == "" || ind.Unit == "" {
			t.Errorf("%s lacks its principle, name or unit", ind.Key)
		}
	}
}

func TestIndicatorsWithNothingToMeasure(t *testing.T) {
	for _, ind := range domain.Indicators(nil, "2026-11-30") {
		if !math.IsNaN(ind.Value) {
			t.Errorf("%s: got %v from no meetings, want NaN", ind.Key, ind.Value)
		}
	}
}
