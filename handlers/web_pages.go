package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// Services lists the services the invitation page offers: the centres of a Danish municipality
// and the region. Any other name can be typed in.
var Services = []string{
	"Jobcenter", "Center for Handicap og Psykiatri", "Børn og Familie", "Sundhed og Ældre",
	"Socialpsykiatrien", "Misbrugscenter", "Ydelsescenter", "Boligsocialt Team", "Psykiatrien Region Sjælland",
}

// meetingPage is a meeting as one person sees it, with what they may do on it.
type meetingPage struct {
	projections.MeetingView
	Viewer domain.Actor
	// Owner is the citizen or their support person.
	Owner bool
	// Me is the viewer's own invitation, if they have one.
	Me *projections.ParticipantView
	// Earlier are people from the citizen's earlier meetings, offered for a new invitation.
	Earlier []projections.ParticipantView
	// Target is the participant or follow-up a page is about, from its address.
	Target uuid.UUID
	// Now is when the page is shown.
	Now time.Time
}

// TargetName names the participant a page is about.
func (m *meetingPage) TargetName() string { return m.NameOf(m.Target) }

// TargetFollowUp is the follow-up a page is about.
func (m *meetingPage) TargetFollowUp() *projections.FollowUpView {
	for i := range m.FollowUps {
		if m.FollowUps[i].ID == m.Target {
			return &m.FollowUps[i]
		}
	}
	return nil
}

func (m *meetingPage) status() domain.Status { return domain.Status(m.Status) }

// Open reports whether the meeting can still be changed: it is neither held, closed nor cancelled.
func (m *meetingPage) Open() bool {
	return m.status() == domain.StatusConvened || m.status() == domain.StatusScheduled
}

// Active are the invitations not taken back.
func (m *meetingPage) Active() []projections.ParticipantView {
	var out []projections.ParticipantView
	for _, p := range m.Participants {
		if !p.Withdrawn {
			out = append(out, p)
		}
	}
	return out
}

// Present are those recorded as present, besides the citizen.
func (m *meetingPage) Present() []projections.ParticipantView {
	var out []projections.ParticipantView
	for _, p := range m.Participants {
		if p.Present {
			out = append(out, p)
		}
	}
	return out
}

// NameOf names a person of the meeting.
func (m *meetingPage) NameOf(id uuid.UUID) string {
	if id == m.CitizenID {
		if m.Viewer.ID == m.CitizenID {
			return "Dig"
		}
		return "Borgeren"
	}
	for _, p := range m.Participants {
		if p.ID == id {
			return p.Name
		}
	}
	return "en tidligere deltager"
}

// The actions a viewer is offered. The command service decides in the end; these only spare a
// person buttons that would be refused.

func (m *meetingPage) CanAnswer() bool  { return m.Open() && m.Me != nil && !m.Me.Withdrawn }
func (m *meetingPage) CanSuggest() bool { return m.CanAnswer() }
func (m *meetingPage) CanAttendance() bool {
	return m.status() == domain.StatusScheduled && m.ScheduledAt != nil && !m.Now.Before(m.ScheduledAt.Add(-domain.EarlyStart)) && (m.Owner || (m.Me != nil && !m.Me.Withdrawn && m.Me.Answer == string(domain.AnswerAccepted)))
}
func (m *meetingPage) CanFollowUp() bool {
	return m.status() == domain.StatusHeld && (m.Owner || (m.Me != nil && m.Me.Present))
}
func (m *meetingPage) CanClose() bool { return m.CanFollowUp() }
func (m *meetingPage) CanComplete(f projections.FollowUpView) bool {
	return f.CompletedAt == nil && m.status() != domain.StatusCancelled && (m.Owner || f.Responsible == m.Viewer.ID)
}

// Suggestion returns a suggestion by id, for an invitation made from it.
func (m *meetingPage) Suggestion(id string) (projections.SuggestionView, bool) {
	for _, s := range m.Suggestions {
		if s.ID.String() == id {
			return s, true
		}
	}
	return projections.SuggestionView{}, false
}

// loadMeeting reads the meeting named in the address as the session's actor may see it, or shows
// a page saying it cannot be found (also when it exists but is someone else's).
func (p *Pages) loadMeeting(w http.ResponseWriter, r *http.Request, s *session) *meetingPage {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		p.problem(w, r, s, http.StatusNotFound, "Mødet findes ikke", "Vi kan ikke finde mødet, eller du har ikke adgang til det.")
		return nil
	}
	ctx, cancel := p.queryContext(r)
	defer cancel()
	v, err := p.Queries.Meeting(ctx, s.Actor, id, after(r))
	if err != nil {
		if domain.IsKind(err, domain.NotFound) {
			p.problem(w, r, s, http.StatusNotFound, "Mødet findes ikke", "Vi kan ikke finde mødet, eller du har ikke adgang til det.")
			return nil
		}
		p.failure(w, r, s, err)
		return nil
	}
	m := &meetingPage{MeetingView: v, Viewer: s.Actor, Owner: s.Actor.ActsFor(v.CitizenID), Now: p.Now()}
	for i := range v.Participants {
		if v.Participants[i].ID == s.Actor.ID {
			m.Me = &v.Participants[i]
		}
	}
	return m
}

func (p *Pages) myMeetings(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	if !s.Owner() {
		http.Redirect(w, r, "/indbakke", http.StatusSeeOther)
		return
	}
	ctx, cancel := p.queryContext(r)
	defer cancel()
	h, err := p.Queries.History(ctx, s.Actor, s.Citizen(), after(r))
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	var data struct {
		Coming, Past []projections.MeetingView
		// FollowUps are those the citizen is responsible for and has not done.
		FollowUps []projections.FollowUpView
	}
	fus, err := p.Queries.FollowUps(ctx, s.Actor, projections.FollowUpFilter{Owner: s.Citizen()}, 0)
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	for _, f := range fus {
		if f.CompletedAt == nil {
			data.FollowUps = append(data.FollowUps, f)
		}
	}
	for i := len(h) - 1; i >= 0; i-- { // newest first
		switch domain.Status(h[i].Status) {
		case domain.StatusConvened, domain.StatusScheduled:
			data.Coming = append(data.Coming, h[i])
		default:
			data.Past = append(data.Past, h[i])
		}
	}
	p.render(w, r, http.StatusOK, "meetings", page{Title: "Mine møder", Session: s, Data: data})
}

func (p *Pages) inbox(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	ctx, cancel := p.queryContext(r)
	defer cancel()
	in, err := p.Queries.Inbox(ctx, s.Actor, after(r))
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "inbox", page{Title: "Indbakke", Session: s, Data: in})
}

func (p *Pages) meeting(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	m := p.loadMeeting(w, r, s)
	if m == nil {
		return
	}
	p.render(w, r, http.StatusOK, "meeting", page{Title: meetingTitle(m.Title), Session: s, Data: m})
}

func meetingTitle(t string) string {
	if t == "" {
		return "Møde"
	}
	return t
}

// action is a page with one form that gives one command.
type action struct {
	template, title, notice string
	// meeting says the route names a meeting, {id}.
	meeting bool
	// offered says whether the page is shown to this person; a post is decided by the command
	// service whatever this says, so that its rules are the only ones.
	offered func(s *session, m *meetingPage) bool
	// defaults fills the form when it is first shown.
	defaults func(s *session, m *meetingPage, r *http.Request, v url.Values)
	// build makes the command from what was typed, or says in Danish what to fix.
	build func(s *session, m *meetingPage, r *http.Request, v url.Values) (domain.Command, []fieldError)
	// next is where to go after the command, before its notice and sequence are added.
	next func(m *meetingPage, reply Reply) string
}

func meetingURL(m *meetingPage, r Reply) string { return "/moeder/" + r.MeetingID.String() }

func owner(s *session, m *meetingPage) bool { return m.Owner }

func (p *Pages) actions() map[string]action {
	return map[string]action{
		"/moeder/nyt": {template: "convene", title: "Indkald til et møde", notice: "indkaldt",
			offered:  func(s *session, _ *meetingPage) bool { return s.Owner() },
			defaults: newID("meeting_id"),
			build: func(s *session, _ *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				id, errs := hiddenID(nil, v, "meeting_id")
				errs = checkText(errs, v, "title", "Titlen", false, domain.MaxTitle)
				return &domain.ConveneMeeting{Meeting: id, Citizen: s.Citizen(), Title: strings.TrimSpace(v.Get("title"))}, errs
			},
			next: func(_ *meetingPage, r Reply) string { return "/moeder/" + r.MeetingID.String() + "/dagsorden" },
		},
		"/moeder/{id}/dagsorden": {template: "agenda", title: "Dagsorden", notice: "dagsorden", meeting: true, offered: owner,
			defaults: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) {
				v.Set("items", strings.Join(m.Agenda, "\n"))
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				var items []string
				for _, l := range strings.Split(v.Get("items"), "\n") {
					if l = strings.TrimSpace(l); l != "" {
						items = append(items, l)
					}
				}
				errs := check(nil, len(items) > 0, "items", "Skriv mindst ét punkt, du vil tale om.")
				errs = check(errs, len(items) <= domain.MaxAgendaItems, "items", fmt.Sprintf("Der er plads til %d punkter. Saml nogle af dem.", domain.MaxAgendaItems))
				for _, it := range items {
					if utf8.RuneCountInString(it) > domain.MaxAgendaItem {
						errs = check(errs, false, "items", fmt.Sprintf("Et punkt må højst være %d tegn. Del det lange punkt op på flere linjer.", domain.MaxAgendaItem))
					}
					errs = checkPlain(errs, it, "items", "Dagsordenen", true, domain.MaxAgendaItem)
				}
				return &domain.CitizenSetsAgenda{Meeting: m.MeetingID, Items: items}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/inviter": {template: "invite", title: "Inviter en deltager", notice: "inviteret", meeting: true, offered: owner,
			defaults: func(_ *session, m *meetingPage, r *http.Request, v url.Values) {
				v.Set("new_participant_id", uuid.NewString())
				if sg, ok := m.Suggestion(r.URL.Query().Get("forslag")); ok {
					v.Set("name", sg.Name)
					v.Set("kind", sg.Kind)
					setService(v, sg.Service)
				}
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				name, kind, service, errs := person(nil, v)
				needsID := kind == domain.KindProfessional || kind == domain.KindRegion
				errs = check(errs, !needsID || service != "", "service", "Vælg eller skriv den afdeling, personen kommer fra.")
				id, err := uuid.Parse(strings.TrimSpace(v.Get("participant")))
				switch {
				case strings.TrimSpace(v.Get("participant")) == "" && !needsID:
					id, errs = hiddenID(errs, v, "new_participant_id")
				case strings.TrimSpace(v.Get("participant")) == "":
					errs = check(errs, false, "participant", "Skriv fagpersonens medarbejder-id. Fagpersonen eller kommunen kan give dig det.")
				case err != nil:
					errs = check(errs, false, "participant", "Medarbejder-id'et ser ikke rigtigt ud. Det er 36 tegn med bindestreger, fx 0b8e…-….")
				}
				return &domain.InviteParticipant{Meeting: m.MeetingID, Participant: id, Name: name, Kind: kind, Service: service}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/deltagere/{pid}/tilbagekald": {template: "withdraw", title: "Træk en invitation tilbage", notice: "tilbagekaldt", meeting: true,
			offered: func(s *session, m *meetingPage) bool {
				return m.Owner && slices.ContainsFunc(m.Active(), func(p projections.ParticipantView) bool { return p.ID == m.Target })
			},
			build: func(_ *session, m *meetingPage, r *http.Request, _ url.Values) (domain.Command, []fieldError) {
				id, err := uuid.Parse(r.PathValue("pid"))
				return &domain.WithdrawInvitation{Meeting: m.MeetingID, Participant: id}, check(nil, err == nil, "", "Personen er ikke inviteret til mødet.")
			},
			next: meetingURL,
		},
		"/moeder/{id}/tid-og-sted": {template: "schedule", title: "Tid og sted", notice: "tid", meeting: true, offered: owner,
			defaults: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) {
				if m.ScheduledAt != nil {
					t := m.ScheduledAt.In(copenhagen)
					v.Set("date", t.Format(time.DateOnly))
					v.Set("time", t.Format("15:04"))
				}
				v.Set("place", m.Place)
				v.Set("address", m.Address)
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				var errs []fieldError
				day, derr := parseDate(v.Get("date"))
				clock, terr := parseClock(v.Get("time"))
				at := time.Date(day.Year(), day.Month(), day.Day(), clock.Hour(), clock.Minute(), 0, 0, copenhagen)
				if derr != nil {
					errs = check(errs, false, "date", "Skriv datoen som dag.måned.år, fx 1.12.2026.")
				} else if terr != nil {
					errs = check(errs, false, "time", "Skriv klokkeslættet som timer og minutter, fx 10.00.")
				} else if at.Before(p.Now()) {
					errs = check(errs, false, "date", "Tidspunktet er allerede gået. Vælg et tidspunkt fra nu af.")
				} else if at.After(p.Now().AddDate(2, 0, 0)) {
					errs = check(errs, false, "date", "Vælg en dato inden for de næste to år.")
				}
				place := domain.PlaceKind(v.Get("place"))
				errs = check(errs, words["place"][string(place)] != "", "place", "Vælg, hvor mødet skal være.")
				errs = check(errs, place != domain.PlaceChosen || strings.TrimSpace(v.Get("address")) != "", "address", "Skriv adressen på det sted, du har valgt.")
				errs = checkText(errs, v, "address", "Adressen", false, domain.MaxAddress)
				return &domain.ScheduleMeeting{Meeting: m.MeetingID, At: at, Place: place, Address: strings.TrimSpace(v.Get("address"))}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/aflys": {template: "cancel", title: "Aflys mødet", notice: "aflyst", meeting: true, offered: owner,
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				return &domain.CancelMeeting{Meeting: m.MeetingID, Reason: strings.TrimSpace(v.Get("reason"))}, checkText(nil, v, "reason", "Grunden", false, domain.MaxReason)
			},
			next: meetingURL,
		},
		"/moeder/{id}/svar": {template: "respond", title: "Svar på invitationen", notice: "svar", meeting: true,
			offered: func(_ *session, m *meetingPage) bool { return m.CanAnswer() },
			defaults: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) {
				if m.Me != nil {
					v.Set("answer", map[string]string{"accepted": "ja", "declined": "nej"}[m.Me.Answer])
				}
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				a := v.Get("answer")
				errs := check(nil, a == "ja" || a == "nej", "answer", "Vælg, om du kommer.")
				errs = checkText(errs, v, "reason", "Grunden", false, domain.MaxReason)
				reason := strings.TrimSpace(v.Get("reason"))
				if a == "ja" {
					reason = "" // a reason goes with a decline only; a yes needs none
				}
				return &domain.RespondToInvitation{Meeting: m.MeetingID, Accept: a == "ja", Reason: reason}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/foreslaa": {template: "suggest", title: "Foreslå en deltager", notice: "forslag", meeting: true,
			offered:  func(_ *session, m *meetingPage) bool { return m.CanSuggest() },
			defaults: newID("suggestion_id"),
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				id, errs := hiddenID(nil, v, "suggestion_id")
				name, kind, service, errs := person(errs, v)
				errs = checkText(errs, v, "reason", "Begrundelsen", false, domain.MaxReason)
				var pid uuid.UUID
				if s := strings.TrimSpace(v.Get("participant")); s != "" {
					var err error
					pid, err = uuid.Parse(s)
					errs = check(errs, err == nil, "participant", "Medarbejder-id'et ser ikke rigtigt ud. Lad feltet stå tomt, hvis du ikke kender det.")
				}
				return &domain.SuggestParticipant{Meeting: m.MeetingID, Suggestion: id, Participant: pid, Name: name,
					Kind: kind, Service: service, Reason: strings.TrimSpace(v.Get("reason"))}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/fremmoede": {template: "attendance", title: "Hvem var med?", notice: "fremmoede", meeting: true,
			offered: func(_ *session, m *meetingPage) bool { return m.CanAttendance() },
			defaults: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) {
				v.Add("present", m.CitizenID.String())
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				var ids []uuid.UUID
				var errs []fieldError
				for _, s := range v["present"] {
					id, err := uuid.Parse(s)
					if err != nil || slices.Contains(ids, id) {
						errs = check(errs, false, "present", "Vælg dem, der var med, på listen.")
						break
					}
					ids = append(ids, id)
				}
				errs = check(errs, slices.Contains(ids, m.CitizenID), "present", "Borgeren skal være med. Intet om borgeren uden borgeren.")
				return &domain.RecordAttendance{Meeting: m.MeetingID, Present: ids}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/opfoelgning": {template: "followup", title: "Skriv en opfølgning", notice: "opfoelgning", meeting: true,
			offered:  func(_ *session, m *meetingPage) bool { return m.CanFollowUp() },
			defaults: newID("follow_up_id"),
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				id, errs := hiddenID(nil, v, "follow_up_id")
				errs = checkText(errs, v, "what", "Det, I aftalte,", true, domain.MaxWhat)
				resp, err := uuid.Parse(v.Get("responsible"))
				errs = check(errs, err == nil, "responsible", "Vælg, hvem der står for opfølgningen.")
				due := strings.TrimSpace(v.Get("due"))
				if due != "" {
					d, err := parseDate(due)
					errs = check(errs, err == nil, "due", "Skriv datoen som dag.måned.år, fx 15.12.2026, eller lad feltet stå tomt.")
					due = d.Format(time.DateOnly)
				}
				return &domain.RecordFollowUp{Meeting: m.MeetingID, FollowUp: id, What: strings.TrimSpace(v.Get("what")), Responsible: resp, Due: due}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/opfoelgning/{fid}/udfoert": {template: "complete", title: "Er opfølgningen udført?", notice: "udfoert", meeting: true,
			offered: func(_ *session, m *meetingPage) bool {
				f := m.TargetFollowUp()
				return f != nil && m.CanComplete(*f)
			},
			build: func(_ *session, m *meetingPage, r *http.Request, _ url.Values) (domain.Command, []fieldError) {
				id, err := uuid.Parse(r.PathValue("fid"))
				return &domain.CompleteFollowUp{Meeting: m.MeetingID, FollowUp: id}, check(nil, err == nil, "", "Opfølgningen findes ikke på dette møde.")
			},
			next: meetingURL,
		},
		"/moeder/{id}/afslut": {template: "close", title: "Afslut mødet", notice: "afsluttet", meeting: true,
			offered: func(_ *session, m *meetingPage) bool { return m.CanClose() },
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				return &domain.CloseMeeting{Meeting: m.MeetingID, NextAgreed: v.Get("next_agreed") == "ja"}, nil
			},
			next: meetingURL,
		},
	}
}

// parseDate reads a date as a date field sends it (2026-12-01) or as Danes write it (1.12.2026).
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{time.DateOnly, "2.1.2006", "2-1-2006", "2/1/2006"} {
		var d time.Time
		if d, err = time.Parse(layout, s); err == nil {
			return d, nil
		}
	}
	return time.Time{}, err
}

// parseClock reads a time of day: 10:00, 10.00 or 10.
func parseClock(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{"15:04", "15.04", "15"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// newID fills a hidden field with a new id when a form is first shown: the id of what the form
// creates, the same however often the form is sent.
func newID(field string) func(*session, *meetingPage, *http.Request, url.Values) {
	return func(_ *session, _ *meetingPage, _ *http.Request, v url.Values) { v.Set(field, uuid.NewString()) }
}

// hiddenID reads an id the form carries in a hidden field.
func hiddenID(errs []fieldError, v url.Values, field string) (uuid.UUID, []fieldError) {
	id, err := uuid.Parse(v.Get(field))
	return id, check(errs, err == nil, "", "Formularen mangler et felt. Gå tilbage, og prøv igen.")
}

// check adds a message when ok is false.
func check(errs []fieldError, ok bool, field, msg string) []fieldError {
	if ok || slices.ContainsFunc(errs, func(e fieldError) bool { return e.Field == field }) {
		return errs
	}
	return append(errs, fieldError{field, msg})
}

// checkText checks a typed text's presence, characters and length, in the words a person reads.
func checkText(errs []fieldError, v url.Values, field, what string, required bool, max int) []fieldError {
	return checkPlain(errs, strings.TrimSpace(v.Get(field)), field, what, required, max)
}

func checkPlain(errs []fieldError, s, field, what string, required bool, max int) []fieldError {
	errs = check(errs, !required || s != "", field, what+" mangler. Udfyld feltet.")
	errs = check(errs, domain.PlainText(s), field, what+" indeholder et tegn, der ikke kan gemmes, måske fra en kopi. Skriv teksten igen.")
	return check(errs, utf8.RuneCountInString(s) <= max, field, fmt.Sprintf("%s må højst være %d tegn. Nu er det %d.", what, max, utf8.RuneCountInString(s)))
}

// person reads the fields that describe someone invited or suggested: name, kind and service.
func person(errs []fieldError, v url.Values) (name string, kind domain.ParticipantKind, service string, _ []fieldError) {
	errs = checkText(errs, v, "name", "Navnet", true, domain.MaxName)
	kind = domain.ParticipantKind(v.Get("kind"))
	errs = check(errs, words["kind"][string(kind)] != "", "kind", "Vælg, hvem personen er.")
	service = serviceOf(v)
	errs = checkPlain(errs, service, "service_other", "Afdelingens navn", false, domain.MaxService)
	return strings.TrimSpace(v.Get("name")), kind, service, errs
}

// serviceOf is the service chosen in the list, or typed when "another" was chosen.
func serviceOf(v url.Values) string {
	if v.Get("service") == "anden" {
		return strings.TrimSpace(v.Get("service_other"))
	}
	return strings.TrimSpace(v.Get("service"))
}

func setService(v url.Values, s string) {
	switch {
	case s == "":
	case slices.Contains(Services, s):
		v.Set("service", s)
	default:
		v.Set("service", "anden")
		v.Set("service_other", s)
	}
}

// formPage shows an action's form and carries out its post: the command goes to the command
// service with the form's command id, so a second submit of the same form is answered with the
// first result and writes nothing. Whatever goes wrong, the page comes back with what was typed.
func (p *Pages) formPage(a action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.signedIn(w, r)
		if s == nil {
			return
		}
		var m *meetingPage
		if a.meeting {
			if m = p.loadMeeting(w, r, s); m == nil {
				return
			}
			m.Target, _ = uuid.Parse(r.PathValue("pid") + r.PathValue("fid"))
			if a.template == "invite" && r.Method == http.MethodGet {
				m.Earlier = p.earlier(r.Context(), s, m)
			}
		}
		pg := page{Title: a.title, Session: s, Data: m, Form: &form{Values: url.Values{}}}
		if r.Method == http.MethodGet {
			if !a.offered(s, m) {
				p.problem(w, r, s, http.StatusForbidden, "Det kan du ikke her", notOffered(a, m))
				return
			}
			pg.Form.CommandID = p.NewID().String()
			if kept, ok := r.Context().Value(restoreKey{}).(url.Values); ok {
				pg.Form.Values = kept
				if id := kept.Get("command_id"); id != "" {
					pg.Form.CommandID = id // the same command: a second send cannot write it twice
				}
				pg.Notice = "Du er logget ind igen. Tjek det, du skrev, og tryk på knappen for at gemme det."
			} else if a.defaults != nil {
				a.defaults(s, m, r, pg.Form.Values)
			}
			p.render(w, r, http.StatusOK, a.template, pg)
			return
		}
		v, ok := p.readPost(w, r, s)
		if v == nil {
			return
		}
		if !ok {
			// Not this session's form: nothing is done, but what was typed comes back with a
			// fresh token, so a person who signed in again loses nothing.
			pg.Form.Values, pg.Form.CommandID = v, v.Get("command_id")
			pg.Form.Errors = []fieldError{{"", staleForm}}
			p.Log.Warn("form post with a wrong token refused", "path", r.URL.Path, "actor", s.Actor.ID)
			p.render(w, r, http.StatusForbidden, a.template, pg)
			return
		}
		pg.Form.Values, pg.Form.CommandID = v, v.Get("command_id")
		cid, err := uuid.Parse(pg.Form.CommandID)
		if err != nil {
			pg.Form.CommandID = p.NewID().String()
			pg.Form.Errors = []fieldError{{"", "Formularen mangler et felt. Tjek det, du har skrevet, og tryk igen."}}
			p.render(w, r, http.StatusBadRequest, a.template, pg)
			return
		}
		cmd, errs := a.build(s, m, r, v)
		if len(errs) > 0 {
			pg.Form.Errors = errs
			p.render(w, r, http.StatusBadRequest, a.template, pg)
			return
		}
		// The command's id is the form's id together with what it says: the same form sent again
		// unchanged (a double click, a retry after a timeout) is the same command and is answered
		// with the first result; a form changed after a refusal is a new command.
		body, err := json.Marshal(cmd)
		if err != nil {
			p.failure(w, r, s, err)
			return
		}
		cid = uuid.NewSHA1(cid, append([]byte(cmd.CommandName()+"\x00"), body...))
		// The command is finished even if the browser goes away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
		defer cancel()
		reply, err := p.Service.Handle(ctx, s.Actor, cid, cmd)
		if err != nil {
			status, fe := danishError(err)
			if status >= 500 {
				p.Log.Error("page command failed", "path", r.URL.Path, "err", err)
				fe = fieldError{"", "Vi ved ikke, om det blev gemt: tjenesten svarede ikke i tide. Tryk på knappen igen. Det bliver ikke gemt to gange."}
			}
			pg.Form.Errors = []fieldError{fe}
			p.render(w, r, status, a.template, pg)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s?gemt=%s&efter=%d", a.next(m, reply), a.notice, reply.Sequence), http.StatusSeeOther)
	}
}

func notOffered(a action, m *meetingPage) string {
	if m != nil && !m.Open() && a.template != "followup" && a.template != "close" && a.template != "complete" {
		return "Mødet er " + strings.ToLower(words["status"][m.Status]) + ", så det kan ikke ændres nu."
	}
	switch a.template {
	case "convene", "agenda", "invite", "withdraw", "schedule", "cancel":
		return "Det er borgeren, der bestemmer dagsordenen, hvem der deltager, og hvor og hvornår mødet er. Du kan foreslå en deltager fra mødets side."
	}
	return "Den handling hører ikke til dig på dette møde lige nu."
}

// earlier returns people from the citizen's other meetings who are not invited to this one.
func (p *Pages) earlier(ctx context.Context, s *session, m *meetingPage) []projections.ParticipantView {
	if !m.Owner {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := p.Queries.History(ctx, s.Actor, m.CitizenID, 0)
	if err != nil {
		return nil // an offer, not the page: the form works without it
	}
	seen := map[uuid.UUID]bool{}
	for _, q := range m.Participants {
		if !q.Withdrawn {
			seen[q.ID] = true
		}
	}
	var out []projections.ParticipantView
	for i := len(h) - 1; i >= 0; i-- {
		for _, q := range h[i].Participants {
			if !seen[q.ID] {
				seen[q.ID] = true
				out = append(out, q)
			}
		}
	}
	if len(out) > 20 {
		out = out[:20]
	}
	return out
}
