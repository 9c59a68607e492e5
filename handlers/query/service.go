// Package query answers the read-model queries by name (history, inbox, follow-ups, services)
// with their access rules, the same for every transport.
package query

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// Service answers the read-model queries by name with string parameters, the same over
// HTTP (GET /api/v1/<name>?…) and NATS (dialog.query.<name>, the parameters as a JSON object).
type Service struct {
	Reads *Reads
}

// queryParams are the parameters each query takes, for checking and for the API document.
var queryParams = map[string][]string{
	"history":    {"citizen", "limit", "cursor", "after"},
	"inbox":      {"limit", "cursor", "after"},
	"follow-ups": {"owner", "service", "overdue", "limit", "cursor", "after"},
	"services":   {"period", "service", "limit", "cursor", "after"},
	"access-log": {"citizen", "actor", "limit", "cursor"},
}

// Names lists the queries.
func Names() []string {
	names := make([]string, 0, len(queryParams))
	for n := range queryParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Params lists the parameters of the query name, nil for an unknown query.
func Params(name string) []string { return slices.Clone(queryParams[name]) }

// Do runs the query for the actor. Unknown queries and parameters are Invalid errors naming them.
func (s *Service) Do(ctx context.Context, a domain.Actor, name string, p url.Values) (any, error) {
	allowed, ok := queryParams[name]
	if !ok {
		return nil, domain.FieldErrorf("query", "unknown query %q; the queries are %s", name, strings.Join(Names(), ", "))
	}
	for k, vs := range p {
		if !slices.Contains(allowed, k) {
			return nil, domain.FieldErrorf(k, "is not a parameter of %s; it takes %s", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, domain.FieldErrorf(k, "is given %d times", len(vs))
		}
	}
	after, err := SeqParam(p, "after")
	if err != nil {
		return nil, err
	}
	pg, err := projections.PageParams(p)
	if err != nil {
		return nil, err
	}
	switch name {
	case "history":
		c, err := uuidParam(p, "citizen")
		if err != nil {
			return nil, err
		}
		switch {
		case c != uuid.Nil:
		case a.Role == domain.RoleCitizen:
			c = a.ID
		case a.Role == domain.RoleSupport:
			c = a.OnBehalfOf
		}
		return s.Reads.History(ctx, a, c, pg, after)
	case "inbox":
		return s.Reads.Inbox(ctx, a, pg, after)
	case "follow-ups":
		owner, err := uuidParam(p, "owner")
		if err != nil {
			return nil, err
		}
		overdue := false
		if v := p.Get("overdue"); v != "" {
			if overdue, err = strconv.ParseBool(v); err != nil {
				return nil, domain.FieldErrorf("overdue", "%q is not true or false", v)
			}
		}
		return s.Reads.FollowUps(ctx, a, projections.FollowUpFilter{Owner: owner, Service: p.Get("service"), Overdue: overdue}, pg, after)
	case "access-log":
		c, err := uuidParam(p, "citizen")
		if err != nil {
			return nil, err
		}
		actor, err := uuidParam(p, "actor")
		if err != nil {
			return nil, err
		}
		return s.Reads.AccessLog(ctx, a, c, actor, pg)
	default: // services
		return s.Reads.Services(ctx, a, projections.ServicesReportFilter{Period: p.Get("period"), Service: p.Get("service"), Page: pg}, after)
	}
}

func uuidParam(p url.Values, k string) (uuid.UUID, error) {
	v := p.Get(k)
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, domain.FieldErrorf(k, "%q is not a UUID", v)
	}
	return id, nil
}

// SeqParam reads the sequence number parameter k, 0 when absent.
func SeqParam(p url.Values, k string) (uint64, error) {
	v := p.Get(k)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, domain.FieldErrorf(k, "%q is not a sequence number", v)
	}
	return n, nil
}
