package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
)

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
	// Failing are the invitees whose e-mail address keeps failing (shown to the citizen).
	Failing map[uuid.UUID]bool
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
func (m *meetingPage) CanAnswer() bool { return m.Open() && m.Me != nil && !m.Me.Withdrawn }

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
	h, err := p.history(ctx, s.Actor, s.Citizen(), after(r))
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	var data struct {
		Coming, Past []projections.MeetingView
		// FollowUps are those the citizen is responsible for and has not done.
		FollowUps []projections.FollowUpView
		// Notices are the citizen's notices (notices.go).
		Notices []noticeLine
	}
	data.Notices = p.inboxNotices(ctx, s.Citizen())
	fus, err := p.followUps(ctx, s.Actor, projections.FollowUpFilter{Owner: s.Citizen()})
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
	in, err := p.readInbox(ctx, s.Actor, after(r))
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	p.render(w, r, http.StatusOK, "inbox", page{Title: "Indbakke", Session: s, Data: inboxPage{in, p.inboxNotices(ctx, s.Actor.ID)}})
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
	p.failingAddresses(r.Context(), m)
	p.render(w, r, http.StatusOK, "meeting", page{Title: meetingTitle(m.Title), Session: s, Data: m})
}

func meetingTitle(t string) string {
	if t == "" {
		return "Møde"
	}
	return t
}

func meetingURL(m *meetingPage, r command.Reply) string { return "/moeder/" + r.MeetingID.String() }

func owner(s *session, m *meetingPage) bool { return m.Owner }

// meetingActions are the form pages of the meeting itself: convening it, its agenda, cancelling and closing it.
func (p *Pages) meetingActions() map[string]action {
	return map[string]action{
		"/moeder/nyt": {template: "convene", title: "Indkald til et møde", notice: "indkaldt",
			offered:  func(s *session, _ *meetingPage) bool { return s.Owner() },
			defaults: newID("meeting_id"),
			build: func(s *session, _ *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				id, errs := hiddenID(nil, v, "meeting_id")
				errs = checkText(errs, v, "title", "Titlen", false, domain.MaxTitle)
				return &domain.ConveneMeeting{Meeting: id, Citizen: s.Citizen(), Title: strings.TrimSpace(v.Get("title"))}, errs
			},
			next: func(_ *meetingPage, r command.Reply) string { return "/moeder/" + r.MeetingID.String() + "/dagsorden" },
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
		"/moeder/{id}/aflys": {template: "cancel", title: "Aflys mødet", notice: "aflyst", meeting: true, offered: owner,
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				return &domain.CancelMeeting{Meeting: m.MeetingID, Reason: strings.TrimSpace(v.Get("reason"))}, checkLines(nil, v, "reason", "Grunden", false, domain.MaxReason)
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
