package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// Meetings is the meetings read model: each meeting with its agenda, participants, suggestions
// and follow-ups. History, inbox and follow-ups are answered from it.
type Meetings struct{}

// Name implements Projection.
func (Meetings) Name() string { return "meetings" }

// Apply implements Projection.
func (Meetings) Apply(ctx context.Context, tx *Tx, r eventstore.Recorded) error {
	c := r.Commit
	m, at := c.MeetingID.String(), ts(c.At)
	for i, e := range c.Events {
		var err error
		switch d := e.Data.(type) {
		case domain.MeetingConvened:
			_, err = tx.Exec(ctx, `INSERT INTO meetings (meeting_id, citizen_id, title, status, convened_at, last_seq) VALUES (?, ?, ?, 'convened', ?, ?)`,
				m, d.CitizenID.String(), d.Title, at, r.Seq)
		case domain.AgendaSet:
			if _, err = tx.Exec(ctx, `DELETE FROM agenda_items WHERE meeting_id = ?`, m); err == nil {
				for pos, item := range d.Items {
					if _, err = tx.Exec(ctx, `INSERT INTO agenda_items (meeting_id, position, text) VALUES (?, ?, ?)`, m, pos, item); err != nil {
						break
					}
				}
			}
		case domain.ParticipantInvited:
			_, err = tx.Exec(ctx, `INSERT INTO participants (meeting_id, participant_id, name, kind, service, answer, invited_at, position, consent_version)
				VALUES (?, ?, ?, ?, ?, 'pending', ?, (SELECT count(*) FROM participants WHERE meeting_id = ?), ?)
				ON CONFLICT (meeting_id, participant_id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
					service = excluded.service, answer = 'pending', reason = '', withdrawn = 0, invited_at = excluded.invited_at, answered_at = NULL,
					consent_version = excluded.consent_version, consent_withdrawn = 0`,
				m, d.ParticipantID.String(), d.Name, string(d.Kind), d.Service, at, m, d.ConsentVersion)
		case domain.ConsentWithdrawn:
			_, err = tx.Exec(ctx, `UPDATE participants SET consent_withdrawn = 1 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
		case domain.InvitationWithdrawn:
			_, err = tx.Exec(ctx, `UPDATE participants SET withdrawn = 1 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
		case domain.ParticipantSuggested:
			var p any
			if d.ParticipantID != uuid.Nil {
				p = d.ParticipantID.String()
			}
			_, err = tx.Exec(ctx, `INSERT INTO suggestions (suggestion_id, meeting_id, participant_id, name, kind, service, reason, suggested_by, suggested_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.SuggestionID.String(), m, p, d.Name, string(d.Kind), d.Service, d.Reason, c.Actor.ID.String(), at)
		case domain.InvitationAccepted:
			_, err = tx.Exec(ctx, `UPDATE participants SET answer = 'accepted', reason = '', answered_at = ? WHERE meeting_id = ? AND participant_id = ?`,
				at, m, d.ParticipantID.String())
		case domain.InvitationDeclined:
			_, err = tx.Exec(ctx, `UPDATE participants SET answer = 'declined', reason = ?, answered_at = ? WHERE meeting_id = ? AND participant_id = ?`,
				d.Reason, at, m, d.ParticipantID.String())
		case domain.MeetingScheduled:
			_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'scheduled', scheduled_at = ?, place = ?, address = ? WHERE meeting_id = ?`,
				ts(d.At), string(d.Place), d.Address, m)
		case domain.MeetingRescheduled:
			_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'scheduled', scheduled_at = ?, place = ?, address = ?, reschedules = reschedules + 1 WHERE meeting_id = ?`,
				ts(d.At), string(d.Place), d.Address, m)
		case domain.MeetingHeld:
			citizenPresent := false
			for _, p := range d.Present {
				if p == c.CitizenID {
					citizenPresent = true
					continue
				}
				if _, err = tx.Exec(ctx, `UPDATE participants SET present = 1 WHERE meeting_id = ? AND participant_id = ?`, m, p.String()); err != nil {
					break
				}
			}
			if err == nil {
				_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'held', held_at = ?, citizen_present = ? WHERE meeting_id = ?`, at, citizenPresent, m)
			}
		case domain.FollowUpRecorded:
			_, err = tx.Exec(ctx, `INSERT INTO follow_ups (follow_up_id, meeting_id, what, responsible, due, recorded_at) VALUES (?, ?, ?, ?, ?, ?)`,
				d.FollowUpID.String(), m, d.What, d.Responsible.String(), d.Due, at)
		case domain.FollowUpCompleted:
			_, err = tx.Exec(ctx, `UPDATE follow_ups SET completed_at = ? WHERE meeting_id = ? AND follow_up_id = ?`, at, m, d.FollowUpID.String())
		case domain.MeetingClosed:
			_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'closed', closed_at = ?, next_agreed = ? WHERE meeting_id = ?`, at, d.NextAgreed, m)
		case domain.MeetingCancelled:
			_, err = tx.Exec(ctx, `UPDATE meetings SET status = 'cancelled', cancelled_at = ?, cancel_reason = ? WHERE meeting_id = ?`, at, d.Reason, m)
		default:
			err = fmt.Errorf("no rule for event %s", e.Type)
		}
		if err != nil {
			return fmt.Errorf("event %d (%s): %w", i, e.Type, err)
		}
	}
	tx.Last[m] = r.Seq
	return nil
}

// Finish implements Finisher: each meeting's last sequence, once per batch.
func (Meetings) Finish(ctx context.Context, tx *Tx) error {
	for m, seq := range tx.Last {
		if _, err := tx.Exec(ctx, `UPDATE meetings SET last_seq = ? WHERE meeting_id = ?`, seq, m); err != nil {
			return err
		}
	}
	return nil
}
