package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// QuerySubjectPrefix starts every query subject over NATS: dialog.query.<query-name>.
const QuerySubjectPrefix = "dialog.query."

// QueryQueue is the queue group of the query handlers.
const QueryQueue = "aabendialog-queries"

// QueryService answers the read-model queries by name with string parameters, the same over
// HTTP (GET /api/v1/<name>?…) and NATS (dialog.query.<name>, the parameters as a JSON object).
type QueryService struct {
	Queries *projections.Queries
}

// queryParams are the parameters each query takes, for checking and for the API document.
var queryParams = map[string][]string{
	"history":    {"citizen", "after"},
	"inbox":      {"after"},
	"follow-ups": {"owner", "service", "overdue", "after"},
	"services":   {"from", "to", "service", "after"},
}

// QueryNames lists the queries.
func QueryNames() []string {
	names := make([]string, 0, len(queryParams))
	for n := range queryParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Do runs the query for the actor. Unknown queries and parameters are Invalid errors naming them.
func (s *QueryService) Do(ctx context.Context, a domain.Actor, name string, p url.Values) (any, error) {
	allowed, ok := queryParams[name]
	if !ok {
		return nil, domain.FieldErrorf("query", "unknown query %q; the queries are %s", name, strings.Join(QueryNames(), ", "))
	}
	for k, vs := range p {
		if !slices.Contains(allowed, k) {
			return nil, domain.FieldErrorf(k, "is not a parameter of %s; it takes %s", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, domain.FieldErrorf(k, "is given %d times", len(vs))
		}
	}
	after, err := seqParam(p, "after")
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
		h, err := s.Queries.History(ctx, a, c, after)
		if h == nil && err == nil {
			h = []projections.MeetingView{}
		}
		return h, err
	case "inbox":
		return s.Queries.Inbox(ctx, a, after)
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
		return s.Queries.FollowUps(ctx, a, projections.FollowUpFilter{Owner: owner, Service: p.Get("service"), Overdue: overdue}, after)
	default: // services
		return s.Queries.Services(ctx, a, projections.ServicesFilter{From: p.Get("from"), To: p.Get("to"), Service: p.Get("service")}, after)
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

func seqParam(p url.Values, k string) (uint64, error) {
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

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	out, err := a.Queries.Do(r.Context(), actor, r.PathValue("query"), r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ServeQueries answers queries over NATS in the shared queue group until ctx ends.
func ServeQueries(ctx context.Context, nc *nats.Conn, qs *QueryService, v *Verifier, log *slog.Logger) error {
	sub, err := nc.QueueSubscribe(QuerySubjectPrefix+"*", QueryQueue, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		status, body := http.StatusOK, any(nil)
		actor, err := v.Actor(BearerToken(m.Header.Get(HeaderAuthorization)))
		if err == nil {
			params := url.Values{}
			if len(m.Data) > 0 {
				var raw map[string]any
				if jerr := json.Unmarshal(m.Data, &raw); jerr != nil {
					err = domain.FieldErrorf("body", "is not a JSON object of parameters")
				}
				for k, val := range raw {
					params.Set(k, fmt.Sprint(val))
				}
			}
			if err == nil {
				body, err = qs.Do(ctx, actor, strings.TrimPrefix(m.Subject, QuerySubjectPrefix), params)
			}
		}
		if err != nil {
			status, body = errorAnswer(err)
			if status == http.StatusInternalServerError {
				log.Error("query failed", "subject", m.Subject, "err", err)
			}
		}
		data, _ := json.Marshal(body)
		out := &nats.Msg{Subject: m.Reply, Data: data, Header: nats.Header{}}
		out.Header.Set(HeaderStatus, strconv.Itoa(status))
		_ = nc.PublishMsg(out)
	})
	if err != nil {
		return fmt.Errorf("subscribe to queries: %w", err)
	}
	<-ctx.Done()
	return sub.Drain()
}
