package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// react turns one commit into notices and reminders, inside tx, which also moves the checkpoint:
// a commit is either wholly turned into outbox rows or not at all. Nobody is told of what they
// did themselves, and nothing is sent for a commit up to the horizon (history from before the
// notices' file).
func (r *Reactor) react(ctx context.Context, tx *sql.Tx, seq uint64, stored time.Time, c domain.Commit) error {
	meeting := c.MeetingID.String()
	created := stored.UnixMilli()
	notice := func(to uuid.UUID, kind Kind, at int64, place string, calSeq int, due string) error {
		if to == c.Actor.ID || to == uuid.Nil || seq <= r.horizon {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO outbox (seq, recipient, kind, meeting, at, place, cal_seq, due, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, to.String(), string(kind), meeting, at, place, calSeq, due, created)
		return err
	}
	// toInvitees tells every invitee who has not declined nor been withdrawn.
	toInvitees := func(kind Kind, m meetingRow, cancel bool) error {
		people, err := invitees(ctx, tx, meeting)
		if err != nil {
			return err
		}
		for _, p := range people {
			if err := notice(p.id, kind, m.at, m.place, m.sequence(p.withdrawals, cancel), ""); err != nil {
				return err
			}
		}
		return nil
	}
	withdrawn := func(person uuid.UUID) error {
		m, err := readMeeting(ctx, tx, meeting)
		if err != nil {
			return err
		}
		w, err := withdrawals(ctx, tx, meeting, person)
		if err != nil {
			return err
		}
		if err := notice(person, KindWithdrawn, m.at, m.place, m.sequence(w, true), ""); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE invitees SET withdrawn = 1, withdrawals = withdrawals + 1 WHERE meeting = ? AND person = ?`, meeting, person.String())
		return err
	}
	for i, e := range c.Events {
		var err error
		switch d := e.Data.(type) {
		case domain.MeetingConvened:
			_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO meetings (meeting, citizen, status) VALUES (?, ?, ?)`,
				meeting, c.CitizenID.String(), string(domain.StatusConvened))
		case domain.ParticipantInvited:
			if _, err = tx.ExecContext(ctx, `INSERT INTO meetings (meeting, citizen, status) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				meeting, c.CitizenID.String(), string(domain.StatusConvened)); err != nil {
				break
			}
			if _, err = tx.ExecContext(ctx, `INSERT INTO invitees (meeting, person) VALUES (?, ?)
				ON CONFLICT DO UPDATE SET declined = 0, withdrawn = 0`, meeting, d.ParticipantID.String()); err != nil {
				break
			}
			var m meetingRow
			var w int
			if m, err = readMeeting(ctx, tx, meeting); err != nil {
				break
			}
			if w, err = withdrawals(ctx, tx, meeting, d.ParticipantID); err == nil {
				err = notice(d.ParticipantID, KindInvitation, m.at, m.place, m.sequence(w, false), "")
			}
		case domain.InvitationWithdrawn:
			err = withdrawn(d.ParticipantID)
		case domain.ConsentWithdrawn:
			// The participant may no longer see the meeting: told as a withdrawn invitation (with
			// its calendar CANCEL), and told nothing more of it.
			err = withdrawn(d.ParticipantID)
		case domain.InvitationDeclined:
			_, err = tx.ExecContext(ctx, `UPDATE invitees SET declined = 1 WHERE meeting = ? AND person = ?`, meeting, d.ParticipantID.String())
		case domain.InvitationAccepted:
			_, err = tx.ExecContext(ctx, `UPDATE invitees SET declined = 0 WHERE meeting = ? AND person = ?`, meeting, d.ParticipantID.String())
		case domain.ParticipantSuggested:
			err = notice(c.CitizenID, KindSuggestion, 0, "", -1, "")
		case domain.MeetingScheduled:
			err = r.scheduled(ctx, tx, seq, c.At, meeting, d.At, d.Place, toInvitees)
		case domain.MeetingRescheduled:
			err = r.scheduled(ctx, tx, seq, c.At, meeting, d.At, d.Place, toInvitees)
		case domain.MeetingCancelled:
			var m meetingRow
			if m, err = readMeeting(ctx, tx, meeting); err != nil {
				break
			}
			if err = toInvitees(KindCancelled, m, true); err != nil {
				break
			}
			if _, err = tx.ExecContext(ctx, `UPDATE meetings SET status = ? WHERE meeting = ?`, string(domain.StatusCancelled), meeting); err != nil {
				break
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM reminders WHERE meeting = ?`, meeting)
		case domain.MeetingHeld:
			if _, err = tx.ExecContext(ctx, `UPDATE meetings SET status = ? WHERE meeting = ?`, string(domain.StatusHeld), meeting); err != nil {
				break
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM reminders WHERE meeting = ? AND subject = ''`, meeting)
		case domain.MeetingClosed:
			_, err = tx.ExecContext(ctx, `UPDATE meetings SET status = ? WHERE meeting = ?`, string(domain.StatusClosed), meeting)
		case domain.FollowUpRecorded:
			err = r.followUp(ctx, tx, seq, meeting, d, notice)
		case domain.FollowUpCompleted:
			_, err = tx.ExecContext(ctx, `DELETE FROM reminders WHERE meeting = ? AND subject = ?`, meeting, d.FollowUpID.String())
		}
		if err != nil {
			return fmt.Errorf("react to event %d (%s) of commit %d: %w", i, e.Type, seq, err)
		}
	}
	return nil
}

// scheduled records the meeting's new time, tells the invitees, and replaces its reminders. A
// reminder that would fall before the time was set is left out: the notice of the time itself
// has just told them.
func (r *Reactor) scheduled(ctx context.Context, tx *sql.Tx, seq uint64, decided time.Time, meeting string, at time.Time, place domain.PlaceKind,
	toInvitees func(Kind, meetingRow, bool) error) error {
	if _, err := tx.ExecContext(ctx, `UPDATE meetings SET status = ?, at = ?, place = ?, schedules = schedules + 1, sched_seq = ? WHERE meeting = ?`,
		string(domain.StatusScheduled), at.UnixMilli(), string(place), seq, meeting); err != nil {
		return err
	}
	m, err := readMeeting(ctx, tx, meeting)
	if err != nil {
		return err
	}
	if err := toInvitees(KindScheduled, m, false); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM reminders WHERE meeting = ? AND subject = ''`, meeting); err != nil {
		return err
	}
	for _, before := range r.cfg.RemindBefore {
		if at.Add(-before).Before(decided) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reminders (meeting, kind, subject, seq, due_at, at, place) VALUES (?, ?, '', ?, ?, ?, ?)`,
			meeting, string(ReminderKind(before)), seq, at.Add(-before).UnixMilli(), m.at, m.place); err != nil {
			return err
		}
	}
	return nil
}

// followUp tells the person responsible, and schedules the day-before and overdue notices at
// eight in the morning, Copenhagen time.
func (r *Reactor) followUp(ctx context.Context, tx *sql.Tx, seq uint64, meeting string, d domain.FollowUpRecorded,
	notice func(uuid.UUID, Kind, int64, string, int, string) error) error {
	if err := notice(d.Responsible, KindFollowUp, 0, "", -1, d.Due); err != nil {
		return err
	}
	due, err := time.ParseInLocation(time.DateOnly, d.Due, Copenhagen)
	if d.Due == "" || err != nil {
		return nil
	}
	for _, rm := range []struct {
		kind Kind
		at   time.Time
	}{{KindFollowUpDueSoon, due.AddDate(0, 0, -1).Add(8 * time.Hour)}, {KindFollowUpOverdue, due.AddDate(0, 0, 1).Add(8 * time.Hour)}} {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO reminders (meeting, kind, subject, seq, due_at, person, date) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			meeting, string(rm.kind), d.FollowUpID.String(), seq, rm.at.UnixMilli(), d.Responsible.String(), d.Due); err != nil {
			return err
		}
	}
	return nil
}

type meetingRow struct {
	at        int64
	place     string
	schedules int
}

// sequence is the SEQUENCE of the calendar part of a notice of the meeting's time to an invitee
// whose invitation was withdrawn w times before: 0 for the first time set, one more each time
// it moves; a CANCEL one above the last REQUEST; and two more for each earlier withdrawal, so
// that a new invitation after a withdrawal's CANCEL rises above it. -1 when the meeting has no
// time (no calendar part). Sequence (outbox.go) gives the same number for the .ics download.
func (m meetingRow) sequence(w int, cancel bool) int {
	if m.at == 0 {
		return -1
	}
	seq := m.schedules - 1 + 2*w
	if cancel {
		seq++
	}
	return seq
}

func withdrawals(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, meeting string, person uuid.UUID) (int, error) {
	var w int
	err := q.QueryRowContext(ctx, `SELECT withdrawals FROM invitees WHERE meeting = ? AND person = ?`, meeting, person.String()).Scan(&w)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return w, err
}

func readMeeting(ctx context.Context, tx *sql.Tx, meeting string) (meetingRow, error) {
	var m meetingRow
	err := tx.QueryRowContext(ctx, `SELECT at, place, schedules FROM meetings WHERE meeting = ?`, meeting).Scan(&m.at, &m.place, &m.schedules)
	if err == sql.ErrNoRows {
		return meetingRow{}, nil
	}
	return m, err
}

type invitee struct {
	id          uuid.UUID
	withdrawals int
}

func invitees(ctx context.Context, tx *sql.Tx, meeting string) ([]invitee, error) {
	rows, err := tx.QueryContext(ctx, `SELECT person, withdrawals FROM invitees WHERE meeting = ? AND declined = 0 AND withdrawn = 0 ORDER BY person`, meeting)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []invitee
	for rows.Next() {
		var s string
		var w int
		if err := rows.Scan(&s, &w); err != nil {
			return nil, err
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, invitee{id, w})
	}
	return out, rows.Err()
}
