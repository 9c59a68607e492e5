package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/internal/ical"
	"github.com/aabendialog/aabendialog/projections"
)

// NoticeBox is what the pages show of the notices: a person's own (on the inbox page, sent or
// waiting there because there is no address) and the invitees whose address keeps failing (to
// the citizen, on the meeting page). notify.Reactor is the one implementation.
type NoticeBox interface {
	Inbox(ctx context.Context, person uuid.UUID, limit int) ([]notify.Notice, error)
	Failing(ctx context.Context, people []uuid.UUID) (map[uuid.UUID]bool, error)
	// Sequence is the calendar SEQUENCE the notices gave the meeting for the person, and
	// whether it is a cancellation; ok is false when the notices know no time for it.
	Sequence(ctx context.Context, meeting, person uuid.UUID) (seq int, cancel, ok bool, err error)
}

// NoticeSettings is where a person's notices go, which they change on /varsler (auth.People).
type NoticeSettings interface {
	Notices(person uuid.UUID) auth.NoticeSettings
	ChangeNotices(ctx context.Context, person uuid.UUID, email string, optOut bool) error
}

// noticeWords are the inbox page's names for the kinds of notice.
var noticeWords = map[notify.Kind]string{
	notify.KindInvitation:      "Du er inviteret til et møde",
	notify.KindScheduled:       "Et møde har fået tid og sted, eller de er ændret",
	notify.KindWithdrawn:       "Din invitation er trukket tilbage",
	notify.KindCancelled:       "Et møde er aflyst",
	notify.KindSuggestion:      "En deltager har foreslået en mere til dit møde",
	notify.KindFollowUp:        "Du er ansvarlig for en opfølgning",
	notify.KindFollowUpDueSoon: "En opfølgning har frist i morgen",
	notify.KindFollowUpOverdue: "En opfølgning har overskredet fristen",
}

// noticeLine is a notice as the inbox page lists it.
type noticeLine struct {
	Text, Link string
	notify.Notice
}

// When is the meeting's time the notice is about, or nil.
func (n noticeLine) When() *time.Time {
	if n.At.IsZero() {
		return nil
	}
	return &n.At
}

// inboxPage is the inbox with the person's notices.
type inboxPage struct {
	projections.Inbox
	Notices []noticeLine
}

func (p *Pages) inboxNotices(ctx context.Context, person uuid.UUID) []noticeLine {
	if p.Notices == nil {
		return nil
	}
	ns, err := p.Notices.Inbox(ctx, person, 20)
	if err != nil {
		p.Log.Warn("inbox: notices could not be read", "err", err)
		return nil
	}
	out := make([]noticeLine, 0, len(ns))
	for _, n := range ns {
		text, ok := noticeWords[n.Kind]
		if !ok && n.Kind.IsReminder() {
			text = "Påmindelse om et møde"
		}
		out = append(out, noticeLine{Text: text, Link: n.Link(""), Notice: n})
	}
	return out
}

// noticeSettingsPage is /varsler: where the person's notices go.
func (p *Pages) noticeSettings(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	if p.NoticeSettings == nil {
		p.problem(w, r, s, http.StatusNotFound, "Siden findes ikke", "Denne tjeneste sender ingen beskeder.")
		return
	}
	cur := p.NoticeSettings.Notices(s.Actor.ID)
	f := &form{Values: map[string][]string{"email": {cur.Email}}}
	if cur.OptOut {
		f.Values.Set("choice", "fra")
	} else {
		f.Values.Set("choice", "email")
	}
	if r.Method == http.MethodPost {
		v, ok := p.readPost(w, r, s)
		if v == nil {
			return
		}
		f.Values = v
		if !ok {
			f.Errors = append(f.Errors, fieldError{"", staleForm})
		} else {
			email, optOut := strings.TrimSpace(v.Get("email")), false
			switch v.Get("choice") {
			case "email":
				if email == "" {
					f.Errors = append(f.Errors, fieldError{"email", "Skriv den e-mailadresse, du vil have beskeder på, eller vælg et af de andre svar."})
				} else if domain.EmailAddress("email", email) != nil {
					f.Errors = append(f.Errors, fieldError{"email", "Det ligner ikke en e-mailadresse. Skriv den som navn@eksempel.dk."})
				}
			case "slet":
				email = ""
			case "fra":
				optOut = true
			default:
				f.Errors = append(f.Errors, fieldError{"choice", "Vælg, hvordan du vil have beskeder."})
			}
			if len(f.Errors) == 0 {
				if err := p.NoticeSettings.ChangeNotices(r.Context(), s.Actor.ID, email, optOut); err != nil {
					p.failure(w, r, s, err)
					return
				}
				http.Redirect(w, r, "/varsler?gemt=varsler", http.StatusSeeOther)
				return
			}
		}
	}
	status := http.StatusOK
	if len(f.Errors) > 0 {
		status = http.StatusBadRequest
	}
	p.render(w, r, status, "notices", page{Title: "Beskeder til dig", Session: s, Form: f, Data: cur})
}

// calendar is /moeder/{id}/kalender.ics: the meeting as the calendar part of its notices has it
// (the same UID, SEQUENCE and method), for a person invited to it or its citizen.
func (p *Pages) calendar(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	m := p.loadMeeting(w, r, s)
	if m == nil {
		return
	}
	if m.ScheduledAt == nil {
		p.problem(w, r, s, http.StatusNotFound, "Mødet har ingen tid endnu", "Der er ikke valgt tid og sted for mødet, så det kan ikke lægges i en kalender endnu.")
		return
	}
	e := ical.Event{Meeting: m.MeetingID, Person: s.Actor.ID, Method: ical.Request, Sequence: m.Reschedules, Start: *m.ScheduledAt,
		Location: notify.PlaceName(domain.PlaceKind(m.Place)), URL: strings.TrimRight(p.PublicURL, "/") + "/moeder/" + m.MeetingID.String(),
		Stamp: m.ConvenedAt}
	if m.CancelledAt != nil || (m.Me != nil && m.Me.Withdrawn) {
		e.Method, e.Sequence = ical.Cancel, m.Reschedules+1
	}
	// The notices know more (an invitation withdrawn and given again raises the SEQUENCE).
	if p.Notices != nil {
		seq, cancel, ok, err := p.Notices.Sequence(r.Context(), m.MeetingID, s.Actor.ID)
		if err != nil {
			p.Log.Warn("calendar: the notices' sequence could not be read", "err", err)
		} else if ok && seq >= e.Sequence {
			e.Sequence = seq
			if cancel {
				e.Method = ical.Cancel
			}
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8; method="+string(e.Method))
	w.Header().Set("Content-Disposition", `attachment; filename="moede.ics"`)
	_, _ = w.Write(ical.Write(e))
}

// CalendarLink is the meeting's .ics download, for a meeting with a time.
func (m *meetingPage) CalendarLink() string {
	if m.ScheduledAt == nil || (!m.Owner && (m.Me == nil || m.Me.Withdrawn)) {
		return ""
	}
	return "/moeder/" + m.MeetingID.String() + "/kalender.ics"
}

// failingAddresses marks, for the citizen, the invitees whose address keeps failing.
func (p *Pages) failingAddresses(ctx context.Context, m *meetingPage) {
	if p.Notices == nil || !m.Owner {
		return
	}
	ids := make([]uuid.UUID, 0, len(m.Participants))
	for _, pt := range m.Participants {
		ids = append(ids, pt.ID)
	}
	f, err := p.Notices.Failing(ctx, ids)
	if err != nil {
		p.Log.Warn("meeting page: failing addresses could not be read", "err", err)
		return
	}
	m.Failing = f
}
