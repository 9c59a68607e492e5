package projections

import (
	"context"
	"fmt"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
)

// Services is the services read model: which services (and the region) took part in which
// meetings, invited, accepted and attended, with no names and no free text; and per citizen the
// services taking part in their meetings, month by month (see services_months.go).
type Services struct{}

// Name implements Projection.
func (Services) Name() string { return "services" }

// Apply implements Projection.
func (Services) Apply(ctx context.Context, tx *Tx, r eventstore.Recorded) error {
	c := r.Commit
	m := c.MeetingID.String()
	for i, e := range c.Events {
		var err error
		switch d := e.Data.(type) {
		case domain.MeetingConvened:
			_, err = tx.Exec(ctx, `INSERT INTO service_meetings (meeting_id, citizen_id, convened_on, status) VALUES (?, ?, ?, 'convened')`,
				m, d.CitizenID.String(), c.At.UTC().Format("2006-01-02"))
		case domain.ParticipantInvited:
			var was string
			if was, err = standingService(ctx, tx, m, d.ParticipantID.String()); err != nil {
				break
			}
			if d.Service == "" || (d.Kind != domain.KindProfessional && d.Kind != domain.KindRegion) {
				// Invited again as someone with no service: no longer a service's participant.
				if _, err = tx.Exec(ctx, `DELETE FROM service_participants WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String()); err == nil {
					err = serviceMoved(ctx, tx, m, was, "")
				}
				break
			}
			if _, err = tx.Exec(ctx, `INSERT INTO service_participants (meeting_id, participant_id, service) VALUES (?, ?, ?)
				ON CONFLICT (meeting_id, participant_id) DO UPDATE SET service = excluded.service, invited = 1, accepted = 0`,
				m, d.ParticipantID.String(), d.Service); err == nil {
				err = serviceMoved(ctx, tx, m, was, d.Service)
			}
		case domain.InvitationWithdrawn:
			var was string
			if was, err = standingService(ctx, tx, m, d.ParticipantID.String()); err != nil {
				break
			}
			if _, err = tx.Exec(ctx, `UPDATE service_participants SET invited = 0, accepted = 0 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String()); err == nil {
				err = serviceMoved(ctx, tx, m, was, "")
			}
		case domain.InvitationAccepted:
			_, err = tx.Exec(ctx, `UPDATE service_participants SET accepted = 1 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
		case domain.InvitationDeclined:
			_, err = tx.Exec(ctx, `UPDATE service_participants SET accepted = 0 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
		case domain.MeetingHeld:
			for _, p := range d.Present {
				if _, err = tx.Exec(ctx, `UPDATE service_participants SET attended = 1 WHERE meeting_id = ? AND participant_id = ?`, m, p.String()); err != nil {
					break
				}
			}
			if err == nil {
				_, err = tx.Exec(ctx, `UPDATE service_meetings SET status = 'held' WHERE meeting_id = ?`, m)
			}
		case domain.MeetingClosed:
			_, err = tx.Exec(ctx, `UPDATE service_meetings SET status = 'closed' WHERE meeting_id = ?`, m)
		case domain.MeetingCancelled:
			_, err = tx.Exec(ctx, `UPDATE service_meetings SET status = 'cancelled' WHERE meeting_id = ?`, m)
		}
		if err != nil {
			return fmt.Errorf("event %d (%s): %w", i, e.Type, err)
		}
	}
	return nil
}
