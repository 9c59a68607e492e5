package query

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/projections"
)

// AccessEntries reads the access log (accesslog.Log).
type AccessEntries interface {
	Entries(ctx context.Context, f accesslog.Filter) ([]accesslog.Entry, error)
}

// AccessView is one entry of the access log as its reader may see it. A citizen (and their
// support person) sees when, the reader's role and service, what and why; the reader's name only
// where the municipality shows names; an administrator also the reader's and citizen's ids.
type AccessView struct {
	At        time.Time         `json:"at"`
	Role      domain.Role       `json:"role"`
	Service   string            `json:"service,omitempty"`
	Name      string            `json:"name,omitempty"`
	What      string            `json:"what"`
	MeetingID uuid.UUID         `json:"meeting_id,omitzero"`
	Criteria  map[string]string `json:"criteria,omitempty"`
	Purpose   accesslog.Purpose `json:"purpose"`
	// For administrators only.
	ReaderID  uuid.UUID `json:"reader_id,omitzero"`
	OnBehalf  uuid.UUID `json:"on_behalf_of,omitzero"`
	CitizenID uuid.UUID `json:"citizen_id,omitzero"`
	seq       uint64    // the entry's place in the log: the page position
}

// AccessLog answers who has read a citizen's data, newest first. The citizen reads their own;
// a support person with a standing mandate the citizen's; an administrator by citizen or by
// reader (actor), which is itself logged. Anyone else is refused: evaluators and professionals
// never see the access log.
func (r *Reads) AccessLog(ctx context.Context, a domain.Actor, citizen, actor uuid.UUID, pg projections.Page) (projections.Paged[AccessView], error) {
	page := projections.Paged[AccessView]{Items: []AccessView{}}
	limit, err := pg.Size(AccessLogLimits)
	if err != nil {
		return page, err
	}
	var before uint64
	if key, err := projections.ReadCursor("access-log", pg.Cursor, 1); err != nil {
		return page, err
	} else if key != nil {
		if before, err = strconv.ParseUint(key[0], 10, 64); err != nil || before == 0 {
			return page, domain.FieldErrorf("cursor", "is not a cursor of access-log; give the next_cursor of the page before")
		}
	}
	views, next, err := r.accessLog(ctx, a, citizen, actor, limit, before)
	if err != nil {
		return page, err
	}
	page.Items = views
	if next != 0 {
		page.NextCursor = projections.Cursor("access-log", strconv.FormatUint(next, 10))
	}
	return page, nil
}

// AccessLogLimits are the page sizes of the access log.
var AccessLogLimits = projections.Limits{Default: 100, Max: 1000}

// accessLog is a page of the access log, newest first: at most limit entries stored before the
// sequence before (0: the newest), and the sequence the next page starts before (0: no older
// entries remain).
func (r *Reads) accessLog(ctx context.Context, a domain.Actor, citizen, actor uuid.UUID, limit int, before uint64) ([]AccessView, uint64, error) {
	if r.AccessEntries == nil {
		return nil, 0, domain.Errorf(domain.NotFound, "this service keeps no access log")
	}
	m, err := r.check(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	admin := a.Role == domain.RoleAdmin
	switch a.Role {
	case domain.RoleCitizen, domain.RoleSupport:
		own := a.ID
		if a.Role == domain.RoleSupport {
			own = a.OnBehalfOf
		}
		if citizen != uuid.Nil && citizen != own {
			return nil, 0, domain.Errorf(domain.Forbidden, "you can see only who has read your own data (or, with a mandate, the citizen's you act for)")
		}
		if actor != uuid.Nil {
			return nil, 0, domain.FieldErrorf("actor", "only an administrator can ask by reader")
		}
		citizen = own
	case domain.RoleAdmin:
		if citizen == uuid.Nil && actor == uuid.Nil {
			return nil, 0, domain.FieldErrorf("citizen", "is missing: an administrator asks by citizen or by reader (actor)")
		}
	default:
		return nil, 0, domain.Errorf(domain.Forbidden, "only the citizen, their support person or an administrator can see the access log")
	}
	// Reading the log is a read too: the citizen sees their support person's and an
	// administrator's look at it, and an investigation by reader is on record.
	criteria := map[string]string{}
	if citizen != uuid.Nil {
		criteria["citizen"] = citizen.String()
	}
	if actor != uuid.Nil {
		criteria["actor"] = actor.String()
	}
	var about []uuid.UUID
	if citizen != uuid.Nil {
		about = append(about, citizen)
	}
	if err := r.record(ctx, a, "access-log", uuid.Nil, criteria, about...); err != nil {
		return nil, 0, err
	}
	entries, err := r.AccessEntries.Entries(ctx, accesslog.Filter{Citizen: citizen, Actor: actor, Limit: limit + 1, Before: before})
	if err != nil {
		return nil, 0, err
	}
	var next uint64
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].Seq
	}
	out := make([]AccessView, 0, len(entries))
	for _, e := range entries {
		if len(m.Meetings) > 0 && (e.Meeting == uuid.Nil || !m.Covers(e.Meeting)) {
			// A support person whose mandate is limited to some meetings sees the reads of
			// those alone; the page's place is still the last entry read (lastSeq).
			continue
		}
		v := AccessView{seq: e.Seq, At: e.At, Role: e.Reader.Role, Service: e.Reader.Service, What: e.What, MeetingID: e.Meeting, Criteria: e.Criteria, Purpose: e.Purpose}
		if r.Names != nil {
			v.Name, _ = r.Names(e.Reader.ID)
		}
		if admin {
			v.ReaderID, v.OnBehalf, v.CitizenID = e.Reader.ID, e.Reader.OnBehalfOf, e.Citizen
		}
		out = append(out, v)
	}
	return out, next, nil
}
