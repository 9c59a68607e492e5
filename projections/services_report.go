package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// DefaultMinGroup is k when none is set: the services report shows no aggregate of fewer than
// five citizens.
const DefaultMinGroup = 5

func (q *Queries) minGroup() int {
	if q.MinGroup <= 0 {
		return DefaultMinGroup
	}
	return q.MinGroup
}

// reportedService is the SQL expression of col as the services report names it: itself when in
// the catalogue, domain.ServiceOther otherwise. The catalogue's names are the operator's and
// plain text (domain.NewCatalogue refuses control characters); they are quoted as SQL strings.
func (q *Queries) reportedService(col string) string {
	c := q.Catalogue
	if c == nil {
		c = domain.DefaultCatalogue()
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	names := c.Names()
	if len(names) == 0 {
		return quote(domain.ServiceOther)
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quote(n)
	}
	return "CASE WHEN " + col + " IN (" + strings.Join(quoted, ", ") + ") THEN " + col + " ELSE " + quote(domain.ServiceOther) + " END"
}

// ServicesReport says which services took part, with no names and no free text. Its aggregates
// (per service, per pair of services) are about groups of citizens: a group of fewer than
// MinGroup citizens is suppressed, and says so. Per-meeting rows are only a professional's, of
// the meetings they are part of.
type ServicesReport struct {
	// Period is what the report covers: "" (all time), a year (2026), a quarter (2026-Q1) or a
	// month (2026-03), by the day meetings were convened (UTC); From and To are its first and
	// last day.
	Period   string `json:"period,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	MinGroup int    `json:"min_group"` // k: the fewest citizens an aggregate is shown for
	// PerService has every service that took part in the period, suppressed when it met fewer
	// than MinGroup citizens.
	PerService []ServiceTotals `json:"per_service"`
	// Together has the pairs of services of PerService that are not suppressed: with counts when
	// at least MinGroup citizens met both, suppressed otherwise. Pairs with a suppressed service
	// are not listed.
	Together []ServicePair `json:"together"`
	// PerMeeting is, for a professional, the meetings they are part of; nobody else gets it.
	PerMeeting []MeetingService `json:"per_meeting,omitempty"`
	// NextCursor continues PerMeeting on the next page, "" on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ServiceTotals are one service's figures for the period. When Suppressed, the service met
// fewer than the report's MinGroup citizens, and no figure is given.
type ServiceTotals struct {
	Service    string `json:"service"`
	Suppressed bool   `json:"suppressed"`
	Meetings   *int   `json:"meetings,omitempty"` // meetings it was invited to
	Citizens   *int   `json:"citizens,omitempty"` // distinct citizens in those meetings
	Invited    *int   `json:"invited,omitempty"`  // invitations (one per person invited)
	Accepted   *int   `json:"accepted,omitempty"`
	Attended   *int   `json:"attended,omitempty"`
}

// ServicePair is two services that met the same citizens: the duplicated work the trial wanted to
// cut, and how often they met together instead. When Suppressed, fewer than the report's
// MinGroup citizens met both, and no figure is given.
type ServicePair struct {
	A                string `json:"a"`
	B                string `json:"b"`
	Suppressed       bool   `json:"suppressed"`
	SharedCitizens   *int   `json:"shared_citizens,omitempty"`   // citizens both were invited to meet
	MeetingsTogether *int   `json:"meetings_together,omitempty"` // meetings both attended
}

// MeetingService is one service's part in one meeting.
type MeetingService struct {
	MeetingID  uuid.UUID `json:"meeting_id"`
	ConvenedOn string    `json:"convened_on"`
	Status     string    `json:"status"`
	Service    string    `json:"service"`
	Invited    int       `json:"invited"`
	Accepted   int       `json:"accepted"`
	Attended   int       `json:"attended"`
}

// ServicesReportFilter narrows the services report to a period and a service.
type ServicesReportFilter struct {
	// Period is "" (all time), a year (2026), a quarter (2026-Q1) or a month (2026-03), by the
	// day meetings were convened. Nothing finer: the report is of groups, not of days.
	Period  string
	Service string
	// Page pages PerMeeting, by PerMeetingLimits; the aggregates come whole with every page.
	Page Page
}

// reportPeriod is a period the report may cover, with its first and last day.
type reportPeriod struct{ key, from, to string }

var periodRE = regexp.MustCompile(`^(\d{4})(?:-([Qq][1-4]|0[1-9]|1[0-2]))?$`)

func parseReportPeriod(s string) (reportPeriod, error) {
	if s == "" {
		return reportPeriod{}, nil
	}
	m := periodRE.FindStringSubmatch(s)
	if m == nil {
		return reportPeriod{}, domain.FieldErrorf("period", "%q is not a period: give a year (2026), a quarter (2026-Q1) or a month (2026-03)", s)
	}
	year, _ := strconv.Atoi(m[1])
	first, months, key := time.January, 12, m[1]
	switch {
	case m[2] == "":
	case m[2][0] == 'Q' || m[2][0] == 'q':
		q := int(m[2][1] - '0')
		first, months, key = time.Month(3*q-2), 3, fmt.Sprintf("%s-Q%d", m[1], q)
	default:
		mo, _ := strconv.Atoi(m[2])
		first, months, key = time.Month(mo), 1, s
	}
	from := time.Date(year, first, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, months, -1)
	return reportPeriod{key: key, from: from.Format(time.DateOnly), to: to.Format(time.DateOnly)}, nil
}

// Services reports which services took part: totals per service and the pairs of services
// meeting the same citizens (groups of fewer than MinGroup citizens suppressed), and, for a
// professional, per meeting they are part of (its id, day, status and services: no person).
// Professionals, evaluators and administrators; citizens and their networks are refused (a
// citizen sees the services in their own history).
//
// The report reads bounded amounts: the totals per service are one pass over the period's
// invitations; the pairs are counted from each citizen's services month by month, as the
// projector keeps them (service_citizen_months), and only of services shown, so that no citizen
// adds more than the square of the shown services, however many meetings and services they
// make; a professional's meetings are those they may see.
func (q *Queries) Services(ctx context.Context, a domain.Actor, f ServicesReportFilter, after uint64) (ServicesReport, error) {
	if err := a.Validate(); err != nil {
		return ServicesReport{}, err
	}
	switch a.Role {
	case domain.RoleProfessional, domain.RoleAdmin, domain.RoleEvaluator:
	default:
		return ServicesReport{}, domain.Errorf(domain.Forbidden, "the services overview is for professionals, evaluators and administrators; a citizen sees the services in their own history")
	}
	per, err := parseReportPeriod(f.Period)
	if err != nil {
		return ServicesReport{}, err
	}
	limit, err := f.Page.Size(PerMeetingLimits)
	if err != nil {
		return ServicesReport{}, err
	}
	from, err := ReadCursor("services", f.Page.Cursor, 3)
	if err != nil {
		return ServicesReport{}, err
	}
	if err := q.wait(ctx, q.ServicesModel, after); err != nil {
		return ServicesReport{}, err
	}
	var mine []string
	if a.Role == domain.RoleProfessional {
		if err := q.wait(ctx, q.MeetingsModel, after); err != nil {
			return ServicesReport{}, err
		}
		if mine, err = q.visibleMeetings(ctx, a); err != nil {
			return ServicesReport{}, fmt.Errorf("services report: %w", err)
		}
	}
	k := q.minGroup()
	r := ServicesReport{Period: per.key, From: per.from, To: per.to, MinGroup: k, PerService: []ServiceTotals{}, Together: []ServicePair{}}
	conds, args := []string{"sp.invited = 1"}, []any{}
	if per.key != "" {
		conds, args = append(conds, "sm.convened_on BETWEEN ? AND ?"), append(args, per.from, per.to)
	}
	period := strings.Join(conds, " AND ")
	err = q.ServicesModel.View(func(db *sql.DB) error {
		shown, err := serviceTotals(ctx, db, &r, q.reportedService("sp.service"), period, args, f.Service, k)
		if err != nil {
			return err
		}
		if err := servicePairs(ctx, db, &r, q.reportedService, per, shown, f.Service, k); err != nil {
			return err
		}
		if len(mine) == 0 {
			return nil
		}
		return perMeetingRows(ctx, db, &r, q.reportedService("sp.service"), period, args, mine, f.Service, from, limit)
	})
	if err != nil {
		return ServicesReport{}, fmt.Errorf("services report: %w", err)
	}
	return r, nil
}

// visibleMeetings lists the meetings the actor may see, by the rule History applies (mayView).
func (q *Queries) visibleMeetings(ctx context.Context, a domain.Actor) ([]string, error) {
	may, args := mayView(a)
	var ids []string
	err := q.MeetingsModel.View(func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT m.meeting_id FROM meetings m WHERE `+may, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// serviceTotals fills r.PerService (only service, when given) and returns every service that
// met at least k citizens in the period, sorted.
func serviceTotals(ctx context.Context, db *sql.DB, r *ServicesReport, svc, period string, args []any, service string, k int) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+svc+` AS svc, count(DISTINCT sp.meeting_id), count(DISTINCT sm.citizen_id), count(*), sum(sp.accepted), sum(sp.attended)
		FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
		WHERE `+period+` GROUP BY svc ORDER BY svc`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var shown []string
	for rows.Next() {
		var s string
		var meetings, citizens, invited, accepted, attended int
		if err := rows.Scan(&s, &meetings, &citizens, &invited, &accepted, &attended); err != nil {
			return nil, err
		}
		t := ServiceTotals{Service: s, Suppressed: true}
		if citizens >= k {
			shown = append(shown, s)
			t = ServiceTotals{Service: s, Meetings: &meetings, Citizens: &citizens, Invited: &invited, Accepted: &accepted, Attended: &attended}
		}
		if service == "" || s == service {
			r.PerService = append(r.PerService, t)
		}
	}
	return shown, rows.Err()
}

// servicePairs fills r.Together with the pairs of shown services (those naming service, when
// given): from each citizen's shown services in the period, the citizens both met, and from the
// meetings of the period, those people of both were present at. The pairs met by at least k
// citizens come first, most citizens first; the suppressed ones after, by name only, so that
// their order tells nothing of their size.
func servicePairs(ctx context.Context, db *sql.DB, r *ServicesReport, reported func(col string) string, per reportPeriod, shown []string, service string, k int) error {
	if len(shown) < 2 || (service != "" && !slices.Contains(shown, service)) {
		return nil
	}
	b, err := json.Marshal(shown)
	if err != nil {
		return err
	}
	names := string(b)
	months, days, args := "", "", []any{names}
	if per.key != "" {
		months, days, args = " AND month BETWEEN ? AND ?", " AND sm.convened_on BETWEEN ? AND ?", append(args, monthOf(per.from), monthOf(per.to))
	}
	// count adds one to every pair of the sorted services (naming service, when given).
	count := func(into map[[2]string]int, svcs []string) {
		for i, a := range svcs {
			for _, b := range svcs[i+1:] {
				if service == "" || a == service || b == service {
					into[[2]string{a, b}]++
				}
			}
		}
	}
	// grouped reads (group, service) rows sorted by group and counts each group's pairs.
	grouped := func(into map[[2]string]int, query string, args []any) error {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var group, last string
		var svcs []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&group, &s); err != nil {
				return err
			}
			if group != last {
				count(into, svcs)
				svcs, last = svcs[:0], group
			}
			svcs = append(svcs, s)
		}
		count(into, svcs)
		return rows.Err()
	}
	citizens, together := map[[2]string]int{}, map[[2]string]int{}
	if err := grouped(citizens, `SELECT DISTINCT citizen_id, svc FROM (SELECT citizen_id, `+reported("service")+` AS svc, month FROM service_citizen_months)
		WHERE svc IN (SELECT value FROM json_each(?))`+months+` ORDER BY citizen_id, svc`, args); err != nil {
		return err
	}
	if per.key != "" {
		args = []any{names, per.from, per.to}
	}
	if err := grouped(together, `SELECT DISTINCT sp.meeting_id, `+reported("sp.service")+` AS svc
		FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
		WHERE sp.invited = 1 AND sp.attended = 1 AND svc IN (SELECT value FROM json_each(?))`+days+`
		ORDER BY sp.meeting_id, svc`, args); err != nil {
		return err
	}
	var suppressed []ServicePair
	for pair, n := range citizens {
		p := ServicePair{A: pair[0], B: pair[1]}
		if n < k {
			p.Suppressed = true
			suppressed = append(suppressed, p)
			continue
		}
		t := together[pair]
		p.SharedCitizens, p.MeetingsTogether = &n, &t
		r.Together = append(r.Together, p)
	}
	byName := func(x, y ServicePair) int {
		if c := strings.Compare(x.A, y.A); c != 0 {
			return c
		}
		return strings.Compare(x.B, y.B)
	}
	slices.SortFunc(r.Together, func(x, y ServicePair) int {
		if *x.SharedCitizens != *y.SharedCitizens {
			return *y.SharedCitizens - *x.SharedCitizens
		}
		return byName(x, y)
	})
	slices.SortFunc(suppressed, byName)
	r.Together = append(r.Together, suppressed...)
	return nil
}

// perMeetingRows fills r.PerMeeting with a page of the services of the meetings mine in the
// period, after the position from (nil: the start).
func perMeetingRows(ctx context.Context, db *sql.DB, r *ServicesReport, svcExpr, period string, args []any, mine []string, service string, from []string, limit int) error {
	ids, err := json.Marshal(mine)
	if err != nil {
		return err
	}
	args = append(append([]any{}, args...), string(ids))
	var outer []string
	if service != "" {
		outer, args = append(outer, "svc = ?"), append(args, service)
	}
	if from != nil {
		outer, args = append(outer, "(convened_on, meeting_id, svc) > (?, ?, ?)"), append(args, from[0], from[1], from[2])
	}
	where := ""
	if len(outer) > 0 {
		where = " WHERE " + strings.Join(outer, " AND ")
	}
	rows, err := db.QueryContext(ctx, `SELECT * FROM (SELECT sm.meeting_id, sm.convened_on, sm.status, `+svcExpr+` AS svc, count(*), sum(sp.accepted), sum(sp.attended)
		FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
		WHERE `+period+` AND sm.meeting_id IN (SELECT value FROM json_each(?))
		GROUP BY sm.meeting_id, svc)`+where+` ORDER BY convened_on, meeting_id, svc LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var page []MeetingService
	for rows.Next() {
		var ms MeetingService
		if err := rows.Scan(&ms.MeetingID, &ms.ConvenedOn, &ms.Status, &ms.Service, &ms.Invited, &ms.Accepted, &ms.Attended); err != nil {
			return err
		}
		page = append(page, ms)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var more bool
	if r.PerMeeting, more = Fit(page, limit, MaxPageBytes/2); more {
		last := r.PerMeeting[len(r.PerMeeting)-1]
		r.NextCursor = Cursor("services", last.ConvenedOn, last.MeetingID.String(), last.Service)
	}
	return nil
}
