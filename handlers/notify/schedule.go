package notify

import (
	"context"
	"time"

	"github.com/aabendialog/aabendialog/domain"
)

// raiseDue turns the reminders that are due into outbox rows, in one transaction that also
// removes them: rows queried by due time (an index), so the memory used does not grow with the
// number of meetings scheduled. A meeting's reminder goes to the invitees who have not declined
// as they stand when it is due; one whose meeting has begun, was held or called off is dropped.
func (r *Reactor) raiseDue(ctx context.Context) error {
	now := r.now()
	for {
		n, err := r.raiseBatch(ctx, now)
		if err != nil || n == 0 {
			return err
		}
		r.poke()
	}
}

func (r *Reactor) raiseBatch(ctx context.Context, now time.Time) (int, error) {
	tx, err := r.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT r.meeting, r.kind, r.subject, r.seq, r.person, r.date, coalesce(m.status, ''), coalesce(m.at, 0), coalesce(m.place, '')
		FROM reminders r LEFT JOIN meetings m ON m.meeting = r.meeting WHERE r.due_at <= ? ORDER BY r.due_at LIMIT 500`, now.UnixMilli())
	if err != nil {
		return 0, err
	}
	type due struct {
		meeting, kind, subject, person, date, status, place string
		seq                                                 uint64
		at                                                  int64
	}
	var all []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.meeting, &d.kind, &d.subject, &d.seq, &d.person, &d.date, &d.status, &d.at, &d.place); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	insert := func(d due, to string, at int64, place string, calSeq int) error {
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO outbox (seq, recipient, kind, meeting, at, place, cal_seq, due, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.seq, to, d.kind, d.meeting, at, place, calSeq, d.date, now.UnixMilli())
		return err
	}
	for _, d := range all {
		if d.subject != "" { // a follow-up's
			if err := insert(d, d.person, 0, "", -1); err != nil {
				return 0, err
			}
		} else if d.status == string(domain.StatusScheduled) && d.at > now.UnixMilli() {
			people, err := invitees(ctx, tx, d.meeting)
			if err != nil {
				return 0, err
			}
			for _, p := range people {
				if err := insert(d, p.id.String(), d.at, d.place, -1); err != nil {
					return 0, err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reminders WHERE meeting = ? AND kind = ? AND subject = ?`, d.meeting, d.kind, d.subject); err != nil {
			return 0, err
		}
	}
	r.metrics.reminded.Add(float64(len(all)))
	return len(all), tx.Commit()
}

// Scheduled counts the reminders waiting to be raised.
func (r *Reactor) Scheduled(ctx context.Context) (int, error) {
	var n int
	err := r.read.QueryRowContext(ctx, `SELECT count(*) FROM reminders`).Scan(&n)
	return n, err
}
