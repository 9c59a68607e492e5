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
	var before meetingServices
	pairs := touchesServices(c)
	if pairs {
		var err error
		if before, err = readMeetingServices(ctx, tx, m); err != nil {
			return fmt.Errorf("services of the meeting before: %w", err)
		}
	}
	for i, e := range c.Events {
		var err error
		switch d := e.Data.(type) {
		case domain.MeetingConvened:
			_, err = tx.Exec(ctx, `INSERT INTO service_meetings (meeting_id, citizen_id, convened_on, status) VALUES (?, ?, ?, 'convened')`,
				m, d.CitizenID.String(), c.At.UTC().Format("2006-01-02"))
		case domain.ParticipantInvited:
			if d.Service == "" || (d.Kind != domain.KindProfessional && d.Kind != domain.KindRegion) {
				// Invited again as someone with no service: no longer a service's participant.
				_, err = tx.Exec(ctx, `DELETE FROM service_participants WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
				break
			}
			_, err = tx.Exec(ctx, `INSERT INTO service_participants (meeting_id, participant_id, service) VALUES (?, ?, ?)
				ON CONFLICT (meeting_id, participant_id) DO UPDATE SET service = excluded.service, invited = 1, accepted = 0`,
				m, d.ParticipantID.String(), d.Service)
		case domain.InvitationWithdrawn:
			_, err = tx.Exec(ctx, `UPDATE service_participants SET invited = 0, accepted = 0 WHERE meeting_id = ? AND participant_id = ?`, m, d.ParticipantID.String())
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
	if !pairs {
		return nil
	}
	after, err := readMeetingServices(ctx, tx, m)
	if err != nil {
		return fmt.Errorf("services of the meeting after: %w", err)
	}
	if err := updateCitizenMonths(ctx, tx, before, after); err != nil {
		return fmt.Errorf("services per citizen and month: %w", err)
	}
	return nil
}
