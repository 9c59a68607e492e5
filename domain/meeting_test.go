package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// The people in the tests. Fixed ids make failures readable and golden files stable.
var (
	meetingID  = uuid.MustParse("0193a000-0000-7000-8000-000000000001")
	citizenID  = uuid.MustParse("0193a000-0000-7000-8000-00000000c001")
	otherCitID = uuid.MustParse("0193a000-0000-7000-8000-00000000c002")
	supportID  = uuid.MustParse("0193a000-0000-7000-8000-00000000b001")
	jobID      = uuid.MustParse("0193a000-0000-7000-8000-00000000a001") // professional, Jobcenter
	psykID     = uuid.MustParse("0193a000-0000-7000-8000-00000000a002") // professional, Handicap og Psykiatri
	sisterID   = uuid.MustParse("0193a000-0000-7000-8000-00000000e001") // network
	strangerID = uuid.MustParse("0193a000-0000-7000-8000-00000000f001")
	followID   = uuid.MustParse("0193a000-0000-7000-8000-0000000000f1")
	suggestID  = uuid.MustParse("0193a000-0000-7000-8000-000000000051")

	t0   = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	now  = t0.Add(time.Hour)
	when = time.Date(2026, 11, 10, 13, 0, 0, 0, time.UTC)
)

var (
	citizen       = domain.Actor{ID: citizenID, Role: domain.RoleCitizen}
	support       = domain.Actor{ID: supportID, Role: domain.RoleSupport, OnBehalfOf: citizenID}
	otherSupport  = domain.Actor{ID: supportID, Role: domain.RoleSupport, OnBehalfOf: otherCitID}
	otherCitizen  = domain.Actor{ID: otherCitID, Role: domain.RoleCitizen}
	job           = domain.Actor{ID: jobID, Role: domain.RoleProfessional, Service: "Jobcenter"}
	psyk          = domain.Actor{ID: psykID, Role: domain.RoleProfessional, Service: "Center for Handicap og Psykiatri"}
	sister        = domain.Actor{ID: sisterID, Role: domain.RoleNetwork}
	stranger      = domain.Actor{ID: strangerID, Role: domain.RoleProfessional, Service: "Center for Børn og Familie"}
	evaluator     = domain.Actor{ID: strangerID, Role: domain.RoleEvaluator}
	admin         = domain.Actor{ID: strangerID, Role: domain.RoleAdmin}
	refusedRoles  = []domain.Actor{evaluator, admin}
	notTheCitizen = []domain.Actor{job, psyk, sister, stranger, otherCitizen, otherSupport, evaluator, admin}
)

// The meeting's life as given events, each stage building on the one before.
var (
	convened  = []domain.EventData{domain.MeetingConvened{MeetingID: meetingID, CitizenID: citizenID, Title: "Mit netværksmøde"}}
	invited   = append(clone(convened), invJob, invPsyk, invSister)
	answered  = append(clone(invited), domain.InvitationAccepted{ParticipantID: jobID}, domain.InvitationDeclined{ParticipantID: psykID, Reason: "Ferie"})
	scheduled = append(clone(answered), domain.MeetingScheduled{At: when, Place: domain.PlaceHome})
	held      = append(clone(scheduled), domain.MeetingHeld{Present: []uuid.UUID{citizenID, jobID}})
	followed  = append(clone(held), domain.FollowUpRecorded{FollowUpID: followID, What: "Søge om bostøtte", Responsible: jobID, Due: "2026-12-01"})
	closed    = append(clone(followed), domain.MeetingClosed{NextAgreed: true})
	cancelled = append(clone(scheduled), domain.MeetingCancelled{Reason: "Syg"})

	invJob    = domain.ParticipantInvited{ParticipantID: jobID, Name: "Karin Holm", Kind: domain.KindProfessional, Service: "Jobcenter"}
	invPsyk   = domain.ParticipantInvited{ParticipantID: psykID, Name: "Ole Berg", Kind: domain.KindProfessional, Service: "Center for Handicap og Psykiatri"}
	invSister = domain.ParticipantInvited{ParticipantID: sisterID, Name: "Mette", Kind: domain.KindNetwork}
)

var errorAs = errors.As

func clone(es []domain.EventData) []domain.EventData { return append([]domain.EventData(nil), es...) }

// meetingFrom applies each given event as its own commit, as the log would hold them.
func meetingFrom(t testing.TB, given []domain.EventData) *domain.Meeting {
	t.Helper()
	m := &domain.Meeting{}
	for i, e := range given {
		m.Apply(domain.Commit{
			CommandID: uuid.New(), MeetingID: meetingID, CitizenID: citizenID, Actor: citizen,
			At: t0.Add(time.Duration(i) * time.Minute), Events: []domain.Event{domain.NewEvent(e)},
		})
	}
	return m
}

type decideCase struct {
	name  string
	given []domain.EventData
	actor domain.Actor
	when  domain.Command
	then  []domain.EventData // events, when the command succeeds
	kind  domain.ErrorKind   // the error's kind, when it fails
	field string             // the field the error names, if any
	msg   string             // a part of the error's message
	at    time.Time          // when the command is given; zero means now
}

func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := meetingFrom(t, tc.given)
			before := m.Clone()
			at := tc.at
			if at.IsZero() {
				at = now
			}
			got, err := m.Decide(tc.actor, tc.when, at)
			if !reflect.DeepEqual(m, before) {
				t.Fatalf("Decide changed the meeting")
			}
			if tc.kind != "" {
				if err == nil {
					t.Fatalf("got events %+v, want a %s error", got, tc.kind)
				}
				var de *domain.Error
				if !errorAs(err, &de) {
					t.Fatalf("got error %v (%T), want a domain error", err, err)
				}
				if de.Kind != tc.kind {
					t.Fatalf("got %s error %q, want %s", de.Kind, de.Message, tc.kind)
				}
				if tc.field != "" && de.Field != tc.field {
					t.Fatalf("got field %q, want %q (%v)", de.Field, tc.field, err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got message %q, want it to contain %q", err.Error(), tc.msg)
				}
				if got != nil {
					t.Fatalf("got events %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want events", err)
			}
			var want []domain.Event
			for _, d := range tc.then {
				want = append(want, domain.NewEvent(d))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got events %+v, want %+v", got, want)
			}
		})
	}
}

// refused adds a refused case for each actor who may not give the command: Forbidden for those
// who may see the meeting (and for evaluators and administrators, who give no meeting commands
// at all), NotFound — as if it did not exist — for those who may not see it.
func refused(name string, given []domain.EventData, cmd domain.Command, msg string, actors ...domain.Actor) []decideCase {
	var cs []decideCase
	seen := meetingFrom(&testing.T{}, given)
	for _, a := range actors {
		m, kind := msg, domain.Forbidden
		switch {
		case a.Role == domain.RoleEvaluator || a.Role == domain.RoleAdmin:
			m = "give no meeting commands"
		case seen.Exists() && !seen.MayView(a):
			m, kind = "does not exist", domain.NotFound
		}
		cs = append(cs, decideCase{name: name + "/refused " + string(a.Role) + " " + a.ID.String()[len(a.ID.String())-4:] + "/" + a.OnBehalfOf.String()[32:], given: given, actor: a, when: cmd, kind: kind, msg: m})
	}
	return cs
}

func TestConveneMeeting(t *testing.T) {
	cmd := &domain.ConveneMeeting{Meeting: meetingID, Citizen: citizenID, Title: "Mit netværksmøde"}
	cases := []decideCase{
		{name: "citizen convenes", actor: citizen, when: cmd, then: convened},
		{name: "support person convenes for the citizen", actor: support, when: cmd, then: convened},
		{name: "no title", actor: citizen, when: &domain.ConveneMeeting{Meeting: meetingID, Citizen: citizenID},
			then: []domain.EventData{domain.MeetingConvened{MeetingID: meetingID, CitizenID: citizenID}}},
		{name: "already exists", given: convened, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already exists"},
		{name: "missing meeting id", actor: citizen, when: &domain.ConveneMeeting{Citizen: citizenID}, kind: domain.Invalid, field: "meeting_id"},
		{name: "missing citizen", actor: citizen, when: &domain.ConveneMeeting{Meeting: meetingID}, kind: domain.Invalid, field: "citizen_id"},
		{name: "title too long", actor: citizen, when: &domain.ConveneMeeting{Meeting: meetingID, Citizen: citizenID, Title: strings.Repeat("æ", 201)},
			kind: domain.Invalid, field: "title", msg: "201 characters"},
		{name: "bad actor", actor: domain.Actor{Role: domain.RoleCitizen}, when: cmd, kind: domain.Invalid, field: "actor.id"},
	}
	cases = append(cases, refused("convene", nil, cmd, "only the citizen or their support person can convene", notTheCitizen...)...)
	runDecide(t, cases)
}

func TestCitizenSetsAgenda(t *testing.T) {
	cmd := &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"Min bolig", "Arbejde"}}
	set := domain.AgendaSet{Items: []string{"Min bolig", "Arbejde"}}
	cases := []decideCase{
		{name: "citizen sets", given: convened, actor: citizen, when: cmd, then: []domain.EventData{set}},
		{name: "support person sets", given: invited, actor: support, when: cmd, then: []domain.EventData{set}},
		{name: "replaces an agenda when scheduled", given: append(clone(scheduled), set), actor: citizen,
			when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"Kun én ting"}},
			then: []domain.EventData{domain.AgendaSet{Items: []string{"Kun én ting"}}}},
		{name: "no such meeting", actor: citizen, when: cmd, kind: domain.NotFound, msg: "does not exist"},
		{name: "another meeting id", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: strangerID, Items: []string{"x"}}, kind: domain.NotFound},
		{name: "no items", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: meetingID}, kind: domain.Invalid, field: "items"},
		{name: "blank item", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"ok", "  "}}, kind: domain.Invalid, field: "items[1]"},
		{name: "too many items", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: make([]string, 31)}, kind: domain.Invalid, field: "items"},
		{name: "item too long", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{strings.Repeat("a", 1001)}}, kind: domain.Invalid, field: "items[0]"},
		{name: "control character", given: convened, actor: citizen, when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"a\x00b"}}, kind: domain.Invalid, field: "items[0]"},
		{name: "after held", given: held, actor: citizen, when: cmd, kind: domain.Conflict, msg: "has been held"},
		{name: "after closed", given: closed, actor: citizen, when: cmd, kind: domain.Conflict, msg: "closed"},
		{name: "after cancelled", given: cancelled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "cancelled"},
	}
	cases = append(cases, refused("agenda", answered, cmd, "the agenda is the citizen's own words", notTheCitizen...)...)
	runDecide(t, cases)
}

func TestInviteParticipant(t *testing.T) {
	cmd := &domain.InviteParticipant{Meeting: meetingID, Participant: jobID, Name: "Karin Holm", Kind: domain.KindProfessional, Service: "Jobcenter"}
	cases := []decideCase{
		{name: "professional", given: convened, actor: citizen, when: cmd, then: []domain.EventData{invJob}},
		{name: "network by support person", given: convened, actor: support,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: sisterID, Name: "Mette", Kind: domain.KindNetwork},
			then: []domain.EventData{invSister}},
		{name: "region", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "Lise", Kind: domain.KindRegion, Service: "Regionspsykiatrien", ConsentVersion: domain.ConsentTextVersion},
			then: []domain.EventData{domain.ParticipantInvited{ParticipantID: strangerID, Name: "Lise", Kind: domain.KindRegion, Service: "Regionspsykiatrien", ConsentVersion: domain.ConsentTextVersion}}},
		{name: "region without consent", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "Lise", Kind: domain.KindRegion}, kind: domain.Invalid, field: "consent_version", msg: "consent"},
		{name: "another authority with an unknown consent text", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "Lise", Kind: domain.KindOther, ConsentVersion: "v0"}, kind: domain.Invalid, field: "consent_version"},
		{name: "network with a consent", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: sisterID, Name: "Mette", Kind: domain.KindNetwork, ConsentVersion: domain.ConsentTextVersion}, kind: domain.Invalid, field: "consent_version"},
		{name: "again after withdrawal", given: append(clone(invited), domain.InvitationWithdrawn{ParticipantID: jobID}), actor: citizen, when: cmd, then: []domain.EventData{invJob}},
		{name: "duplicate", given: invited, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already invited"},
		{name: "the citizen", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: citizenID, Name: "Mig", Kind: domain.KindOther, ConsentVersion: domain.ConsentTextVersion}, kind: domain.Invalid, field: "participant_id"},
		{name: "professional without service", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: jobID, Name: "Karin", Kind: domain.KindProfessional}, kind: domain.Invalid, field: "service"},
		{name: "unknown kind", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: jobID, Name: "Karin", Kind: "boss"}, kind: domain.Invalid, field: "kind"},
		{name: "no name", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: jobID, Kind: domain.KindNetwork}, kind: domain.Invalid, field: "name"},
		{name: "no participant id", given: convened, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Name: "x", Kind: domain.KindNetwork}, kind: domain.Invalid, field: "participant_id"},
		{name: "no such meeting", actor: citizen, when: cmd, kind: domain.NotFound},
		{name: "after held", given: held, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}, kind: domain.Conflict, msg: "has been held"},
		{name: "after cancelled", given: cancelled, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}, kind: domain.Conflict, msg: "cancelled"},
	}
	cases = append(cases, refused("invite", answered, &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}, "suggest someone instead", notTheCitizen...)...)
	runDecide(t, cases)
}

func TestInviteParticipantLimit(t *testing.T) {
	given := clone(convened)
	for range domain.MaxParticipants {
		given = append(given, domain.ParticipantInvited{ParticipantID: uuid.New(), Name: "x", Kind: domain.KindNetwork})
	}
	withdrawn := given[len(given)-1].(domain.ParticipantInvited).ParticipantID
	afterWithdrawal := append(clone(given), domain.InvitationWithdrawn{ParticipantID: withdrawn})
	runDecide(t, []decideCase{
		{name: "full", given: given, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}, kind: domain.Conflict, msg: "most allowed"},
		// A withdrawal frees no place: invitations ever made are what is bounded.
		{name: "full after a withdrawal", given: afterWithdrawal, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}, kind: domain.Conflict, msg: "withdrawn ones count"},
		{name: "re-inviting the withdrawn", given: afterWithdrawal, actor: citizen,
			when: &domain.InviteParticipant{Meeting: meetingID, Participant: withdrawn, Name: "x", Kind: domain.KindNetwork},
			then: []domain.EventData{domain.ParticipantInvited{ParticipantID: withdrawn, Name: "x", Kind: domain.KindNetwork}}},
	})
}

func TestMeetingChangeLimit(t *testing.T) {
	given := clone(convened)
	for len(given) < domain.MaxCommits {
		given = append(given, domain.AgendaSet{Items: []string{"igen"}})
	}
	runDecide(t, []decideCase{{name: "full", given: given, actor: citizen,
		when: &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"en gang til"}}, kind: domain.Conflict, msg: "the most allowed"}})
}

func TestWithdrawInvitation(t *testing.T) {
	cmd := &domain.WithdrawInvitation{Meeting: meetingID, Participant: psykID}
	cases := []decideCase{
		{name: "citizen withdraws", given: answered, actor: citizen, when: cmd, then: []domain.EventData{domain.InvitationWithdrawn{ParticipantID: psykID}}},
		{name: "support person withdraws", given: scheduled, actor: support, when: cmd, then: []domain.EventData{domain.InvitationWithdrawn{ParticipantID: psykID}}},
		{name: "not invited", given: answered, actor: citizen, when: &domain.WithdrawInvitation{Meeting: meetingID, Participant: strangerID}, kind: domain.NotFound, msg: "no invitation"},
		{name: "already withdrawn", given: append(clone(answered), domain.InvitationWithdrawn{ParticipantID: psykID}), actor: citizen, when: cmd, kind: domain.NotFound},
		{name: "missing participant", given: answered, actor: citizen, when: &domain.WithdrawInvitation{Meeting: meetingID}, kind: domain.Invalid, field: "participant_id"},
		{name: "after held", given: held, actor: citizen, when: cmd, kind: domain.Conflict},
		{name: "after closed", given: closed, actor: citizen, when: cmd, kind: domain.Conflict},
	}
	cases = append(cases, refused("withdraw", answered, cmd, "withdraw an invitation", notTheCitizen...)...)
	runDecide(t, cases)
}

func TestSuggestParticipant(t *testing.T) {
	cmd := &domain.SuggestParticipant{Meeting: meetingID, Suggestion: suggestID, Name: "Bo fra bostøtten", Kind: domain.KindProfessional, Service: "Socialpsykiatrien", Reason: "Kender boligen"}
	ev := domain.ParticipantSuggested{SuggestionID: suggestID, Name: "Bo fra bostøtten", Kind: domain.KindProfessional, Service: "Socialpsykiatrien", Reason: "Kender boligen"}
	cases := []decideCase{
		{name: "invited professional suggests", given: invited, actor: job, when: cmd, then: []domain.EventData{ev}},
		{name: "network member suggests after held", given: held, actor: sister, when: cmd, then: []domain.EventData{ev}},
		{name: "declined invitee may still suggest", given: answered, actor: psyk, when: cmd, then: []domain.EventData{ev}},
		{name: "the citizen invites instead", given: invited, actor: citizen, when: cmd, kind: domain.Forbidden, msg: "the citizen invites directly"},
		{name: "withdrawn invitee", given: append(clone(invited), domain.InvitationWithdrawn{ParticipantID: jobID}), actor: job, when: cmd, kind: domain.NotFound, msg: "does not exist"}, // a withdrawn invitee no longer sees the meeting
		{name: "duplicate suggestion id", given: append(clone(invited), ev), actor: job, when: cmd, kind: domain.Conflict, msg: "already exists"},
		{name: "already invited", given: invited, actor: job,
			when: &domain.SuggestParticipant{Meeting: meetingID, Suggestion: suggestID, Participant: psykID, Name: "Ole", Kind: domain.KindProfessional}, kind: domain.Conflict, msg: "already invited"},
		{name: "the citizen suggested", given: invited, actor: job,
			when: &domain.SuggestParticipant{Meeting: meetingID, Suggestion: suggestID, Participant: citizenID, Name: "x", Kind: domain.KindOther}, kind: domain.Invalid, field: "participant_id"},
		{name: "missing suggestion id", given: invited, actor: job, when: &domain.SuggestParticipant{Meeting: meetingID, Name: "x", Kind: domain.KindOther}, kind: domain.Invalid, field: "suggestion_id"},
		{name: "after closed", given: closed, actor: job, when: cmd, kind: domain.Conflict, msg: "closed"},
	}
	cases = append(cases, refused("suggest", invited, cmd, "only an invited participant", stranger, otherCitizen, otherSupport, evaluator, admin)...)
	runDecide(t, cases)
}

func TestRespondToInvitation(t *testing.T) {
	accept := &domain.RespondToInvitation{Meeting: meetingID, Accept: true}
	decline := &domain.RespondToInvitation{Meeting: meetingID, Reason: "Kan ikke den dag"}
	cases := []decideCase{
		{name: "accept", given: invited, actor: job, when: accept, then: []domain.EventData{domain.InvitationAccepted{ParticipantID: jobID}}},
		{name: "decline with reason", given: invited, actor: sister, when: decline, then: []domain.EventData{domain.InvitationDeclined{ParticipantID: sisterID, Reason: "Kan ikke den dag"}}},
		{name: "change of mind", given: answered, actor: psyk, when: accept, then: []domain.EventData{domain.InvitationAccepted{ParticipantID: psykID}}},
		{name: "accept twice", given: answered, actor: job, when: accept, kind: domain.Conflict, msg: "already accepted"},
		{name: "decline twice", given: answered, actor: psyk, when: decline, kind: domain.Conflict, msg: "already declined"},
		{name: "reason on accept", given: invited, actor: job, when: &domain.RespondToInvitation{Meeting: meetingID, Accept: true, Reason: "x"}, kind: domain.Invalid, field: "reason"},
		{name: "withdrawn", given: append(clone(invited), domain.InvitationWithdrawn{ParticipantID: jobID}), actor: job, when: accept, kind: domain.NotFound, msg: "does not exist"},
		{name: "after held", given: held, actor: psyk, when: accept, kind: domain.Conflict, msg: "has been held"},
		{name: "after cancelled", given: cancelled, actor: psyk, when: accept, kind: domain.Conflict, msg: "cancelled"},
		{name: "no such meeting", actor: job, when: accept, kind: domain.NotFound},
	}
	cases = append(cases, refused("respond", invited, accept, "only someone invited", citizen, support, stranger, otherCitizen, evaluator, admin)...)
	runDecide(t, cases)
}

func TestScheduleMeeting(t *testing.T) {
	cmd := &domain.ScheduleMeeting{Meeting: meetingID, At: when, Place: domain.PlaceHome}
	later := when.Add(24 * time.Hour)
	cases := []decideCase{
		{name: "first time", given: answered, actor: citizen, when: cmd, then: []domain.EventData{domain.MeetingScheduled{At: when, Place: domain.PlaceHome}}},
		{name: "before anyone is invited", given: convened, actor: support, when: cmd, then: []domain.EventData{domain.MeetingScheduled{At: when, Place: domain.PlaceHome}}},
		{name: "moved", given: scheduled, actor: citizen,
			when: &domain.ScheduleMeeting{Meeting: meetingID, At: later, Place: domain.PlaceChosen, Address: "Biblioteket, Slagelse"},
			then: []domain.EventData{domain.MeetingRescheduled{At: later, Place: domain.PlaceChosen, Address: "Biblioteket, Slagelse"}}},
		{name: "same time and place", given: scheduled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already at that time"},
		{name: "in the past", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: now.Add(-time.Minute), Place: domain.PlaceOnline}, kind: domain.Invalid, field: "at", msg: "past"},
		{name: "no time", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, Place: domain.PlaceHome}, kind: domain.Invalid, field: "at"},
		{name: "no place", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: when}, kind: domain.Invalid, field: "place"},
		{name: "unknown place", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: when, Place: "moon"}, kind: domain.Invalid, field: "place"},
		{name: "chosen place without address", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: when, Place: domain.PlaceChosen}, kind: domain.Invalid, field: "address"},
		{name: "address too long", given: convened, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: when, Place: domain.PlaceOffice, Address: strings.Repeat("x", 501)}, kind: domain.Invalid, field: "address"},
		{name: "after held", given: held, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: later, Place: domain.PlaceHome}, kind: domain.Conflict},
		{name: "after cancelled", given: cancelled, actor: citizen, when: &domain.ScheduleMeeting{Meeting: meetingID, At: later, Place: domain.PlaceHome}, kind: domain.Conflict},
	}
	cases = append(cases, refused("schedule", answered, cmd, "choose the time and place", notTheCitizen...)...)
	runDecide(t, cases)
}

func TestRecordAttendance(t *testing.T) {
	cmd := &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{citizenID, jobID}}
	cases := []decideCase{
		{name: "citizen records", given: scheduled, actor: citizen, when: cmd, then: []domain.EventData{domain.MeetingHeld{Present: []uuid.UUID{citizenID, jobID}}}},
		{name: "accepted professional records", given: scheduled, actor: job, when: cmd, then: []domain.EventData{domain.MeetingHeld{Present: []uuid.UUID{citizenID, jobID}}}},
		{name: "declined invitee came anyway", given: scheduled, actor: support,
			when: &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{psykID, citizenID}},
			then: []domain.EventData{domain.MeetingHeld{Present: []uuid.UUID{psykID, citizenID}}}},
		{name: "without the citizen", given: scheduled, actor: job, when: &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{jobID}},
			kind: domain.Invalid, field: "present", msg: "nothing about the citizen without the citizen"},
		{name: "someone not invited", given: scheduled, actor: citizen, when: &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{citizenID, strangerID}},
			kind: domain.Invalid, field: "present[1]", msg: "not invited"},
		{name: "withdrawn invitee", given: append(clone(scheduled), domain.InvitationWithdrawn{ParticipantID: sisterID}), actor: citizen,
			when: &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{citizenID, sisterID}}, kind: domain.Invalid, field: "present[1]"},
		{name: "twice the same", given: scheduled, actor: citizen, when: &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{citizenID, citizenID}}, kind: domain.Invalid, field: "present[1]"},
		{name: "nobody", given: scheduled, actor: citizen, when: &domain.RecordAttendance{Meeting: meetingID}, kind: domain.Invalid, field: "present"},
		{name: "not scheduled", given: answered, actor: citizen, when: cmd, kind: domain.Conflict, msg: "schedule it"},
		{name: "already held", given: held, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already recorded"},
		{name: "cancelled", given: cancelled, actor: citizen, when: cmd, kind: domain.Conflict},
		{name: "closed", given: closed, actor: citizen, when: cmd, kind: domain.Conflict},
		{name: "no such meeting", actor: citizen, when: cmd, kind: domain.NotFound},
	}
	// psyk declined and sister has not answered: only those who accepted may record.
	cases = append(cases, refused("attendance", scheduled, cmd, "a participant who accepted", psyk, sister, stranger, otherCitizen, otherSupport, evaluator, admin)...)
	for i := range cases {
		cases[i].at = when // at the meeting
	}
	cases = append(cases,
		decideCase{name: "too early", given: scheduled, actor: citizen, when: cmd, at: when.Add(-61 * time.Minute), kind: domain.Conflict, msg: "is scheduled for"},
		decideCase{name: "a little early", given: scheduled, actor: citizen, when: cmd, at: when.Add(-59 * time.Minute), then: []domain.EventData{domain.MeetingHeld{Present: []uuid.UUID{citizenID, jobID}}}},
	)
	runDecide(t, cases)
}

func TestRecordFollowUp(t *testing.T) {
	cmd := &domain.RecordFollowUp{Meeting: meetingID, FollowUp: followID, What: "Søge om bostøtte", Responsible: jobID, Due: "2026-12-01"}
	ev := domain.FollowUpRecorded{FollowUpID: followID, What: "Søge om bostøtte", Responsible: jobID, Due: "2026-12-01"}
	other := uuid.MustParse("0193a000-0000-7000-8000-0000000000f2")
	cases := []decideCase{
		{name: "citizen records", given: held, actor: citizen, when: cmd, then: []domain.EventData{ev}},
		{name: "attending professional records", given: held, actor: job, when: cmd, then: []domain.EventData{ev}},
		{name: "citizen responsible, no due date", given: held, actor: support,
			when: &domain.RecordFollowUp{Meeting: meetingID, FollowUp: followID, What: "Ringe til lægen", Responsible: citizenID},
			then: []domain.EventData{domain.FollowUpRecorded{FollowUpID: followID, What: "Ringe til lægen", Responsible: citizenID}}},
		{name: "responsible did not attend", given: held, actor: citizen,
			when: &domain.RecordFollowUp{Meeting: meetingID, FollowUp: followID, What: "x", Responsible: psykID}, kind: domain.Invalid, field: "responsible"},
		{name: "bad due date", given: held, actor: citizen,
			when: &domain.RecordFollowUp{Meeting: meetingID, FollowUp: followID, What: "x", Responsible: jobID, Due: "1/12/2026"}, kind: domain.Invalid, field: "due"},
		{name: "nothing agreed", given: held, actor: citizen,
			when: &domain.RecordFollowUp{Meeting: meetingID, FollowUp: followID, Responsible: jobID}, kind: domain.Invalid, field: "what"},
		{name: "duplicate id", given: followed, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already exists"},
		{name: "before held", given: scheduled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "record attendance first"},
		{name: "after closed", given: closed, actor: citizen,
			when: &domain.RecordFollowUp{Meeting: meetingID, FollowUp: other, What: "x", Responsible: jobID}, kind: domain.Conflict, msg: "closed"},
	}
	// psyk was invited but absent; sister never attended.
	cases = append(cases, refused("follow-up", held, cmd, "a participant who attended", psyk, sister, stranger, otherCitizen, otherSupport, evaluator, admin)...)
	runDecide(t, cases)
}

func TestCompleteFollowUp(t *testing.T) {
	cmd := &domain.CompleteFollowUp{Meeting: meetingID, FollowUp: followID}
	done := []domain.EventData{domain.FollowUpCompleted{FollowUpID: followID}}
	cases := []decideCase{
		{name: "responsible completes", given: followed, actor: job, when: cmd, then: done},
		{name: "citizen completes", given: followed, actor: citizen, when: cmd, then: done},
		{name: "after the meeting closed", given: closed, actor: job, when: cmd, then: done},
		{name: "twice", given: append(clone(followed), domain.FollowUpCompleted{FollowUpID: followID}), actor: job, when: cmd, kind: domain.Conflict, msg: "already done"},
		{name: "no such follow-up", given: followed, actor: job, when: &domain.CompleteFollowUp{Meeting: meetingID, FollowUp: strangerID}, kind: domain.NotFound},
		{name: "missing id", given: followed, actor: job, when: &domain.CompleteFollowUp{Meeting: meetingID}, kind: domain.Invalid, field: "follow_up_id"},
	}
	cases = append(cases, refused("complete", followed, cmd, "the person responsible", psyk, sister, stranger, otherCitizen, otherSupport, evaluator, admin)...)
	runDecide(t, cases)
}

func TestCloseMeeting(t *testing.T) {
	cmd := &domain.CloseMeeting{Meeting: meetingID, NextAgreed: true}
	cases := []decideCase{
		{name: "citizen closes", given: followed, actor: citizen, when: cmd, then: []domain.EventData{domain.MeetingClosed{NextAgreed: true}}},
		{name: "participant closes", given: held, actor: job, when: &domain.CloseMeeting{Meeting: meetingID}, then: []domain.EventData{domain.MeetingClosed{}}},
		{name: "not held", given: scheduled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "only a held meeting"},
		{name: "twice", given: closed, actor: citizen, when: cmd, kind: domain.Conflict, msg: "closed"},
		{name: "cancelled", given: cancelled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "cancelled"},
	}
	// psyk declined and sister never answered: neither attended.
	cases = append(cases, refused("close", held, cmd, "who attended can close", psyk, sister, stranger, otherCitizen, otherSupport, evaluator, admin)...)
	runDecide(t, cases)
}

func TestCancelMeeting(t *testing.T) {
	cmd := &domain.CancelMeeting{Meeting: meetingID, Reason: "Syg"}
	cases := []decideCase{
		{name: "citizen cancels", given: scheduled, actor: citizen, when: cmd, then: []domain.EventData{domain.MeetingCancelled{Reason: "Syg"}}},
		{name: "support person cancels before scheduling", given: convened, actor: support, when: &domain.CancelMeeting{Meeting: meetingID}, then: []domain.EventData{domain.MeetingCancelled{}}},
		{name: "after held", given: held, actor: citizen, when: cmd, kind: domain.Conflict, msg: "close it instead"},
		{name: "twice", given: cancelled, actor: citizen, when: cmd, kind: domain.Conflict, msg: "cancelled"},
		{name: "reason too long", given: scheduled, actor: citizen, when: &domain.CancelMeeting{Meeting: meetingID, Reason: strings.Repeat("x", 1001)}, kind: domain.Invalid, field: "reason"},
	}
	cases = append(cases, refused("cancel", scheduled, cmd, "cancel the meeting", notTheCitizen...)...)
	runDecide(t, cases)
}

// TestNoCommandAfterClosedOrCancelled checks the rule that no command changes a closed or cancelled
// meeting, for every command at once (completing an open follow-up after closing is the one
// thing allowed, and is tested above).
func TestNoCommandAfterClosedOrCancelled(t *testing.T) {
	later := when.Add(48 * time.Hour)
	cmds := []struct {
		actor domain.Actor
		cmd   domain.Command
	}{
		{citizen, &domain.CitizenSetsAgenda{Meeting: meetingID, Items: []string{"x"}}},
		{citizen, &domain.InviteParticipant{Meeting: meetingID, Participant: strangerID, Name: "x", Kind: domain.KindNetwork}},
		{citizen, &domain.WithdrawInvitation{Meeting: meetingID, Participant: jobID}},
		{job, &domain.SuggestParticipant{Meeting: meetingID, Suggestion: suggestID, Name: "x", Kind: domain.KindOther}},
		{psyk, &domain.RespondToInvitation{Meeting: meetingID, Accept: true}},
		{citizen, &domain.ScheduleMeeting{Meeting: meetingID, At: later, Place: domain.PlaceOnline}},
		{citizen, &domain.RecordAttendance{Meeting: meetingID, Present: []uuid.UUID{citizenID}}},
		{citizen, &domain.RecordFollowUp{Meeting: meetingID, FollowUp: strangerID, What: "x", Responsible: citizenID}},
		{citizen, &domain.CloseMeeting{Meeting: meetingID}},
		{citizen, &domain.CancelMeeting{Meeting: meetingID}},
	}
	for _, state := range []struct {
		name  string
		given []domain.EventData
	}{{"closed", closed}, {"cancelled", cancelled}} {
		m := meetingFrom(t, state.given)
		for _, c := range cmds {
			if _, err := m.Decide(c.actor, c.cmd, now); !domain.IsKind(err, domain.Conflict) {
				t.Errorf("%s: %s: got %v, want a conflict", state.name, c.cmd.CommandName(), err)
			}
		}
	}
}

func TestApplyBuildsState(t *testing.T) {
	m := meetingFrom(t, append(clone(closed), domain.AgendaSet{Items: []string{"Bolig"}}, domain.FollowUpCompleted{FollowUpID: followID}))
	if m.ID() != meetingID || m.CitizenID() != citizenID || m.Title() != "Mit netværksmøde" {
		t.Fatalf("got id %s citizen %s title %q", m.ID(), m.CitizenID(), m.Title())
	}
	if m.Status() != domain.StatusClosed || !m.NextAgreed() {
		t.Fatalf("got status %s next %v, want closed with next agreed", m.Status(), m.NextAgreed())
	}
	ps := m.Participants()
	if len(ps) != 3 {
		t.Fatalf("got %d participants, want 3", len(ps))
	}
	want := []struct {
		answer  domain.Answer
		present bool
	}{{domain.AnswerAccepted, true}, {domain.AnswerDeclined, false}, {domain.AnswerPending, false}}
	for i, w := range want {
		if ps[i].Answer != w.answer || ps[i].Present != w.present {
			t.Errorf("participant %d (%s): got %s present=%v, want %s present=%v", i, ps[i].Name, ps[i].Answer, ps[i].Present, w.answer, w.present)
		}
	}
	if ps[1].Reason != "Ferie" {
		t.Errorf("got decline reason %q, want Ferie", ps[1].Reason)
	}
	s, ok := m.Schedule()
	if !ok || !s.At.Equal(when) || s.Place != domain.PlaceHome {
		t.Fatalf("got schedule %+v %v", s, ok)
	}
	fs := m.FollowUps()
	if len(fs) != 1 || !fs[0].Completed || fs[0].Responsible != jobID {
		t.Fatalf("got follow-ups %+v", fs)
	}
	if m.ConvenedAt() != t0 || m.HeldAt().IsZero() || m.Commits() != len(closed)+2 {
		t.Fatalf("got convened %v held %v commits %d", m.ConvenedAt(), m.HeldAt(), m.Commits())
	}
}

func TestCloneSharesNothing(t *testing.T) {
	m := meetingFrom(t, append(clone(followed), domain.AgendaSet{Items: []string{"a", "b"}},
		domain.ParticipantSuggested{SuggestionID: suggestID, Name: "x", Kind: domain.KindOther}))
	c := m.Clone()
	c.Apply(domain.Commit{At: now, Actor: citizen, Events: []domain.Event{
		domain.NewEvent(domain.AgendaSet{Items: []string{"z"}}),
		domain.NewEvent(domain.InvitationDeclined{ParticipantID: jobID}),
		domain.NewEvent(domain.FollowUpCompleted{FollowUpID: followID}),
		domain.NewEvent(domain.MeetingRescheduled{At: now, Place: domain.PlaceOnline}),
		domain.NewEvent(domain.ParticipantSuggested{SuggestionID: strangerID, Name: "y", Kind: domain.KindOther}),
	}})
	if got := m.Agenda(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("original agenda changed to %v", got)
	}
	if m.Participants()[0].Answer != domain.AnswerAccepted {
		t.Errorf("original participant changed")
	}
	if m.FollowUps()[0].Completed {
		t.Errorf("original follow-up changed")
	}
	if s, _ := m.Schedule(); s.Place != domain.PlaceHome {
		t.Errorf("original schedule changed")
	}
	if len(m.Suggestions()) != 1 {
		t.Errorf("original suggestions changed")
	}
}

func TestMayView(t *testing.T) {
	m := meetingFrom(t, append(clone(held), domain.InvitationWithdrawn{ParticipantID: sisterID}))
	for _, tc := range []struct {
		actor domain.Actor
		want  bool
	}{
		{citizen, true}, {support, true}, {job, true}, {psyk, true},
		{sister, false}, {stranger, false}, {otherCitizen, false}, {otherSupport, false}, {evaluator, false}, {admin, false},
	} {
		if got := m.MayView(tc.actor); got != tc.want {
			t.Errorf("%s %s: got %v, want %v", tc.actor.Role, tc.actor.ID, got, tc.want)
		}
	}
	if (&domain.Meeting{}).MayView(citizen) {
		t.Errorf("a meeting that does not exist is visible")
	}
}

func TestEveryCommandIsRegistered(t *testing.T) {
	names := domain.CommandNames()
	if len(names) != 15 {
		t.Fatalf("got %d commands, want the 12 meeting commands of DESIGN.md, withdraw-consent and the 2 of the citizen's mandates", len(names))
	}
	for _, n := range names {
		c, ok := domain.NewCommand(n)
		if !ok || c.CommandName() != n {
			t.Errorf("NewCommand(%q) = %v, %v", n, c, ok)
		}
		if domain.CommandSummary(n) == "" {
			t.Errorf("%s has no summary", n)
		}
	}
	if _, ok := domain.NewCommand("delete-everything"); ok {
		t.Errorf("an unknown command was made")
	}
}

// TestWithdrawConsent: the citizen takes back the consent to share with someone from the region;
// from then on that person cannot see the meeting or act in it, also after it is closed.
func TestWithdrawConsent(t *testing.T) {
	lise := domain.Actor{ID: strangerID, Role: domain.RoleProfessional, Service: "Regionspsykiatrien"}
	withConsent := append(clone(convened), domain.ParticipantInvited{ParticipantID: strangerID, Name: "Lise", Kind: domain.KindRegion,
		Service: "Regionspsykiatrien", ConsentVersion: domain.ConsentTextVersion}, invJob)
	cmd := &domain.WithdrawConsent{Meeting: meetingID, Participant: strangerID}
	withdrawn := append(clone(withConsent), domain.ConsentWithdrawn{ParticipantID: strangerID})
	cases := []decideCase{
		{name: "by the citizen", given: withConsent, actor: citizen, when: cmd, then: []domain.EventData{domain.ConsentWithdrawn{ParticipantID: strangerID}}},
		{name: "by the support person", given: withConsent, actor: support, when: cmd, then: []domain.EventData{domain.ConsentWithdrawn{ParticipantID: strangerID}}},
		{name: "after the meeting is closed", given: append(clone(withConsent), domain.MeetingCancelled{}), actor: citizen, when: cmd, then: []domain.EventData{domain.ConsentWithdrawn{ParticipantID: strangerID}}},
		{name: "twice", given: withdrawn, actor: citizen, when: cmd, kind: domain.Conflict, msg: "already withdrawn"},
		{name: "invited without consent", given: withConsent, actor: citizen, when: &domain.WithdrawConsent{Meeting: meetingID, Participant: jobID}, kind: domain.NotFound, msg: "consent"},
		{name: "by the participant", given: withConsent, actor: lise, when: cmd, kind: domain.Forbidden, msg: "withdraw a consent"},
		{name: "the participant answers after it", given: withdrawn, actor: lise, when: &domain.RespondToInvitation{Meeting: meetingID, Accept: true}, kind: domain.NotFound},
	}
	runDecide(t, cases)
	m := meetingFrom(t, withdrawn)
	if m.MayView(lise) {
		t.Fatal("the participant still sees the meeting after the consent was withdrawn")
	}
	if !m.MayView(job) || !m.MayView(citizen) {
		t.Fatal("withdrawing one consent took others' access")
	}
	p := m.Participants()[0]
	if p.ConsentVersion != domain.ConsentTextVersion || !p.ConsentWithdrawn {
		t.Fatalf("the participant as the history shows them: %+v", p)
	}
}
