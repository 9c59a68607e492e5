package projections

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
)

// The services read model keeps, per citizen, which services take part in their meetings month
// by month (service_citizen_months): the set the services report counts the pairs of services
// meeting the same citizens from. The report used to join every citizen's invitations with each
// other, which grew with the square of a citizen's invitations: one citizen with 30 meetings of
// 100 invited services made every report cost seconds of CPU.
//
// It keeps the set, not the pairs: services are free text, so a table of every citizen's pairs
// would let one citizen who invites many differently named services fill it with the square of
// their number. The report counts pairs only of services shown (met by at least k citizens), so
// no citizen adds more than the square of the shown services to a report, however many meetings
// and services they make.
//
// A service takes part in a meeting while at least one of its people is invited and not
// withdrawn, as the report has always counted it.

// monthOf is the month (YYYY-MM) of a day (YYYY-MM-DD).
func monthOf(day string) string { return day[:7] }

// touchesServices says whether a commit can change which services take part in its meeting.
func touchesServices(c domain.Commit) bool {
	for _, e := range c.Events {
		switch e.Data.(type) {
		case domain.ParticipantInvited, domain.InvitationWithdrawn:
			return true
		}
	}
	return false
}

// meetingServices is which services take part in a meeting.
type meetingServices struct {
	exists         bool
	citizen, month string
	standing       []string // sorted, distinct
}

func readMeetingServices(ctx context.Context, tx *Tx, meeting string) (meetingServices, error) {
	var ms meetingServices
	var day string
	err := tx.QueryRow(ctx, `SELECT citizen_id, convened_on FROM service_meetings WHERE meeting_id = ?`, meeting).Scan(&ms.citizen, &day)
	if errors.Is(err, sql.ErrNoRows) {
		return ms, nil
	}
	if err != nil {
		return ms, err
	}
	ms.exists, ms.month = true, monthOf(day)
	rows, err := tx.Query(ctx, `SELECT DISTINCT service FROM service_participants WHERE meeting_id = ? AND invited = 1 ORDER BY service`, meeting)
	if err != nil {
		return ms, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return ms, err
		}
		ms.standing = append(ms.standing, s)
	}
	return ms, rows.Err()
}

// minus is what of the sorted x is not in the sorted y.
func minus(x, y []string) []string {
	var out []string
	for _, s := range x {
		if _, found := slices.BinarySearch(y, s); !found {
			out = append(out, s)
		}
	}
	return out
}

// updateCitizenMonths brings service_citizen_months up to date with a meeting's change from
// before to after: a service that left the meeting counts one meeting fewer that month, one
// that joined one more.
func updateCitizenMonths(ctx context.Context, tx *Tx, before, after meetingServices) error {
	if !after.exists {
		return nil
	}
	for _, s := range minus(before.standing, after.standing) {
		if _, err := tx.Exec(ctx, `UPDATE service_citizen_months SET meetings = meetings - 1 WHERE citizen_id = ? AND service = ? AND month = ?`, after.citizen, s, after.month); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM service_citizen_months WHERE citizen_id = ? AND service = ? AND month = ? AND meetings <= 0`, after.citizen, s, after.month); err != nil {
			return err
		}
	}
	for _, s := range minus(after.standing, before.standing) {
		if _, err := tx.Exec(ctx, `INSERT INTO service_citizen_months (citizen_id, service, month, meetings) VALUES (?, ?, ?, 1)
			ON CONFLICT (citizen_id, service, month) DO UPDATE SET meetings = meetings + 1`, after.citizen, s, after.month); err != nil {
			return err
		}
	}
	return nil
}

// citizenMonthRows are the rows of service_citizen_months that Apply would have written for
// whole meetings, sorted by their key.
func citizenMonthRows(ms []Folded) [][]any {
	type key struct{ citizen, service, month string }
	meetings := map[key]int64{}
	var standing []string
	for _, f := range ms {
		m := f.Meeting
		citizen, month := m.CitizenID().String(), monthOf(m.ConvenedAt().UTC().Format(time.DateOnly))
		standing = standing[:0]
		for _, p := range m.Participants() {
			if p.Service == "" || (p.Kind != domain.KindProfessional && p.Kind != domain.KindRegion) || p.Withdrawn {
				continue
			}
			if !slices.Contains(standing, p.Service) {
				standing = append(standing, p.Service)
			}
		}
		for _, s := range standing {
			meetings[key{citizen, s, month}]++
		}
	}
	rows := make([][]any, 0, len(meetings))
	for k, n := range meetings {
		rows = append(rows, []any{k.citizen, k.service, k.month, n})
	}
	slices.SortFunc(rows, func(x, y []any) int {
		for c := range 3 {
			if d := strings.Compare(x[c].(string), y[c].(string)); d != 0 {
				return d
			}
		}
		return 0
	})
	return rows
}
