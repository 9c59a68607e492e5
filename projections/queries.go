package projections

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// Queries answers questions from the read models. Each query sees only what its actor may see.
type Queries struct {
	MeetingsModel *Projector
	ServicesModel *Projector
	Now           func() time.Time
	// MaxWait bounds how long a query waits for the read model to reach a sequence it was given
	// (read your writes); 0 means 5 s.
	MaxWait time.Duration
	// MinGroup is k: the services report shows an aggregate only for a group of at least k
	// citizens; 0 means DefaultMinGroup.
	MinGroup int
	// Catalogue is the service catalogue: the services report names a service outside it (free text
	// from before there was one) domain.ServiceOther; nil means domain.DefaultCatalogue.
	Catalogue *domain.Catalogue
}

// MeetingView is a meeting as its citizen and invited participants see it.
type MeetingView struct {
	MeetingID      uuid.UUID         `json:"meeting_id"`
	CitizenID      uuid.UUID         `json:"citizen_id"`
	Title          string            `json:"title"`
	Status         string            `json:"status"`
	ConvenedAt     time.Time         `json:"convened_at"`
	ScheduledAt    *time.Time        `json:"scheduled_at,omitempty"`
	Place          string            `json:"place,omitempty"`
	Address        string            `json:"address,omitempty"`
	Reschedules    int               `json:"reschedules"`
	HeldAt         *time.Time        `json:"held_at,omitempty"`
	CitizenPresent bool              `json:"citizen_present"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	NextAgreed     bool              `json:"next_agreed"`
	CancelledAt    *time.Time        `json:"cancelled_at,omitempty"`
	CancelReason   string            `json:"cancel_reason,omitempty"`
	Agenda         []string          `json:"agenda"`
	Participants   []ParticipantView `json:"participants"`
	Suggestions    []SuggestionView  `json:"suggestions"`
	FollowUps      []FollowUpView    `json:"follow_ups"`
	Seq            uint64            `json:"seq"`
}

// ParticipantView is an invitee: who, from where, and how they answered.
type ParticipantView struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Service    string     `json:"service,omitempty"`
	Answer     string     `json:"answer"`
	Reason     string     `json:"reason,omitempty"`
	Withdrawn  bool       `json:"withdrawn"`
	Present    bool       `json:"present"`
	InvitedAt  time.Time  `json:"invited_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// ConsentVersion is the consent text the citizen agreed to for sharing the meeting with this
	// participant from outside the municipality; ConsentWithdrawn, that they took it back.
	ConsentVersion   string `json:"consent_version,omitempty"`
	ConsentWithdrawn bool   `json:"consent_withdrawn,omitempty"`
}

// SuggestionView is someone a participant suggested.
type SuggestionView struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Service     string    `json:"service,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	SuggestedBy uuid.UUID `json:"suggested_by"`
}

// FollowUpView is a follow-up with its state as of now: open, due (today), overdue, done or
// done_late.
type FollowUpView struct {
	ID          uuid.UUID  `json:"id"`
	MeetingID   uuid.UUID  `json:"meeting_id"`
	What        string     `json:"what"`
	Responsible uuid.UUID  `json:"responsible"`
	Service     string     `json:"service,omitempty"` // the responsible participant's service
	Due         string     `json:"due,omitempty"`
	RecordedAt  time.Time  `json:"recorded_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	State       string     `json:"state"`
	// CitizenID is whose meeting it is, for the access log; not shown.
	CitizenID uuid.UUID `json:"-"`
}

func (q *Queries) wait(ctx context.Context, p *Projector, after uint64) error {
	if after == 0 {
		return nil
	}
	d := q.MaxWait
	if d == 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := p.WaitFor(ctx, after); err != nil {
		return &NotCaughtUpError{err}
	}
	return nil
}

// NotCaughtUpError means the read model has not reached the sequence asked for in time.
type NotCaughtUpError struct{ Err error }

func (e *NotCaughtUpError) Error() string { return e.Err.Error() }
func (e *NotCaughtUpError) Unwrap() error { return e.Err }

func personal(a domain.Actor) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Role == domain.RoleEvaluator || a.Role == domain.RoleAdmin {
		return domain.Errorf(domain.Forbidden, "%ss see no personal meeting data; evaluators see pseudonymised histories through the evaluation", a.Role)
	}
	return nil
}

// History returns a page of a citizen's meetings in the order they were convened. The citizen
// and their support person see every meeting; anyone else only those they are (or were, and
// attended) invited to; evaluators and administrators nothing.
func (q *Queries) History(ctx context.Context, a domain.Actor, citizen uuid.UUID, pg Page, after uint64) (Paged[MeetingView], error) {
	out := Paged[MeetingView]{Items: []MeetingView{}}
	if err := personal(a); err != nil {
		return out, err
	}
	if citizen == uuid.Nil {
		return out, domain.FieldErrorf("citizen", "is missing: name the citizen whose history you ask for")
	}
	limit, err := pg.Size(HistoryLimits)
	if err != nil {
		return out, err
	}
	from, err := ReadCursor("history", pg.Cursor, 2)
	if err != nil {
		return out, err
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return out, err
	}
	may, args := mayView(a)
	where, args := `m.citizen_id = ? AND `+may, append([]any{citizen.String()}, args...)
	if from != nil {
		where, args = where+` AND (m.convened_at, m.meeting_id) > (?, ?)`, append(args, from[0], from[1])
	}
	err = q.MeetingsModel.View(func(db *sql.DB) error {
		views, err := meetingViews(ctx, db, where+` ORDER BY m.convened_at, m.meeting_id LIMIT ?`, append(args, limit+1), q.Now())
		if err != nil {
			return err
		}
		var more bool
		if views, more = Fit(views, limit, MaxPageBytes); len(views) > 0 {
			out.Items = views
		}
		if more {
			last := views[len(views)-1]
			out.NextCursor = Cursor("history", ts(last.ConvenedAt), last.MeetingID.String())
		}
		return nil
	})
	return out, err
}

// mayView is who sees a meeting, as a condition on meetings m: the citizen and their support
// person, and anyone invited to it (or who attended before their invitation was taken back).
func mayView(a domain.Actor) (string, []any) {
	own := uuid.Nil // the citizen whose meetings these are to the actor, if any
	switch a.Role {
	case domain.RoleCitizen:
		own = a.ID
	case domain.RoleSupport:
		own = a.OnBehalfOf
	}
	return `(m.citizen_id = ? OR m.meeting_id IN (SELECT meeting_id FROM participants WHERE participant_id = ? AND consent_withdrawn = 0 AND (withdrawn = 0 OR present = 1)))`,
		[]any{own.String(), a.ID.String()}
}

func nullTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTS(s.String)
	return &t
}

func meetingViews(ctx context.Context, db *sql.DB, where string, args []any, now time.Time) ([]MeetingView, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.meeting_id, m.citizen_id, m.title, m.status, m.convened_at, m.scheduled_at,
		coalesce(m.place, ''), coalesce(m.address, ''), m.reschedules, m.held_at, m.citizen_present, m.closed_at, m.next_agreed,
		m.cancelled_at, coalesce(m.cancel_reason, ''), m.last_seq FROM meetings m WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MeetingView
	for rows.Next() {
		var v MeetingView
		var convened string
		var scheduled, held, closed, cancelled sql.NullString
		if err := rows.Scan(&v.MeetingID, &v.CitizenID, &v.Title, &v.Status, &convened, &scheduled, &v.Place, &v.Address, &v.Reschedules,
			&held, &v.CitizenPresent, &closed, &v.NextAgreed, &cancelled, &v.CancelReason, &v.Seq); err != nil {
			return nil, err
		}
		v.ConvenedAt = parseTS(convened)
		v.ScheduledAt, v.HeldAt, v.ClosedAt, v.CancelledAt = nullTime(scheduled), nullTime(held), nullTime(closed), nullTime(cancelled)
		v.Agenda, v.Participants, v.Suggestions, v.FollowUps = []string{}, []ParticipantView{}, []SuggestionView{}, []FollowUpView{}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := fillMeeting(ctx, db, &out[i], now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func fillMeeting(ctx context.Context, db *sql.DB, v *MeetingView, now time.Time) error {
	m := v.MeetingID.String()
	rows, err := db.QueryContext(ctx, `SELECT text FROM agenda_items WHERE meeting_id = ? ORDER BY position`, m)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		v.Agenda = append(v.Agenda, t)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT participant_id, name, kind, service, answer, reason, withdrawn, present, invited_at, answered_at,
		consent_version, consent_withdrawn
		FROM participants WHERE meeting_id = ? ORDER BY position`, m)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p ParticipantView
		var invited string
		var answered sql.NullString
		if err := rows.Scan(&p.ID, &p.Name, &p.Kind, &p.Service, &p.Answer, &p.Reason, &p.Withdrawn, &p.Present, &invited, &answered,
			&p.ConsentVersion, &p.ConsentWithdrawn); err != nil {
			rows.Close()
			return err
		}
		p.InvitedAt, p.AnsweredAt = parseTS(invited), nullTime(answered)
		v.Participants = append(v.Participants, p)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT suggestion_id, name, kind, service, reason, suggested_by FROM suggestions WHERE meeting_id = ? ORDER BY suggested_at`, m)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s SuggestionView
		if err := rows.Scan(&s.ID, &s.Name, &s.Kind, &s.Service, &s.Reason, &s.SuggestedBy); err != nil {
			rows.Close()
			return err
		}
		v.Suggestions = append(v.Suggestions, s)
	}
	rows.Close()
	fs, err := followUps(ctx, db, `f.meeting_id = ?`, []any{m}, now, 0)
	v.FollowUps = fs
	return err
}

// followUps lists the follow-ups where holds, in the order they were recorded; limit > 0
// stops after that many.
func followUps(ctx context.Context, db *sql.DB, where string, args []any, now time.Time, limit int) ([]FollowUpView, error) {
	q := `SELECT f.follow_up_id, f.meeting_id, f.what, f.responsible, coalesce(p.service, ''), f.due, f.recorded_at, f.completed_at,
		coalesce((SELECT mm.citizen_id FROM meetings mm WHERE mm.meeting_id = f.meeting_id), '')
		FROM follow_ups f LEFT JOIN participants p ON p.meeting_id = f.meeting_id AND p.participant_id = f.responsible
		WHERE ` + where + ` ORDER BY f.recorded_at, f.follow_up_id`
	if limit > 0 {
		q, args = q+` LIMIT ?`, append(args, limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	today := now.UTC().Format(time.DateOnly)
	out := []FollowUpView{}
	for rows.Next() {
		var f FollowUpView
		var recorded string
		var completed sql.NullString
		var citizen string
		if err := rows.Scan(&f.ID, &f.MeetingID, &f.What, &f.Responsible, &f.Service, &f.Due, &recorded, &completed, &citizen); err != nil {
			return nil, err
		}
		f.CitizenID, _ = uuid.Parse(citizen)
		f.RecordedAt, f.CompletedAt = parseTS(recorded), nullTime(completed)
		f.State = followUpState(f.Due, f.CompletedAt, today)
		out = append(out, f)
	}
	return out, rows.Err()
}

// followUpState says where a follow-up stands on the day today (YYYY-MM-DD).
func followUpState(due string, completed *time.Time, today string) string {
	switch {
	case completed != nil && due != "" && completed.UTC().Format(time.DateOnly) > due:
		return "done_late"
	case completed != nil:
		return "done"
	case due == "" || due > today:
		return "open"
	case due == today:
		return "due"
	}
	return "overdue"
}

// Inbox is a page of what a participant has to attend to. Each of its three lists pages on its
// own, by InboxLimits; NextCursor continues those that have more.
type Inbox struct {
	Invitations []InboxMeeting `json:"invitations"` // to answer
	Coming      []InboxMeeting `json:"coming"`      // accepted, not yet held
	FollowUps   []FollowUpView `json:"follow_ups"`  // theirs, not done
	NextCursor  string         `json:"next_cursor,omitempty"`
}

// InboxMeeting is a meeting in an inbox, with the citizen's agenda.
type InboxMeeting struct {
	MeetingID   uuid.UUID  `json:"meeting_id"`
	CitizenID   uuid.UUID  `json:"citizen_id"`
	Title       string     `json:"title"`
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	Place       string     `json:"place,omitempty"`
	Address     string     `json:"address,omitempty"`
	Agenda      []string   `json:"agenda"`
	sortKey     string     // when it is (or was convened), as stored: the page position
}

// inboxDone marks, in an inbox cursor, a list that has no more pages.
const inboxDone = "~"

// Inbox returns a page of the actor's invitations to answer, the meetings they accepted that
// are still to come, and the follow-ups they are responsible for that are not done.
func (q *Queries) Inbox(ctx context.Context, a domain.Actor, pg Page, after uint64) (Inbox, error) {
	in := Inbox{Invitations: []InboxMeeting{}, Coming: []InboxMeeting{}, FollowUps: []FollowUpView{}}
	if err := personal(a); err != nil {
		return in, err
	}
	limit, err := pg.Size(InboxLimits)
	if err != nil {
		return in, err
	}
	from, err := ReadCursor("inbox", pg.Cursor, 6)
	if err != nil {
		return in, err
	}
	if from == nil {
		from = make([]string, 6)
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return in, err
	}
	me := a.ID.String()
	next := slices.Clone(from)
	budget := MaxPageBytes / 3
	err = q.MeetingsModel.View(func(db *sql.DB) error {
		for i, part := range []struct {
			cond string
			to   *[]InboxMeeting
		}{{`p.answer = 'pending' AND m.status IN ('convened', 'scheduled')`, &in.Invitations}, {`p.answer = 'accepted' AND m.status = 'scheduled'`, &in.Coming}} {
			if from[2*i] == inboxDone {
				continue
			}
			ms, err := inboxMeetings(ctx, db, part.cond, me, from[2*i:2*i+2], limit+1)
			if err != nil {
				return err
			}
			var more bool
			if *part.to, more = Fit(ms, limit, budget); more {
				last := ms[len(*part.to)-1]
				next[2*i], next[2*i+1] = last.sortKey, last.MeetingID.String()
			} else {
				next[2*i], next[2*i+1] = inboxDone, ""
			}
		}
		if from[4] == inboxDone {
			return nil
		}
		cond, args := `f.responsible = ? AND f.completed_at IS NULL AND NOT EXISTS (SELECT 1 FROM participants cp
			WHERE cp.meeting_id = f.meeting_id AND cp.participant_id = f.responsible AND cp.consent_withdrawn = 1)`, []any{me}
		if from[4] != "" {
			cond, args = cond+` AND (f.recorded_at, f.follow_up_id) > (?, ?)`, append(args, from[4], from[5])
		}
		fs, err := followUps(ctx, db, cond, args, q.Now(), limit+1)
		if err != nil {
			return err
		}
		var more bool
		if in.FollowUps, more = Fit(fs, limit, budget); more {
			last := in.FollowUps[len(in.FollowUps)-1]
			next[4], next[5] = ts(last.RecordedAt), last.ID.String()
		} else {
			next[4], next[5] = inboxDone, ""
		}
		return nil
	})
	if next[0] != inboxDone || next[2] != inboxDone || next[4] != inboxDone {
		in.NextCursor = Cursor("inbox", next...)
	}
	return in, err
}

// inboxMeetings lists the participant's meetings where cond holds, after the position from
// (sort key and meeting id; empty for the start), at most limit.
func inboxMeetings(ctx context.Context, db *sql.DB, cond, participant string, from []string, limit int) ([]InboxMeeting, error) {
	args := []any{participant}
	if from[0] != "" {
		cond, args = cond+` AND (coalesce(m.scheduled_at, m.convened_at), m.meeting_id) > (?, ?)`, append(args, from[0], from[1])
	}
	rows, err := db.QueryContext(ctx, `SELECT m.meeting_id, m.citizen_id, m.title, m.status, m.scheduled_at, coalesce(m.place, ''), coalesce(m.address, ''),
		coalesce(m.scheduled_at, m.convened_at)
		FROM participants p JOIN meetings m ON m.meeting_id = p.meeting_id
		WHERE p.participant_id = ? AND p.withdrawn = 0 AND p.consent_withdrawn = 0 AND `+cond+`
		ORDER BY coalesce(m.scheduled_at, m.convened_at), m.meeting_id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	out := []InboxMeeting{}
	for rows.Next() {
		var im InboxMeeting
		var scheduled sql.NullString
		if err := rows.Scan(&im.MeetingID, &im.CitizenID, &im.Title, &im.Status, &scheduled, &im.Place, &im.Address, &im.sortKey); err != nil {
			rows.Close()
			return nil, err
		}
		im.ScheduledAt = nullTime(scheduled)
		out = append(out, im)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Agenda = []string{}
		ar, err := db.QueryContext(ctx, `SELECT text FROM agenda_items WHERE meeting_id = ? ORDER BY position`, out[i].MeetingID.String())
		if err != nil {
			return nil, err
		}
		for ar.Next() {
			var t string
			if err := ar.Scan(&t); err != nil {
				ar.Close()
				return nil, err
			}
			out[i].Agenda = append(out[i].Agenda, t)
		}
		ar.Close()
	}
	return out, nil
}

// FollowUpFilter narrows the follow-ups listed.
type FollowUpFilter struct {
	Owner   uuid.UUID // responsible
	Service string    // the responsible participant's service
	Overdue bool      // only those past their due date and not done
}

// FollowUps lists a page of the follow-ups of the meetings the actor may see, in the order they
// were recorded: a citizen's (or their support person's) own meetings, or the meetings a
// participant is invited to.
func (q *Queries) FollowUps(ctx context.Context, a domain.Actor, f FollowUpFilter, pg Page, after uint64) (Paged[FollowUpView], error) {
	out := Paged[FollowUpView]{Items: []FollowUpView{}}
	if err := personal(a); err != nil {
		return out, err
	}
	limit, err := pg.Size(FollowUpLimits)
	if err != nil {
		return out, err
	}
	from, err := ReadCursor("follow-ups", pg.Cursor, 2)
	if err != nil {
		return out, err
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return out, err
	}
	may, args := mayView(a)
	conds := []string{`f.meeting_id IN (SELECT m.meeting_id FROM meetings m WHERE ` + may + `)`}
	if f.Owner != uuid.Nil {
		conds, args = append(conds, `f.responsible = ?`), append(args, f.Owner.String())
	}
	if f.Service != "" {
		conds, args = append(conds, `p.service = ?`), append(args, f.Service)
	}
	if f.Overdue {
		conds, args = append(conds, `f.completed_at IS NULL AND f.due != '' AND f.due < ?`), append(args, q.Now().UTC().Format(time.DateOnly))
	}
	if from != nil {
		conds, args = append(conds, `(f.recorded_at, f.follow_up_id) > (?, ?)`), append(args, from[0], from[1])
	}
	err = q.MeetingsModel.View(func(db *sql.DB) error {
		fs, err := followUps(ctx, db, strings.Join(conds, " AND "), args, q.Now(), limit+1)
		if err != nil {
			return err
		}
		var more bool
		out.Items, more = Fit(fs, limit, MaxPageBytes)
		if more {
			out.NextCursor = followUpCursor("follow-ups", out.Items)
		}
		return nil
	})
	return out, err
}

// followUpCursor names the position after the last of fs, in a list of kind.
func followUpCursor(kind string, fs []FollowUpView) string {
	last := fs[len(fs)-1]
	return Cursor(kind, ts(last.RecordedAt), last.ID.String())
}

// ServicesFilter narrows the evaluation's indicators to a period (YYYY-MM-DD, inclusive, by the
// day a meeting was convened) and a service.
type ServicesFilter struct {
	From, To, Service string
}

// validate checks the period's dates, naming the first that is wrong.
func (f ServicesFilter) validate() error {
	for _, d := range [][2]string{{"from", f.From}, {"to", f.To}} {
		if d[1] != "" {
			if _, err := time.Parse(time.DateOnly, d[1]); err != nil {
				return domain.FieldErrorf(d[0], "%q is not a date like 2026-12-24", d[1])
			}
		}
	}
	return nil
}
