package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/google/uuid"
)

// followUpActions are the form pages of after the meeting: who was there, follow-ups and marking them done.
func (p *Pages) followUpActions() map[string]action {
	return map[string]action{
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
				errs = checkLines(errs, v, "what", "Det, I aftalte,", true, domain.MaxWhat)
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
	}
}
