package domain_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// givenCitizen folds the events into a citizen's aggregate, each as a commit of its own by actor.
func givenCitizen(by domain.Actor, events ...domain.EventData) *domain.Citizen {
	c := &domain.Citizen{}
	for i, d := range events {
		c.Apply(domain.CitizenCommit{CommandID: uuid.New(), Command: "given", CitizenID: citizenID, Actor: by,
			At: t0.Add(time.Duration(i) * time.Minute), Events: []domain.Event{domain.NewEvent(d)}})
	}
	return c
}

var (
	caseworker = domain.Actor{ID: jobID, Role: domain.RoleProfessional, Service: "Jobcenter"}
	granted    = domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Name: "Bo", Evidence: domain.EvidenceSignIn}
)

func TestCitizenDecides(t *testing.T) {
	grant := &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Name: "Bo"}
	for _, tc := range []struct {
		name  string
		given []domain.EventData
		actor domain.Actor
		when  domain.CitizenCommand
		then  []domain.EventData
		kind  domain.ErrorKind
		rule  domain.Rule
		msg   string
	}{
		{name: "the citizen gives a mandate, on their own sign-in", actor: citizen, when: grant,
			then: []domain.EventData{granted}},
		{name: "with a last day", actor: citizen,
			when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateRepresentative, Until: "2026-12-31"},
			then: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateRepresentative, Until: "2026-12-31", Evidence: domain.EvidenceSignIn}}},
		{name: "a caseworker on a written power of attorney", actor: caseworker,
			when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Document: "J.nr. 27.12.00-2026"},
			then: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Evidence: domain.EvidencePowerOfAttorney, Document: "J.nr. 27.12.00-2026"}}},
		{name: "a caseworker without one is refused", actor: caseworker, when: grant, kind: domain.Forbidden, rule: domain.RuleMandateNeedsDocument, msg: "written power of attorney"},
		{name: "another citizen is refused", actor: otherCitizen, when: grant, kind: domain.Forbidden, rule: domain.RuleMandateNotYours, msg: "only for themself"},
		{name: "a support person cannot pass a mandate on", given: []domain.EventData{granted}, actor: support,
			when: &domain.GrantMandate{Citizen: citizenID, Person: sisterID, Kind: domain.MandateSupport}, kind: domain.Forbidden, rule: domain.RuleMandateNotYours},
		{name: "a network member is refused", actor: sister, when: grant, kind: domain.Forbidden},
		{name: "an evaluator is refused", actor: evaluator, when: grant, kind: domain.Forbidden, msg: "evaluators give no commands"},
		{name: "an admin is refused", actor: admin, when: grant, kind: domain.Forbidden},
		{name: "not to the citizen themself", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: citizenID, Kind: domain.MandateSupport}, kind: domain.Invalid, msg: "is the citizen"},
		{name: "a last day that has passed", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Until: "2026-11-01"}, kind: domain.Invalid, msg: "has passed"},
		{name: "an unknown kind", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: "boss"}, kind: domain.Invalid, msg: "not a kind of mandate"},
		{name: "a malformed day", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Until: "31-12-2026"}, kind: domain.Invalid, msg: "not a date"},
		{name: "no citizen named", actor: caseworker, when: &domain.GrantMandate{Person: supportID, Kind: domain.MandateSupport, Document: "x"}, kind: domain.Invalid, msg: "citizen_id"},
		{name: "the same mandate twice", given: []domain.EventData{granted}, actor: citizen, when: grant, kind: domain.Conflict, rule: domain.RuleMandateHeld},
		{name: "changing its kind is a new grant", given: []domain.EventData{granted}, actor: citizen,
			when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateRepresentative, Name: "Bo"},
			then: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateRepresentative, Name: "Bo", Evidence: domain.EvidenceSignIn}}},
		{name: "the citizen takes it back", given: []domain.EventData{granted}, actor: citizen, when: &domain.RevokeMandate{Citizen: citizenID, Person: supportID},
			then: []domain.EventData{domain.MandateRevoked{Person: supportID, Evidence: domain.EvidenceSignIn}}},
		{name: "its holder gives it up", given: []domain.EventData{granted}, actor: support, when: &domain.RevokeMandate{Citizen: citizenID, Person: supportID},
			then: []domain.EventData{domain.MandateRevoked{Person: supportID, Evidence: domain.EvidenceRenounced}}},
		{name: "a caseworker on a written revocation", given: []domain.EventData{granted}, actor: caseworker, when: &domain.RevokeMandate{Citizen: citizenID, Person: supportID, Document: "brev 3/12"},
			then: []domain.EventData{domain.MandateRevoked{Person: supportID, Evidence: domain.EvidencePowerOfAttorney, Document: "brev 3/12"}}},
		{name: "another support person cannot take it back", given: []domain.EventData{granted}, actor: domain.Actor{ID: sisterID, Role: domain.RoleSupport, OnBehalfOf: citizenID},
			when: &domain.RevokeMandate{Citizen: citizenID, Person: supportID}, kind: domain.Forbidden},
		{name: "limited to some meetings", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Meetings: []uuid.UUID{meetingID}},
			then: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Evidence: domain.EvidenceSignIn, Meetings: []uuid.UUID{meetingID}}}},
		{name: "limiting a held mandate is a new grant", given: []domain.EventData{granted}, actor: citizen,
			when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Name: "Bo", Meetings: []uuid.UUID{meetingID}},
			then: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Name: "Bo", Evidence: domain.EvidenceSignIn, Meetings: []uuid.UUID{meetingID}}}},
		{name: "a meeting named twice", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Meetings: []uuid.UUID{meetingID, meetingID}},
			kind: domain.Invalid, msg: "twice"},
		{name: "an empty meeting", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Meetings: []uuid.UUID{uuid.Nil}},
			kind: domain.Invalid, msg: "meeting_ids: meeting 1 is empty"},
		{name: "too many meetings", actor: citizen, when: &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport, Meetings: manyMeetings(domain.MaxMandateMeetings + 1)},
			kind: domain.Invalid, msg: "at most"},
		{name: "nothing to take back", actor: citizen, when: &domain.RevokeMandate{Citizen: citizenID, Person: supportID}, kind: domain.Conflict, rule: domain.RuleNoMandate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := givenCitizen(citizen, tc.given...)
			before := c.History()
			events, err := c.Decide(tc.actor, tc.when, now)
			if !reflect.DeepEqual(c.History(), before) {
				t.Fatalf("Decide changed the aggregate")
			}
			if tc.kind != "" {
				if !domain.IsKind(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got %v, want a %s error containing %q", err, tc.kind, tc.msg)
				}
				if tc.rule != "" {
					if de := (*domain.Error)(nil); !asError(err, &de) || de.Rule != tc.rule {
						t.Fatalf("got %v, want rule %s", err, tc.rule)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []domain.EventData
			for _, e := range events {
				got = append(got, e.Data)
			}
			if !reflect.DeepEqual(got, tc.then) {
				t.Fatalf("got %+v, want %+v", got, tc.then)
			}
		})
	}
}

func asError(err error, de **domain.Error) bool {
	e, ok := err.(*domain.Error)
	*de = e
	return ok
}

func TestMandateStands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []domain.EventData
		actor domain.Actor
		at    time.Time
		rule  domain.Rule
	}{
		{name: "a standing mandate", given: []domain.EventData{granted}, actor: support, at: now},
		{name: "the citizen needs none", actor: citizen, at: now},
		{name: "a professional needs none", actor: job, at: now},
		{name: "no mandate", actor: support, at: now, rule: domain.RuleNoMandate},
		{name: "after revocation", given: []domain.EventData{granted, domain.MandateRevoked{Person: supportID, Evidence: domain.EvidenceSignIn}}, actor: support, at: now, rule: domain.RuleNoMandate},
		{name: "a mandate for someone else", given: []domain.EventData{domain.MandateGranted{Person: sisterID, Kind: domain.MandateSupport, Evidence: domain.EvidenceSignIn}}, actor: support, at: now, rule: domain.RuleNoMandate},
		{name: "on its last day, Danish time", given: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Until: "2026-12-31", Evidence: domain.EvidenceSignIn}},
			actor: support, at: time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC)},
		{name: "past its last day", given: []domain.EventData{domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Until: "2026-12-31", Evidence: domain.EvidenceSignIn}},
			actor: support, at: time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), rule: domain.RuleMandateExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := givenCitizen(citizen, tc.given...).CheckMandate(tc.actor, tc.at)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var de *domain.Error
			if !asError(err, &de) || de.Kind != domain.Forbidden || de.Rule != tc.rule {
				t.Fatalf("got %v, want forbidden by %s", err, tc.rule)
			}
		})
	}
}

func TestMeetingRefusesCitizenCommands(t *testing.T) {
	m := meetingFrom(t, convened)
	if _, err := m.Decide(citizen, &domain.GrantMandate{Citizen: citizenID, Person: supportID, Kind: domain.MandateSupport}, now); !domain.IsKind(err, domain.Invalid) {
		t.Fatalf("got %v, want invalid", err)
	}
}

// goldenCitizenEvents holds one sample of every citizen event type, stored like goldenEvents in
// testdata/golden/<Type>.v<version>.json in the citizen commit envelope.
var goldenCitizenEvents = map[string]domain.EventData{
	domain.TypeMandateGranted: domain.MandateGranted{Person: supportID, Kind: domain.MandateRepresentative, Name: "Bo Hansen", Until: "2027-06-30", Evidence: domain.EvidencePowerOfAttorney, Document: "J.nr. 27.12.00-2026"},
	domain.TypeMandateRevoked: domain.MandateRevoked{Person: supportID, Evidence: domain.EvidenceSignIn},
}

func manyMeetings(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

// TestMandateAllows: what a standing mandate lets its holder do. A bisidder cannot give the
// citizen's consent to share with the region or another authority; a representative can. A
// mandate limited to some meetings reaches those alone, and convenes none. Anyone but a support
// actor (the zero Mandate) is not limited here.
func TestMandateAllows(t *testing.T) {
	other := uuid.New()
	bisidder := domain.Mandate{Person: supportID, Kind: domain.MandateSupport}
	representative := domain.Mandate{Person: supportID, Kind: domain.MandateRepresentative}
	oneMeeting := domain.Mandate{Person: supportID, Kind: domain.MandateRepresentative, Meetings: []uuid.UUID{meetingID}}
	invite := func(kind domain.ParticipantKind) *domain.InviteParticipant {
		return &domain.InviteParticipant{Meeting: meetingID, Participant: psykID, Name: "Lene", Kind: kind, ConsentVersion: domain.ConsentTextVersion}
	}
	agenda := func(m uuid.UUID) *domain.CitizenSetsAgenda {
		return &domain.CitizenSetsAgenda{Meeting: m, Items: []string{"Bolig"}}
	}
	for _, tc := range []struct {
		name string
		m    domain.Mandate
		cmd  domain.Command
		rule domain.Rule
	}{
		{"a bisidder sets the agenda", bisidder, agenda(meetingID), ""},
		{"a bisidder invites from the municipality", bisidder, &domain.InviteParticipant{Meeting: meetingID, Participant: jobID, Name: "Karin", Kind: domain.KindProfessional, Service: "Jobcenter"}, ""},
		{"a bisidder cannot consent to share with the region", bisidder, invite(domain.KindRegion), domain.RuleConsentNotBisidder},
		{"nor with another authority", bisidder, invite(domain.KindOther), domain.RuleConsentNotBisidder},
		{"a bisidder withdraws a consent", bisidder, &domain.WithdrawConsent{Meeting: meetingID, Participant: psykID}, ""},
		{"a bisidder convenes", bisidder, &domain.ConveneMeeting{Meeting: other, Citizen: citizenID}, ""},
		{"a representative consents to share", representative, invite(domain.KindRegion), ""},
		{"the covered meeting", oneMeeting, agenda(meetingID), ""},
		{"another meeting", oneMeeting, agenda(other), domain.RuleMandateScope},
		{"a new meeting", oneMeeting, &domain.ConveneMeeting{Meeting: other, Citizen: citizenID}, domain.RuleMandateScope},
		{"giving it up, whatever it covers", oneMeeting, &domain.RevokeMandate{Citizen: citizenID, Person: supportID}, ""},
		{"not a support actor", domain.Mandate{}, invite(domain.KindRegion), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Allows(tc.cmd)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if de := (*domain.Error)(nil); !asError(err, &de) || de.Kind != domain.Forbidden || de.Rule != tc.rule {
				t.Fatalf("got %v, want forbidden by %s", err, tc.rule)
			}
		})
	}
}

// TestMandateLimitReadsBack: a grant limited to meetings is stored and read back with them, and
// the aggregate's mandate covers those alone; a grant written before the limit existed (the
// golden file) reads as one covering every meeting.
func TestMandateLimitReadsBack(t *testing.T) {
	g := domain.MandateGranted{Person: supportID, Kind: domain.MandateSupport, Evidence: domain.EvidenceSignIn, Meetings: []uuid.UUID{meetingID}}
	cc := domain.CitizenCommit{CommandID: uuid.New(), Command: domain.CmdGrantMandate, CitizenID: citizenID, Actor: citizen, At: t0, Events: []domain.Event{domain.NewEvent(g)}}
	raw, err := domain.EncodeCitizenCommit(cc)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.DecodeCitizenCommit(raw)
	if err != nil || !reflect.DeepEqual(back, cc) {
		t.Fatalf("read back %+v, %v", back, err)
	}
	c := &domain.Citizen{}
	c.Apply(back)
	m, err := c.StandingMandate(support, now)
	if err != nil || !m.Covers(meetingID) || m.Covers(uuid.New()) {
		t.Fatalf("the mandate %+v (%v) covers other meetings or not its own", m, err)
	}
	old, err := os.ReadFile(filepath.Join("testdata", "golden", domain.TypeMandateGranted+".v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if cc, err = domain.DecodeCitizenCommit(old); err != nil {
		t.Fatal(err)
	}
	if d := cc.Events[0].Data.(domain.MandateGranted); d.Meetings != nil {
		t.Fatalf("an old grant reads as limited to %v", d.Meetings)
	}
}

func TestCitizenGoldenFiles(t *testing.T) {
	var have []string
	for k := range goldenCitizenEvents {
		have = append(have, k)
	}
	slices.Sort(have)
	if want := domain.CitizenEventTypes(); !slices.Equal(have, want) {
		t.Fatalf("golden samples for %v, citizen event types %v", have, want)
	}
	for typ, d := range goldenCitizenEvents {
		t.Run(typ, func(t *testing.T) {
			cc := domain.CitizenCommit{CommandID: uuid.MustParse("0193a000-0000-7000-8000-0000000000cc"), Command: "golden",
				CitizenID: citizenID, Actor: citizen, At: t0, Events: []domain.Event{domain.NewEvent(d)}}
			got, err := domain.EncodeCitizenCommit(cc)
			if err != nil {
				t.Fatal(err)
			}
			want := golden(t, typ, got)
			back, err := domain.DecodeCitizenCommit(want)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, cc) {
				t.Fatalf("decoded golden file:\ngot  %+v\nwant %+v", back, cc)
			}
			if _, err := domain.DecodeCitizenCommit(bytes.Replace(want, []byte(`"v": 1,`), []byte(`"v": 9,`), 1)); err == nil {
				t.Fatal("an unknown envelope version was read")
			}
		})
	}
}
