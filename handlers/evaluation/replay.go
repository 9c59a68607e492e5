// Package evaluation replays meeting histories as they stood at any moment, pseudonymised for
// evaluators, and writes the Open Dialogue indicator report.
package evaluation

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/projections"
)

// Replay is a history event by event, and the meetings as they stood at its end.
type Replay struct {
	Citizen     string        `json:"citizen,omitempty"`
	Meeting     uuid.UUID     `json:"meeting,omitzero"`
	AsOf        *time.Time    `json:"as_of,omitempty"`
	AtSeq       uint64        `json:"at_seq,omitempty"`
	Pseudonymed bool          `json:"pseudonymised"`
	Entries     []ReplayEntry `json:"entries"`
	// Meetings are the meetings as they stood at the last entry of this page.
	Meetings []MeetingState `json:"meetings"`
	// NextCursor continues Entries on the next page, "" on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ReplayLimits are the page sizes of a replay's entries.
var ReplayLimits = projections.Limits{Default: 500, Max: 2000}

// ReplayEntry is one commit: when, who (in which role, on whose behalf), what.
type ReplayEntry struct {
	Seq        uint64           `json:"seq"`
	At         time.Time        `json:"at"`
	MeetingID  uuid.UUID        `json:"meeting_id"`
	Command    string           `json:"command"`
	Actor      string           `json:"actor"`
	Role       domain.Role      `json:"role"`
	Service    string           `json:"service,omitempty"`
	OnBehalfOf string           `json:"on_behalf_of,omitempty"`
	Events     []map[string]any `json:"events"`
}

// MeetingState is a meeting as it stood.
type MeetingState struct {
	MeetingID    uuid.UUID          `json:"meeting_id"`
	Citizen      string             `json:"citizen"`
	Status       domain.Status      `json:"status"`
	Title        string             `json:"title,omitempty"`
	Agenda       []string           `json:"agenda,omitempty"`
	AgendaItems  int                `json:"agenda_items"`
	At           *time.Time         `json:"at,omitempty"`
	Place        domain.PlaceKind   `json:"place,omitempty"`
	Address      string             `json:"address,omitempty"`
	Participants []ParticipantState `json:"participants"`
	FollowUps    []FollowUpState    `json:"follow_ups"`
}

// ParticipantState is an invitee as it stood.
type ParticipantState struct {
	ID        string                 `json:"id"`
	Name      string                 `json:"name,omitempty"`
	Kind      domain.ParticipantKind `json:"kind"`
	Service   string                 `json:"service,omitempty"`
	Answer    domain.Answer          `json:"answer"`
	Withdrawn bool                   `json:"withdrawn"`
	Present   bool                   `json:"present"`
}

// FollowUpState is a follow-up as it stood.
type FollowUpState struct {
	ID          uuid.UUID `json:"id"`
	What        string    `json:"what,omitempty"`
	Responsible string    `json:"responsible"`
	Due         string    `json:"due,omitempty"`
	Completed   bool      `json:"completed"`
}

// ParseReplayQuery reads citizen, meeting, as_of (RFC 3339), at_seq, limit and cursor.
func ParseReplayQuery(v url.Values) (ReplayQuery, error) {
	for k := range v {
		if !slices.Contains([]string{"citizen", "meeting", "as_of", "at_seq", "limit", "cursor"}, k) {
			return ReplayQuery{}, domain.FieldErrorf(k, "is not a parameter of replay; it takes citizen, meeting, as_of, at_seq, limit and cursor")
		}
	}
	q := ReplayQuery{Citizen: v.Get("citizen")}
	var err error
	if q.Page, err = projections.PageParams(v); err != nil {
		return q, err
	}
	if s := v.Get("meeting"); s != "" {
		if q.Meeting, err = uuid.Parse(s); err != nil {
			return q, domain.FieldErrorf("meeting", "%q is not a UUID", s)
		}
	}
	if s := v.Get("as_of"); s != "" {
		if q.AsOf, err = time.Parse(time.RFC3339, s); err != nil {
			return q, domain.FieldErrorf("as_of", "%q is not an RFC 3339 time like 2026-12-01T10:00:00+01:00", s)
		}
	}
	if s := v.Get("at_seq"); s != "" {
		if q.AtSeq, err = strconv.ParseUint(s, 10, 64); err != nil || q.AtSeq == 0 {
			return q, domain.FieldErrorf("at_seq", "%q is not a sequence number", s)
		}
	}
	return q, nil
}

// Replayer replays histories from the log.
type Replayer struct {
	Store      *eventstore.Store
	Pseudonyms *Pseudonyms
	// Citizens lists the citizen ids known to the read models, to find a citizen from a
	// pseudonym.
	Citizens func(ctx context.Context) ([]uuid.UUID, error)
	// Services is the catalogue: evaluators see a service outside it as domain.ServiceOther,
	// since free text written before the catalogue may hold anything. nil is the default.
	Services *domain.Catalogue
}

// ReplayQuery says what to replay and as of when.
type ReplayQuery struct {
	Citizen string // a citizen id, or (for evaluators) a pseudonym
	Meeting uuid.UUID
	AsOf    time.Time
	AtSeq   uint64
	// Page pages the entries, by ReplayLimits.
	Page projections.Page
	// Mandate is a support actor's standing mandate (query.Reads.Mandate): one limited to some
	// meetings keeps the replay to those. The zero Mandate limits nothing.
	Mandate domain.Mandate
}

// Replay replays a citizen's or a meeting's history as it stood. Evaluators see pseudonyms and
// no names or free text; the citizen and their support person see their meetings in full;
// anyone else only the meetings they were invited to, in full; administrators nothing.
func (rp *Replayer) Replay(ctx context.Context, a domain.Actor, q ReplayQuery) (Replay, error) {
	if err := a.Validate(); err != nil {
		return Replay{}, err
	}
	if a.Role == domain.RoleAdmin {
		return Replay{}, domain.Errorf(domain.Forbidden, "administrators do not replay histories")
	}
	if (q.Citizen == "") == (q.Meeting == uuid.Nil) {
		return Replay{}, domain.FieldErrorf("citizen", "give either a citizen or a meeting")
	}
	evaluator := a.Role == domain.RoleEvaluator
	limit, err := q.Page.Size(ReplayLimits)
	if err != nil {
		return Replay{}, err
	}
	var fromSeq uint64
	if key, err := projections.ReadCursor("replay", q.Page.Cursor, 1); err != nil {
		return Replay{}, err
	} else if key != nil {
		if fromSeq, err = strconv.ParseUint(key[0], 10, 64); err != nil {
			return Replay{}, domain.FieldErrorf("cursor", "is not a cursor of replay; give the next_cursor of the page before")
		}
	}
	// As of a time means as of when commands were given (the commit's time), which for imported
	// or seeded histories differs from when the log stored them.
	opts := eventstore.ReadOptions{UntilSeq: q.AtSeq}
	out := Replay{Meeting: q.Meeting, AtSeq: q.AtSeq, Pseudonymed: evaluator, Entries: []ReplayEntry{}, Meetings: []MeetingState{}}
	if !q.AsOf.IsZero() {
		t := q.AsOf
		out.AsOf = &t
	}
	if q.Citizen != "" {
		c, err := rp.citizen(ctx, q.Citizen, evaluator)
		if err != nil {
			return Replay{}, err
		}
		opts.Filter = eventstore.CitizenFilter(c)
		out.Citizen = q.Citizen
	} else {
		l, err := rp.Store.Load(ctx, q.Meeting)
		if err != nil {
			return Replay{}, err
		}
		if !l.Meeting.Exists() {
			return Replay{}, domain.Errorf(domain.NotFound, "meeting %s does not exist", q.Meeting)
		}
		opts.Filter = l.Subject
	}
	var order []uuid.UUID
	seen := map[uuid.UUID]bool{}
	var commits []eventstore.Recorded
	if err := rp.Store.Read(ctx, opts, func(r eventstore.Recorded) error {
		if !q.AsOf.IsZero() && r.Commit.At.After(q.AsOf) {
			return nil
		}
		if !seen[r.Commit.MeetingID] {
			seen[r.Commit.MeetingID] = true
			order = append(order, r.Commit.MeetingID)
		}
		commits = append(commits, r)
		return nil
	}); err != nil {
		return Replay{}, err
	}
	// Which meetings this actor may see: evaluators all (pseudonymised); anyone else as the
	// meeting stands now, so a withdrawn invitation no longer opens its past.
	visible := map[uuid.UUID]bool{}
	var decidedAt uint64 // the last commit the visibility was decided on
	for _, id := range order {
		if evaluator {
			visible[id] = true
			continue
		}
		l, err := rp.Store.Load(ctx, id)
		if err != nil {
			return Replay{}, err
		}
		decidedAt = max(decidedAt, l.Seq)
		if l.Meeting.MayView(a) && (l.Meeting.CitizenID() != a.OnBehalfOf || q.Mandate.Covers(id)) {
			visible[id] = true
		}
	}
	// Read gave only commits on disk; what opened a meeting to this actor must be on disk too,
	// or a power failure could take back the invitation that showed it.
	if err := rp.Store.WaitDurable(ctx, decidedAt); err != nil {
		return Replay{}, err
	}
	if len(visible) == 0 && len(order) > 0 {
		if q.Meeting != uuid.Nil {
			// Answered as a meeting that does not exist, so that its existence is not told.
			return Replay{}, domain.Errorf(domain.NotFound, "meeting %s does not exist", q.Meeting)
		}
		return Replay{}, domain.Errorf(domain.Forbidden, "you may not see this history")
	}
	if q.Citizen != "" && len(order) == 0 && !evaluator {
		c, _ := uuid.Parse(q.Citizen)
		if !a.ActsFor(c) {
			return Replay{}, domain.Errorf(domain.Forbidden, "you may not see this history")
		}
	}
	services := rp.Services
	if services == nil {
		services = domain.DefaultCatalogue()
	}
	service := func(s string) string {
		if evaluator {
			return services.Evaluated(s)
		}
		return s
	}
	person := func(id uuid.UUID) string {
		if evaluator {
			return rp.Pseudonyms.Of(id)
		}
		if id == uuid.Nil {
			return ""
		}
		return id.String()
	}
	// The page: the visible commits after the cursor, as many as fit (limit, and 3/4 of the
	// page's bytes; the meetings' states take the rest); the meetings as they stood at its last
	// entry.
	for _, r := range commits {
		if !visible[r.Commit.MeetingID] || r.Seq <= fromSeq {
			continue
		}
		c := r.Commit
		e := ReplayEntry{Seq: r.Seq, At: c.At, MeetingID: c.MeetingID, Command: c.Command, Actor: person(c.Actor.ID), Role: c.Actor.Role,
			Service: service(c.Actor.Service), OnBehalfOf: person(c.Actor.OnBehalfOf)}
		for _, ev := range c.Events {
			e.Events = append(e.Events, redactEvent(ev, evaluator, person, service))
		}
		if out.Entries = append(out.Entries, e); len(out.Entries) > limit {
			break
		}
	}
	endSeq := uint64(0)
	var more bool
	if out.Entries, more = projections.Fit(out.Entries, limit, projections.MaxPageBytes*3/4); more {
		endSeq = out.Entries[len(out.Entries)-1].Seq
		out.NextCursor = projections.Cursor("replay", strconv.FormatUint(endSeq, 10))
	}
	meetings := map[uuid.UUID]*domain.Meeting{}
	for _, r := range commits {
		if endSeq != 0 && r.Seq > endSeq {
			break
		}
		m := meetings[r.Commit.MeetingID]
		if m == nil {
			m = &domain.Meeting{}
			meetings[r.Commit.MeetingID] = m
		}
		m.Apply(r.Commit)
	}
	for _, id := range order {
		m := meetings[id]
		if !visible[id] || m == nil {
			continue
		}
		st := MeetingState{MeetingID: id, Citizen: person(m.CitizenID()), Status: m.Status(), AgendaItems: len(m.Agenda()),
			Participants: []ParticipantState{}, FollowUps: []FollowUpState{}}
		if !evaluator {
			st.Title, st.Agenda = m.Title(), m.Agenda()
		}
		if s, ok := m.Schedule(); ok {
			at := s.At
			st.At, st.Place = &at, s.Place
			if !evaluator {
				st.Address = s.Address
			}
		}
		for _, p := range m.Participants() {
			ps := ParticipantState{ID: person(p.ID), Kind: p.Kind, Service: service(p.Service), Answer: p.Answer, Withdrawn: p.Withdrawn, Present: p.Present}
			if !evaluator {
				ps.Name = p.Name
			}
			st.Participants = append(st.Participants, ps)
		}
		for _, f := range m.FollowUps() {
			fs := FollowUpState{ID: f.ID, Responsible: person(f.Responsible), Due: f.Due, Completed: f.Completed}
			if !evaluator {
				fs.What = f.What
			}
			st.FollowUps = append(st.FollowUps, fs)
		}
		out.Meetings = append(out.Meetings, st)
	}
	return out, nil
}

// citizen resolves a citizen id, or for an evaluator a pseudonym, to the citizen's id.
func (rp *Replayer) citizen(ctx context.Context, s string, evaluator bool) (uuid.UUID, error) {
	if !evaluator {
		id, err := uuid.Parse(s)
		if err != nil {
			return uuid.Nil, domain.FieldErrorf("citizen", "%q is not a citizen id", s)
		}
		return id, nil
	}
	// Evaluators ask by pseudonym only: accepting an id would let them link ids they hold to
	// pseudonyms.
	if !strings.HasPrefix(s, "p-") {
		return uuid.Nil, domain.FieldErrorf("citizen", "evaluators name a citizen by pseudonym (p-…), as replays show them")
	}
	ids, err := rp.Citizens(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	for _, id := range ids {
		if rp.Pseudonyms.Of(id) == s {
			return id, nil
		}
	}
	return uuid.Nil, domain.Errorf(domain.NotFound, "no citizen has the pseudonym %s", s)
}

// Free text and the keys that hold person ids, in event payloads.
var (
	freeText  = map[string]bool{"title": true, "items": true, "name": true, "address": true, "reason": true, "what": true}
	personIDs = map[string]bool{"citizen_id": true, "participant_id": true, "responsible": true}
)

// redactEvent turns an event into a map; for evaluators person ids become pseudonyms, free text
// is left out (an agenda keeps only its length), and a service outside the catalogue is "anden".
func redactEvent(e domain.Event, evaluator bool, person func(uuid.UUID) string, service func(string) string) map[string]any {
	b, _ := json.Marshal(e.Data)
	var data map[string]any
	_ = json.Unmarshal(b, &data)
	out := map[string]any{"type": e.Type}
	for k, v := range data {
		switch {
		case !evaluator:
			out[k] = v
		case freeText[k]:
			if items, ok := v.([]any); ok {
				out["items_count"] = len(items)
			}
		case personIDs[k]:
			if s, ok := v.(string); ok {
				id, _ := uuid.Parse(s)
				out[k] = person(id)
			}
		case k == "service":
			if s, ok := v.(string); ok {
				out[k] = service(s)
			}
		case k == "present":
			var ps []string
			for _, x := range v.([]any) {
				id, _ := uuid.Parse(x.(string))
				ps = append(ps, person(id))
			}
			out[k] = ps
		default:
			out[k] = v
		}
	}
	return out
}

// CitizensFromReadModel lists the citizens in the meetings read model.
func CitizensFromReadModel(p *projections.Projector) func(ctx context.Context) ([]uuid.UUID, error) {
	return func(ctx context.Context) ([]uuid.UUID, error) {
		var ids []uuid.UUID
		err := p.View(func(db *sql.DB) error {
			rows, err := db.QueryContext(ctx, `SELECT DISTINCT citizen_id FROM meetings`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id uuid.UUID
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
		return ids, err
	}
}
