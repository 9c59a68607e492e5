package projections

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// Meeting returns one meeting as the actor may see it: the citizen and their support person
// always, anyone else only while invited (or when they attended). A meeting the actor may not see
// is answered exactly as one that does not exist (NotFound), so that its existence is not told.
func (q *Queries) Meeting(ctx context.Context, a domain.Actor, meeting uuid.UUID, after uint64) (MeetingView, error) {
	if err := personal(a); err != nil {
		return MeetingView{}, err
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return MeetingView{}, err
	}
	var out []MeetingView
	err := q.MeetingsModel.View(func(db *sql.DB) error {
		var err error
		out, err = meetingViews(ctx, db, `m.meeting_id = ?`, []any{meeting.String()}, q.Now())
		return err
	})
	if err != nil {
		return MeetingView{}, err
	}
	if len(out) == 1 && mayView(a, out[0]) {
		return out[0], nil
	}
	return MeetingView{}, domain.Errorf(domain.NotFound, "no meeting %s that you may see", meeting)
}

// mayView applies History's rule to one meeting.
func mayView(a domain.Actor, m MeetingView) bool {
	if a.ActsFor(m.CitizenID) {
		return true
	}
	for _, p := range m.Participants {
		if p.ID == a.ID && (!p.Withdrawn || p.Present) {
			return true
		}
	}
	return false
}
