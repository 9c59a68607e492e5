package projections

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// Evaluation is the Open Dialogue indicators over a period, with no personal data.
type Evaluation struct {
	From       string             `json:"from,omitempty"`
	To         string             `json:"to,omitempty"`
	Service    string             `json:"service,omitempty"`
	AsOf       string             `json:"as_of"` // the day follow-ups are judged on
	Meetings   int                `json:"meetings"`
	Held       int                `json:"held"`
	Citizens   int                `json:"citizens"`
	Indicators []domain.Indicator `json:"indicators"`
}

// Evaluate computes the indicators over the meetings convened in the period (and, with a
// service, those the service was invited to). Evaluators only.
func (q *Queries) Evaluate(ctx context.Context, a domain.Actor, f ServicesFilter, after uint64) (Evaluation, error) {
	if err := a.Validate(); err != nil {
		return Evaluation{}, err
	}
	if a.Role != domain.RoleEvaluator {
		return Evaluation{}, domain.Errorf(domain.Forbidden, "the evaluation is for evaluators")
	}
	if err := f.validate(); err != nil {
		return Evaluation{}, err
	}
	if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
		return Evaluation{}, err
	}
	var facts []domain.MeetingFacts
	err := q.MeetingsModel.View(func(db *sql.DB) error {
		var err error
		facts, err = Facts(ctx, db, f)
		return err
	})
	if err != nil {
		return Evaluation{}, err
	}
	today := q.Now().UTC().Format(time.DateOnly)
	ev := Evaluation{From: f.From, To: f.To, Service: f.Service, AsOf: today, Meetings: len(facts), Indicators: domain.Indicators(facts, today)}
	cits := map[uuid.UUID]bool{}
	for _, m := range facts {
		cits[m.CitizenID] = true
		if m.Held() {
			ev.Held++
		}
	}
	ev.Citizens = len(cits)
	return ev, nil
}

// Facts reads every meeting's facts from the meetings read model (convened in the period, and
// with the service invited when one is given), in three passes over the tables.
func Facts(ctx context.Context, db *sql.DB, f ServicesFilter) ([]domain.MeetingFacts, error) {
	conds, args := []string{"1 = 1"}, []any{}
	if f.From != "" {
		conds, args = append(conds, "m.convened_at >= ?"), append(args, f.From)
	}
	if f.To != "" {
		conds, args = append(conds, "m.convened_at < ?"), append(args, f.To+"T24")
	}
	if f.Service != "" {
		conds, args = append(conds, "m.meeting_id IN (SELECT meeting_id FROM participants WHERE service = ? AND withdrawn = 0)"), append(args, f.Service)
	}
	where := strings.Join(conds, " AND ")
	rows, err := db.QueryContext(ctx, `SELECT m.meeting_id, m.citizen_id, m.convened_at, m.held_at, coalesce(m.place, ''), m.citizen_present
		FROM meetings m WHERE `+where+` ORDER BY m.meeting_id`, args...)
	if err != nil {
		return nil, err
	}
	var facts []domain.MeetingFacts
	index := map[uuid.UUID]int{}
	for rows.Next() {
		var mf domain.MeetingFacts
		var convened string
		var held sql.NullString
		var place string
		if err := rows.Scan(&mf.MeetingID, &mf.CitizenID, &convened, &held, &place, &mf.CitizenPresent); err != nil {
			rows.Close()
			return nil, err
		}
		mf.ConvenedAt, mf.Place = parseTS(convened), domain.PlaceKind(place)
		if held.Valid {
			mf.HeldAt = parseTS(held.String)
		}
		index[mf.MeetingID] = len(facts)
		facts = append(facts, mf)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `SELECT p.meeting_id, p.participant_id, p.kind, p.service, p.withdrawn, p.present
		FROM participants p JOIN meetings m ON m.meeting_id = p.meeting_id WHERE `+where+` ORDER BY p.meeting_id, p.position`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var m uuid.UUID
		var p domain.ParticipantFacts
		var kind string
		if err := rows.Scan(&m, &p.ID, &kind, &p.Service, &p.Withdrawn, &p.Present); err != nil {
			rows.Close()
			return nil, err
		}
		p.Kind = domain.ParticipantKind(kind)
		if i, ok := index[m]; ok {
			facts[i].Participants = append(facts[i].Participants, p)
		}
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT f.meeting_id, f.due, f.completed_at FROM follow_ups f JOIN meetings m ON m.meeting_id = f.meeting_id
		WHERE `+where+` ORDER BY f.meeting_id, f.recorded_at, f.follow_up_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m uuid.UUID
		var fu domain.FollowUpFacts
		var completed sql.NullString
		if err := rows.Scan(&m, &fu.Due, &completed); err != nil {
			return nil, err
		}
		if completed.Valid {
			fu.CompletedOn = parseTS(completed.String).UTC().Format(time.DateOnly)
		}
		if i, ok := index[m]; ok {
			facts[i].FollowUps = append(facts[i].FollowUps, fu)
		}
	}
	return facts, rows.Err()
}
