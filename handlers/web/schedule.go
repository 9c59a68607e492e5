package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
)

// scheduleActions are the form pages of choosing the time and place.
func (p *Pages) scheduleActions() map[string]action {
	return map[string]action{
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
	}
}
