package projections

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// Meeting returns one meeting if the actor may see it, by the rule History applies (mayView). A meeting the actor may not see
// is answered exactly as one that does not exist (NotFound), so that its existence is not told.
func (q *Queries) Meeting(ctx context.Context, a domain.Actor, meeting uuid.UUID, after uint64) (MeetingView, error) {
	if err := personal(a); err != nil {
		return MeetingView{}, err
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return MeetingView{}, err
	}
	may, args := mayView(a)
	var out []MeetingView
	err := q.MeetingsModel.View(func(db *sql.DB) error {
		var err error
		out, err = meetingViews(ctx, db, `m.meeting_id = ? AND `+may, append([]any{meeting.String()}, args...), q.Now())
		return err
	})
	if err != nil {
		return MeetingView{}, err
	}
	if len(out) != 1 {
		return MeetingView{}, domain.Errorf(domain.NotFound, "no meeting %s that you may see", meeting)
	}
	return out[0], nil
}
