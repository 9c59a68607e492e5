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

// standingService is the service a participant takes part in the meeting for, before an event
// changes that: "" when they are not a service's participant or not invited any more.
func standingService(ctx context.Context, tx *Tx, meeting, participant string) (string, error) {
	var s string
	err := tx.QueryRow(ctx, `SELECT service FROM service_participants WHERE meeting_id = ? AND participant_id = ? AND invited = 1`, meeting, participant).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// serviceMoved brings service_citizen_months up to date after a participant of the meeting
// stopped taking part for service was ("" for none) and now takes part for service now ("" for
// none). A service the meeting has no one else for any more counts one meeting fewer that
// month; a service it had no one for before counts one more.
func serviceMoved(ctx context.Context, tx *Tx, meeting, was, now string) error {
	if was == now {
		return nil
	}
	var citizen, month string
	standing := func(s string) (int, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT count(*) FROM service_participants WHERE service = ? AND meeting_id = ? AND invited = 1`, s, meeting).Scan(&n)
		if err == nil && citizen == "" {
			var day string
			if err = tx.QueryRow(ctx, `SELECT citizen_id, convened_on FROM service_meetings WHERE meeting_id = ?`, meeting).Scan(&citizen, &day); err == nil {
				month = monthOf(day)
			}
		}
		return n, err
	}
	if was != "" {
		n, err := standing(was)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.Exec(ctx, `UPDATE service_citizen_months SET meetings = meetings - 1 WHERE citizen_id = ? AND service = ? AND month = ?`, citizen, was, month); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM service_citizen_months WHERE citizen_id = ? AND service = ? AND month = ? AND meetings <= 0`, citizen, was, month); err != nil {
				return err
			}
		}
	}
	if now != "" {
		n, err := standing(now)
		if err != nil {
			return err
		}
		if n == 1 { // only the participant just invited
			if _, err := tx.Exec(ctx, `INSERT INTO service_citizen_months (citizen_id, service, month, meetings) VALUES (?, ?, ?, 1)
				ON CONFLICT (citizen_id, service, month) DO UPDATE SET meetings = meetings + 1`, citizen, now, month); err != nil {
				return err
			}
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
