package projections

import (
	"context"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// BulkLoad implements BulkLoader with the rows Apply writes.
func (Meetings) BulkLoad(ctx context.Context, tx *Tx, batches <-chan []Folded) error {
	return withIndexesAfter(ctx, tx, meetingsIndexes, func() error {
		for ms := range batches {
			if err := insertTables(ctx, tx, ms, meetingsTables); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
}

// meetingsTables are the meetings read model's tables, in the order of their foreign keys.
var meetingsTables = []table{
	{"meetings", []string{"meeting_id", "citizen_id", "title", "status", "convened_at", "scheduled_at", "place", "address", "reschedules",
		"held_at", "citizen_present", "closed_at", "next_agreed", "cancelled_at", "cancel_reason", "last_seq"},
		func(rows [][]any, f Folded) [][]any {
			m := f.Meeting
			var scheduled, place, address any
			if s, ok := m.Schedule(); ok {
				scheduled, place, address = ts(s.At), string(s.Place), s.Address
			}
			cancelledAt, reason := m.Cancelled()
			var cancelReason any
			if m.Status() == domain.StatusCancelled {
				cancelReason = reason
			}
			return append(rows, []any{m.ID().String(), m.CitizenID().String(), m.Title(), string(m.Status()), ts(m.ConvenedAt()), scheduled, place, address,
				int64(m.Reschedules()), nullTS(m.HeldAt()), m.CitizenPresent(), nullTS(m.ClosedAt()), m.NextAgreed(), nullTS(cancelledAt), cancelReason, int64(f.LastSeq)})
		}},
	{"agenda_items", []string{"meeting_id", "position", "text"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String() // boxed once for all the meeting's rows
			for i, it := range f.Meeting.Agenda() {
				rows = append(rows, []any{id, int64(i), it})
			}
			return rows
		}},
	{"participants", []string{"meeting_id", "participant_id", "name", "kind", "service", "answer", "reason", "withdrawn", "present", "invited_at", "answered_at", "position", "consent_version", "consent_withdrawn"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for i, p := range f.Meeting.Participants() {
				rows = append(rows, []any{id, p.ID.String(), p.Name, string(p.Kind), p.Service, string(p.Answer), p.Reason,
					p.Withdrawn, p.Present, ts(p.InvitedAt), nullTS(p.AnsweredAt), int64(i), p.ConsentVersion, p.ConsentWithdrawn})
			}
			byKey(rows[first:], 1) // key (meeting_id, participant_id): same meeting, by id
			return rows
		}},
	{"suggestions", []string{"suggestion_id", "meeting_id", "participant_id", "name", "kind", "service", "reason", "suggested_by", "suggested_at"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, s := range f.Meeting.Suggestions() {
				var pid any
				if s.ParticipantID != uuid.Nil {
					pid = s.ParticipantID.String()
				}
				rows = append(rows, []any{s.ID.String(), id, pid, s.Name, string(s.Kind), s.Service, s.Reason, s.SuggestedBy.String(), ts(s.SuggestedAt)})
			}
			byKey(rows[first:], 0) // key (meeting_id, suggestion_id): same meeting, by id
			return rows
		}},
	{"follow_ups", []string{"follow_up_id", "meeting_id", "what", "responsible", "due", "recorded_at", "completed_at"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, u := range f.Meeting.FollowUps() {
				rows = append(rows, []any{u.ID.String(), id, u.What, u.Responsible.String(), u.Due, ts(u.RecordedAt), nullTS(u.CompletedAt)})
			}
			byKey(rows[first:], 0)
			return rows
		}},
}

// The secondary indexes of each read model, as its migrations create them. A bulk load drops
// them, inserts, and builds them again from the rows (withIndexesAfter).
var (
	meetingsIndexes = map[string]string{
		"meetings_by_citizen":       `CREATE INDEX meetings_by_citizen ON meetings (citizen_id, convened_at)`,
		"participants_by_person":    `CREATE INDEX participants_by_person ON participants (participant_id)`,
		"follow_ups_by_responsible": `CREATE INDEX follow_ups_by_responsible ON follow_ups (responsible)`,
	}
	servicesIndexes = map[string]string{
		"service_participants_by_service":   `CREATE INDEX service_participants_by_service ON service_participants (service, meeting_id)`,
		"service_citizen_months_by_service": `CREATE INDEX service_citizen_months_by_service ON service_citizen_months (service, month, citizen_id)`,
	}
)

// BulkLoad implements BulkLoader with the rows Apply writes. The services per citizen and month
// are summed over each batch's meetings (while its per-meeting rows are inserted) and added to
// what earlier batches wrote: a citizen's meetings of one month may come in several batches.
func (Services) BulkLoad(ctx context.Context, tx *Tx, batches <-chan []Folded) error {
	return withIndexesAfter(ctx, tx, servicesIndexes, func() error {
		for ms := range batches {
			months := make(chan [][]any, 1)
			go func() { months <- citizenMonthRows(ms) }()
			err := insertTables(ctx, tx, ms, servicesTables)
			rows := <-months
			if err != nil {
				return err
			}
			if err := insertRows(ctx, tx, citizenMonthsTable, addMonths, rows); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
}

// citizenMonthsTable is service_citizen_months, whose rows a bulk load adds up batch by batch
// (addMonths).
var citizenMonthsTable = table{table: "service_citizen_months", cols: []string{"citizen_id", "service", "month", "meetings"}}

const addMonths = ` ON CONFLICT (citizen_id, service, month) DO UPDATE SET meetings = meetings + excluded.meetings`

var servicesTables = []table{
	{"service_meetings", []string{"meeting_id", "citizen_id", "convened_on", "status"},
		func(rows [][]any, f Folded) [][]any {
			m := f.Meeting
			status := "convened" // this read model does not follow scheduling
			switch m.Status() {
			case domain.StatusHeld, domain.StatusClosed, domain.StatusCancelled:
				status = string(m.Status())
			}
			return append(rows, []any{m.ID().String(), m.CitizenID().String(), m.ConvenedAt().UTC().Format("2006-01-02"), status})
		}},
	{"service_participants", []string{"meeting_id", "participant_id", "service", "invited", "accepted", "attended"},
		func(rows [][]any, f Folded) [][]any {
			var id any = f.Meeting.ID().String()
			first := len(rows)
			for _, p := range f.Meeting.Participants() {
				if p.Service == "" || (p.Kind != domain.KindProfessional && p.Kind != domain.KindRegion) {
					continue
				}
				rows = append(rows, []any{id, p.ID.String(), p.Service, !p.Withdrawn, p.Answer == domain.AnswerAccepted && !p.Withdrawn, p.Present})
			}
			byKey(rows[first:], 1)
			return rows
		}},
}
