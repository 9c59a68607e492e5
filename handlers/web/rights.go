package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// AccessLog answers who has read a citizen's data (query.Reads).
type AccessLog interface {
	AccessLog(ctx context.Context, a domain.Actor, citizen, actor uuid.UUID, pg projections.Page) (projections.Paged[query.AccessView], error)
}

// MandateList lists the mandates the citizen has given (the command service).
type MandateList interface {
	Mandates(ctx context.Context, a domain.Actor) ([]domain.Mandate, error)
}

// accessPage is "Hvem har set mine oplysninger".
type accessPage struct {
	Entries []query.AccessView
	Days    int
	Names   bool
	// Older is the link to the next page (older entries), "" on the last.
	Older string
}

// accessLog shows the citizen (or their support person) who has read the citizen's data.
func (p *Pages) accessLog(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	if !s.Owner() {
		p.problem(w, r, s, http.StatusForbidden, "Det kan du ikke her", "Kun borgeren selv, og den borgeren har givet fuldmagt, kan se, hvem der har set borgerens oplysninger.")
		return
	}
	ctx, cancel := p.queryContext(r)
	defer cancel()
	pg, err := p.Access.AccessLog(ctx, s.Actor, s.Citizen(), uuid.Nil, projections.Page{Cursor: r.URL.Query().Get("fra")})
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	entries := pg.Items
	data := accessPage{Entries: entries, Days: p.AccessLogDays}
	if pg.NextCursor != "" {
		data.Older = "/moeder/adgang?" + url.Values{"fra": {pg.NextCursor}}.Encode()
	}
	for _, e := range entries {
		data.Names = data.Names || e.Name != ""
	}
	p.render(w, r, http.StatusOK, "access", page{Title: "Hvem har set mine oplysninger", Session: s, Data: data})
}

// mandatesPage lists the citizen's mandates.
type mandatesPage struct {
	Mandates []domain.Mandate
	Now      time.Time
	// titles are the meetings' titles, for mandates limited to some meetings.
	titles map[uuid.UUID]string
}

// Title names a meeting a mandate is limited to.
func (m mandatesPage) Title(id uuid.UUID) string {
	if t := m.titles[id]; t != "" {
		return t
	}
	return "Møde uden titel"
}

// Expired reports whether m has run out.
func (m mandatesPage) Expired(x domain.Mandate) bool { return !x.StandsAt(m.Now) }

// mandates shows the citizen the mandates they have given, to take back or give more.
func (p *Pages) mandates(w http.ResponseWriter, r *http.Request) {
	s := p.signedIn(w, r)
	if s == nil {
		return
	}
	if !s.Self() {
		p.problem(w, r, s, http.StatusForbidden, "Det kan du ikke her", "Kun borgeren selv kan give og tage fuldmagter på denne side.")
		return
	}
	ctx, cancel := p.queryContext(r)
	defer cancel()
	ms, err := p.Mandates.Mandates(ctx, s.Actor)
	if err != nil {
		p.failure(w, r, s, err)
		return
	}
	slices.SortFunc(ms, func(a, b domain.Mandate) int { return a.GrantedAt.Compare(b.GrantedAt) })
	data := mandatesPage{Mandates: ms, Now: p.Now(), titles: map[uuid.UUID]string{}}
	for _, m := range ms {
		for _, id := range m.Meetings {
			if _, ok := data.titles[id]; ok {
				continue
			}
			v, err := p.Queries.Meeting(ctx, s.Actor, id, 0) // the citizen's own: not logged
			if err != nil {
				p.failure(w, r, s, err)
				return
			}
			data.titles[id] = v.Title
		}
	}
	p.render(w, r, http.StatusOK, "mandates", page{Title: "Hvem må hjælpe mig", Session: s, Data: data})
}

func selfOnly(s *session, _ *meetingPage) bool { return s.Self() }

// grantMandate builds grant-mandate from the form: for the meeting m alone when the form is a
// meeting's.
func grantMandate(s *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
	person, err := uuid.Parse(strings.TrimSpace(v.Get("person")))
	errs := check(nil, err == nil, "person", "Skriv personens kode. Den ser sådan ud: 0190a4c2-6f1e-7c3a-9d2b-5e8f0a1b2c3d.")
	errs = check(errs, err != nil || person != s.Actor.ID, "person", "Det er din egen kode. Skriv koden på den, der skal hjælpe dig.")
	errs = checkText(errs, v, "name", "Navnet", false, domain.MaxName)
	kind := domain.MandateKind(v.Get("kind"))
	errs = check(errs, kind == domain.MandateSupport || kind == domain.MandateRepresentative, "kind", "Vælg, om personen skal være bisidder eller partsrepræsentant.")
	until := strings.TrimSpace(v.Get("until"))
	if until != "" {
		d, err := parseDate(until)
		errs = check(errs, err == nil, "until", "Skriv datoen som dag.måned.år, fx 31.12.2026, eller lad feltet stå tomt.")
		until = d.Format(time.DateOnly)
	}
	g := &domain.GrantMandate{Citizen: s.Actor.ID, Person: person, Kind: kind, Name: strings.TrimSpace(v.Get("name")), Until: until}
	if m != nil {
		g.Meetings = []uuid.UUID{m.MeetingID}
	}
	return g, errs
}

func toMandates(*meetingPage, command.Reply) string { return "/moeder/fuldmagter" }

// rightsActions are the form pages of giving and taking back a mandate.
func (p *Pages) rightsActions() map[string]action {
	if p.Mandates == nil {
		return nil
	}
	return map[string]action{
		"/moeder/fuldmagter/ny": {template: "grant", title: "Giv en fuldmagt", notice: "fuldmagt-givet", offered: selfOnly,
			build: grantMandate, next: toMandates},
		// The same form from a meeting's page gives a mandate for that meeting alone: a bisidder
		// for one meeting sees and does nothing else of the citizen's.
		"/moeder/{id}/fuldmagt": {template: "grant", title: "Giv en fuldmagt til mødet", notice: "fuldmagt-givet", meeting: true, offered: selfOnly,
			build: grantMandate, next: toMandates},
		"/moeder/fuldmagter/{pid}/tilbagekald": {template: "revoke", title: "Tag en fuldmagt tilbage", notice: "fuldmagt-taget", offered: selfOnly,
			build: func(s *session, _ *meetingPage, r *http.Request, _ url.Values) (domain.Command, []fieldError) {
				person, err := uuid.Parse(r.PathValue("pid"))
				return &domain.RevokeMandate{Citizen: s.Actor.ID, Person: person}, check(nil, err == nil, "", "Fuldmagten findes ikke.")
			},
			next: toMandates,
		},
	}
}
