package query

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/projections"
)

// MandateChecker returns the mandate a support actor reads on, refusing one whose mandate does
// not stand; other actors get the zero Mandate (the command service).
type MandateChecker interface {
	StandingMandate(ctx context.Context, a domain.Actor) (domain.Mandate, error)
}

// Recorder writes access log entries and returns once they are stored (accesslog.Log).
type Recorder interface {
	Record(ctx context.Context, entries ...accesslog.Entry) error
}

// Reads is the one way into the read models for the API, NATS and the pages: every read first
// checks a support actor's mandate, and every read of a citizen's data by anyone but that
// citizen is written to the access log before it is answered. A read that cannot be logged is
// not answered (fail closed).
type Reads struct {
	Queries *projections.Queries
	// Mandates checks support actors; nil refuses every support actor.
	Mandates MandateChecker
	// Access is the access log; nil records nothing (tests of the read models alone).
	Access Recorder
	// AccessEntries reads the access log for the citizen; nil leaves access-log out.
	AccessEntries AccessEntries
	// Names, when set, gives a reader's name for the citizen's view of the access log: only
	// where the municipality has chosen to show names (serve --access-log-names).
	Names func(person uuid.UUID) (string, bool)
}

// check returns the mandate a support actor reads on (the zero Mandate for anyone else, which
// covers every meeting), or refuses them.
func (r *Reads) check(ctx context.Context, a domain.Actor) (domain.Mandate, error) {
	if a.Role != domain.RoleSupport {
		return domain.Mandate{}, nil
	}
	if r.Mandates == nil {
		return domain.Mandate{}, domain.Errorf(domain.Forbidden, "this service keeps no mandates, so it honours no support person's token").Because(domain.RuleNoMandate)
	}
	return r.Mandates.StandingMandate(ctx, a)
}

// Mandate returns the mandate a support actor reads on, or refuses them (the zero Mandate for
// anyone else): for reads done outside the read models (replay) to keep to what it covers.
func (r *Reads) Mandate(ctx context.Context, a domain.Actor) (domain.Mandate, error) {
	return r.check(ctx, a)
}

// outside reports whether a support actor's mandate leaves out the citizen's meeting: a
// mandate limited to some meetings shows its holder those alone. Meetings of other citizens
// are the read models' to judge (their own invitations).
func outside(a domain.Actor, m domain.Mandate, citizen, meeting uuid.UUID) bool {
	return a.Role == domain.RoleSupport && citizen == a.OnBehalfOf && !m.Covers(meeting)
}

// notCovered is the answer to a meeting the mandate leaves out: as for a meeting that does not
// exist, so it tells nothing more than the mandate allows.
func notCovered(meeting uuid.UUID) error {
	return domain.Errorf(domain.NotFound, "meeting %s not found", meeting)
}

// record logs a read by a of the given citizens' data (one entry each), or the search itself
// when it touched no citizen. The citizen's own reads are not logged.
func (r *Reads) record(ctx context.Context, a domain.Actor, what string, meeting uuid.UUID, criteria map[string]string, citizens ...uuid.UUID) error {
	if r.Access == nil {
		return nil
	}
	var entries []accesslog.Entry
	seen := map[uuid.UUID]bool{}
	for _, c := range citizens {
		if seen[c] || (a.Role == domain.RoleCitizen && a.ID == c) {
			seen[c] = true
			continue
		}
		seen[c] = true
		entries = append(entries, accesslog.Entry{Reader: a, Citizen: c, Meeting: meeting, What: what, Criteria: criteria, Purpose: accesslog.PurposeOf(a)})
	}
	if len(citizens) == 0 && a.Role != domain.RoleCitizen {
		entries = append(entries, accesslog.Entry{Reader: a, Meeting: meeting, What: what, Criteria: criteria, Purpose: accesslog.PurposeOf(a)})
	}
	if err := r.Access.Record(ctx, entries...); err != nil {
		return fmt.Errorf("record %s read: %w", what, err)
	}
	return nil
}

// Meeting returns one meeting as the actor may see it.
func (r *Reads) Meeting(ctx context.Context, a domain.Actor, meeting uuid.UUID, after uint64) (projections.MeetingView, error) {
	m, err := r.check(ctx, a)
	if err != nil {
		return projections.MeetingView{}, err
	}
	v, err := r.Queries.Meeting(ctx, a, meeting, after)
	if err != nil {
		return projections.MeetingView{}, err
	}
	if outside(a, m, v.CitizenID, v.MeetingID) {
		return projections.MeetingView{}, notCovered(meeting)
	}
	if err := r.record(ctx, a, "meeting", meeting, nil, v.CitizenID); err != nil {
		return projections.MeetingView{}, err
	}
	return v, nil
}

// History returns a citizen's meetings as the actor may see them.
func (r *Reads) History(ctx context.Context, a domain.Actor, citizen uuid.UUID, pg projections.Page, after uint64) (projections.Paged[projections.MeetingView], error) {
	none := projections.Paged[projections.MeetingView]{Items: []projections.MeetingView{}}
	m, err := r.check(ctx, a)
	if err != nil {
		return none, err
	}
	h, err := r.Queries.History(ctx, a, citizen, pg, after)
	if err != nil {
		return none, err
	}
	h.Items = slices.DeleteFunc(h.Items, func(v projections.MeetingView) bool { return outside(a, m, v.CitizenID, v.MeetingID) })
	if err := r.record(ctx, a, "history", uuid.Nil, map[string]string{"citizen": citizen.String()}, citizen); err != nil {
		return none, err
	}
	return h, nil
}

// Inbox returns a participant's inbox; each citizen whose meeting is in it is logged.
func (r *Reads) Inbox(ctx context.Context, a domain.Actor, pg projections.Page, after uint64) (projections.Inbox, error) {
	m, err := r.check(ctx, a)
	if err != nil {
		return projections.Inbox{}, err
	}
	in, err := r.Queries.Inbox(ctx, a, pg, after)
	if err != nil {
		return projections.Inbox{}, err
	}
	left := func(v projections.InboxMeeting) bool { return outside(a, m, v.CitizenID, v.MeetingID) }
	in.Invitations = slices.DeleteFunc(in.Invitations, left)
	in.Coming = slices.DeleteFunc(in.Coming, left)
	in.FollowUps = slices.DeleteFunc(in.FollowUps, func(v projections.FollowUpView) bool { return outside(a, m, v.CitizenID, v.MeetingID) })
	var citizens []uuid.UUID
	for _, m := range append(append([]projections.InboxMeeting(nil), in.Invitations...), in.Coming...) {
		citizens = append(citizens, m.CitizenID)
	}
	for _, f := range in.FollowUps {
		citizens = append(citizens, f.CitizenID)
	}
	if err := r.record(ctx, a, "inbox", uuid.Nil, nil, citizens...); err != nil {
		return projections.Inbox{}, err
	}
	return in, nil
}

// FollowUps lists follow-ups; each citizen whose follow-up is listed is logged with the search's
// criteria.
func (r *Reads) FollowUps(ctx context.Context, a domain.Actor, f projections.FollowUpFilter, pg projections.Page, after uint64) (projections.Paged[projections.FollowUpView], error) {
	none := projections.Paged[projections.FollowUpView]{Items: []projections.FollowUpView{}}
	m, err := r.check(ctx, a)
	if err != nil {
		return none, err
	}
	out, err := r.Queries.FollowUps(ctx, a, f, pg, after)
	if err != nil {
		return none, err
	}
	out.Items = slices.DeleteFunc(out.Items, func(v projections.FollowUpView) bool { return outside(a, m, v.CitizenID, v.MeetingID) })
	criteria := map[string]string{}
	if f.Owner != uuid.Nil {
		criteria["owner"] = f.Owner.String()
	}
	if f.Service != "" {
		criteria["service"] = f.Service
	}
	if f.Overdue {
		criteria["overdue"] = "true"
	}
	var citizens []uuid.UUID
	for _, v := range out.Items {
		citizens = append(citizens, v.CitizenID)
	}
	if err := r.record(ctx, a, "follow-ups", uuid.Nil, criteria, citizens...); err != nil {
		return none, err
	}
	return out, nil
}

// Services returns the services report: a search touching no one citizen, logged with its
// criteria.
func (r *Reads) Services(ctx context.Context, a domain.Actor, f projections.ServicesReportFilter, after uint64) (projections.ServicesReport, error) {
	if _, err := r.check(ctx, a); err != nil {
		return projections.ServicesReport{}, err
	}
	out, err := r.Queries.Services(ctx, a, f, after)
	if err != nil {
		return projections.ServicesReport{}, err
	}
	criteria := map[string]string{}
	if f.Period != "" {
		criteria["period"] = f.Period
	}
	if f.Service != "" {
		criteria["service"] = f.Service
	}
	if err := r.record(ctx, a, "services", uuid.Nil, criteria); err != nil {
		return projections.ServicesReport{}, err
	}
	return out, nil
}

// Record logs a read done elsewhere (replay, exports) the same way, after checking the actor's
// mandate, which must cover the meeting read: call it before answering.
func (r *Reads) Record(ctx context.Context, a domain.Actor, what string, meeting uuid.UUID, criteria map[string]string, citizens ...uuid.UUID) error {
	m, err := r.check(ctx, a)
	if err != nil {
		return err
	}
	if meeting != uuid.Nil && outside(a, m, a.OnBehalfOf, meeting) {
		return notCovered(meeting)
	}
	return r.record(ctx, a, what, meeting, criteria, citizens...)
}
