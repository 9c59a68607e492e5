// Package seed writes synthetic meeting histories through the real command path, for
// benchmarks, demos and tests of the read models.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
)

// Config says what synthetic history to write.
type Config struct {
	Citizens int
	// Seed makes the history reproducible: the same seed writes the same people and meetings
	// (with new ids for the commands).
	Seed uint64
	// Start is the earliest time a history begins; histories spread over the year after it.
	Start time.Time
	// Workers write citizens in parallel; 0 means 4.
	Workers int
	// Progress, if set, is called after each citizen with (citizens done, citizens).
	Progress func(done, total int)
	// Mandates is the citizens' log: a citizen with a support person first gives them a
	// mandate there, as the service requires. Without it no support person acts.
	Mandates command.CitizenLog
}

// Stats counts what was written.
type Stats struct {
	Citizens, Meetings, Commands, Cancelled, Held, FollowUps int
}

// The services of a Danish municipality, and the region: from the embedded default catalogue.
var seedServices = []string{
	"Jobcenter", "Center for Handicap og Psykiatri", "Center for Børn og Familie", "Center for Sundhed og Ældre",
	"Socialpsykiatrien", "Misbrugscenter", "Ydelsescenter", "Boligsocialt Team",
}

const seedRegion = "Regionspsykiatrien"

var (
	seedFirst  = []string{"Anne", "Mette", "Karin", "Ole", "Lars", "Jens", "Sara", "Mads", "Freja", "Emil", "Ida", "Søren", "Lise", "Bo", "Hanne", "Peter", "Camilla", "Rasmus", "Birgitte", "Jonas"}
	seedLast   = []string{"Holm", "Berg", "Lund", "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Madsen", "Kristensen"}
	seedTitles = []string{"Mit netværksmøde", "Møde om min hverdag", "Fælles møde", "Netværksmøde", ""}
	seedAgenda = []string{
		"Min bolig", "Hvordan jeg har det", "Arbejde og penge", "Min søn og skolen", "Min medicin",
		"At komme ud af huset", "Gæld", "Hjælp i hjemmet", "Hvem gør hvad", "Mine dage og nætter",
		"Uddannelse", "Kontakten til min familie", "Misbrug", "Praktik", "Transport",
	}
	seedFollowUps = []string{
		"Søge om bostøtte", "Ringe til lægen", "Finde en praktikplads", "Sende ansøgning om hjælpemiddel",
		"Aftale møde med skolen", "Undersøge muligheder for gældsrådgivning", "Følge op på medicin",
		"Tale med udlejer", "Søge om tilskud til transport", "Lave en plan for ugen",
	}
	seedRelations = []string{"søster", "bror", "mor", "far", "ven", "nabo", "bisidder"}
)

// seedPerson is a professional or network member with a stable id.
type seedPerson struct {
	actor domain.Actor
	name  string
	kind  domain.ParticipantKind
}

// simClock is a clock a seeding worker moves forward by hand.
type simClock struct{ t time.Time }

func (c *simClock) now() time.Time          { return c.t }
func (c *simClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func (c *simClock) setAtLeast(t time.Time)  { c.t = later(c.t, t) }
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
func pick[T any](r *rand.Rand, xs []T) T   { return xs[r.IntN(len(xs))] }
func chance(r *rand.Rand, p float64) bool  { return r.Float64() < p }
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
func days(n int) time.Duration             { return time.Duration(n) * 24 * time.Hour }
func personName(r *rand.Rand) string       { return pick(r, seedFirst) + " " + pick(r, seedLast) }
func (s *Stats) add(o Stats) {
	s.Citizens += o.Citizens
	s.Meetings += o.Meetings
	s.Commands += o.Commands
	s.Cancelled += o.Cancelled
	s.Held += o.Held
	s.FollowUps += o.FollowUps
}
func newSeedRand(seed uint64, i int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(i)+1)) }

// Write writes synthetic meeting histories through the real command path (load, decide, append:
// the same domain rules and log as every other command), with a simulated clock per citizen so
// that histories lie in the past: services named as in a Danish municipality, network members,
// declined invitations, rescheduled and cancelled meetings, follow-ups kept, kept late or not at
// all.
func Write(ctx context.Context, log command.Log, cfg Config) (Stats, error) {
	if cfg.Citizens < 1 {
		return Stats{}, domain.FieldErrorf("citizens", "must be at least 1")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().AddDate(-1, 0, 0)
	}
	// One pool of professionals per service, shared by all citizens, so the same people meet
	// many citizens (and a citizen's professionals can stay the same).
	r := newSeedRand(cfg.Seed, -1)
	pool := map[string][]seedPerson{}
	for _, svc := range append(append([]string{}, seedServices...), seedRegion) {
		kind := domain.KindProfessional
		if svc == seedRegion {
			kind = domain.KindRegion
		}
		for range 12 {
			pool[svc] = append(pool[svc], seedPerson{actor: domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: svc}, name: personName(r), kind: kind})
		}
	}
	var (
		next  atomic.Int64
		done  atomic.Int64
		mu    sync.Mutex
		total Stats
		first error
		wg    sync.WaitGroup
	)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clock := &simClock{}
			svc := command.New(log, clock.now, nil)
			svc.Citizens = cfg.Mandates
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Citizens || ctx.Err() != nil {
					return
				}
				st, err := seedCitizen(ctx, svc, clock, newSeedRand(cfg.Seed, i), pool, cfg.Start)
				mu.Lock()
				total.add(st)
				if err != nil && first == nil {
					first = fmt.Errorf("seed citizen %d: %w", i, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
				if cfg.Progress != nil {
					cfg.Progress(int(done.Add(1)), cfg.Citizens)
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return total, first
}

func seedCitizen(ctx context.Context, svc *command.Service, clock *simClock, r *rand.Rand, pool map[string][]seedPerson, start time.Time) (Stats, error) {
	st := Stats{Citizens: 1}
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	var support *domain.Actor
	if chance(r, 0.3) {
		support = &domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: citizen.ID}
	}
	if support != nil && svc.Citizens == nil {
		support = nil // no mandates can be given, so the citizen acts alone
	}
	if support != nil {
		if _, err := svc.Handle(ctx, citizen, uuid.Must(uuid.NewV7()), &domain.GrantMandate{Person: support.ID, Kind: domain.MandateSupport}); err != nil {
			return st, fmt.Errorf("mandate: %w", err)
		}
	}
	// The citizen's own professionals and network, mostly the same from meeting to meeting.
	var mine []seedPerson
	for _, s := range pickServices(r, between(r, 1, 4)) {
		mine = append(mine, pick(r, pool[s]))
	}
	var network []seedPerson
	for range between(r, 0, 2) {
		network = append(network, seedPerson{actor: domain.Actor{ID: uuid.New(), Role: domain.RoleNetwork}, name: pick(r, seedFirst) + " (" + pick(r, seedRelations) + ")", kind: domain.KindNetwork})
	}
	clock.t = start.Add(time.Duration(r.Int64N(int64(days(300)))))
	do := func(a domain.Actor, cmd domain.Command) error {
		clock.advance(time.Duration(between(r, 1, 90)) * time.Minute)
		st.Commands++
		_, err := svc.Handle(ctx, a, uuid.Must(uuid.NewV7()), cmd)
		return err
	}
	for range between(r, 1, 4) {
		// The citizen, or sometimes their support person, acts.
		owner := citizen
		if support != nil && chance(r, 0.4) {
			owner = *support
		}
		m := uuid.New()
		st.Meetings++
		if err := do(owner, &domain.ConveneMeeting{Meeting: m, Citizen: citizen.ID, Title: pick(r, seedTitles)}); err != nil {
			return st, err
		}
		items := make([]string, between(r, 1, 4))
		for i := range items {
			items[i] = pick(r, seedAgenda)
		}
		if err := do(owner, &domain.CitizenSetsAgenda{Meeting: m, Items: items}); err != nil {
			return st, err
		}
		// Who is invited: the citizen's professionals (now and then one new), their network.
		invitees := map[uuid.UUID]seedPerson{}
		var order []seedPerson
		for _, p := range mine {
			if chance(r, 0.85) {
				invitees[p.actor.ID], order = p, append(order, p)
			}
		}
		if chance(r, 0.3) {
			p := pick(r, pool[pick(r, seedServices)])
			if _, ok := invitees[p.actor.ID]; !ok {
				invitees[p.actor.ID], order = p, append(order, p)
			}
		}
		for _, p := range network {
			if chance(r, 0.7) {
				invitees[p.actor.ID], order = p, append(order, p)
			}
		}
		for _, p := range order {
			svcName := p.actor.Service
			inv := &domain.InviteParticipant{Meeting: m, Participant: p.actor.ID, Name: p.name, Kind: p.kind, Service: svcName}
			by := owner
			if domain.NeedsConsent(p.kind) {
				inv.ConsentVersion = domain.ConsentTextVersion // the citizen agreed to share with the region
				by = citizen                                   // which a bisidder cannot give for them
			}
			if err := do(by, inv); err != nil {
				return st, err
			}
		}
		if len(order) > 1 && chance(r, 0.05) {
			w := order[len(order)-1]
			order = order[:len(order)-1]
			delete(invitees, w.actor.ID)
			if err := do(owner, &domain.WithdrawInvitation{Meeting: m, Participant: w.actor.ID}); err != nil {
				return st, err
			}
		}
		// Now and then the citizen takes back the consent to share with the region.
		if i := slices.IndexFunc(order, func(p seedPerson) bool { return domain.NeedsConsent(p.kind) }); i >= 0 && chance(r, 0.05) {
			w := order[i]
			order = slices.Delete(order, i, i+1)
			delete(invitees, w.actor.ID)
			if err := do(owner, &domain.WithdrawConsent{Meeting: m, Participant: w.actor.ID}); err != nil {
				return st, err
			}
		}
		at := clock.t.Add(days(between(r, 1, 14))).Truncate(time.Hour).Add(time.Duration(between(r, 8, 15)) * time.Hour)
		at = later(at, clock.t.Add(time.Hour))
		place := pick(r, []domain.PlaceKind{domain.PlaceHome, domain.PlaceHome, domain.PlaceChosen, domain.PlaceOffice, domain.PlaceOnline})
		addr := ""
		if place == domain.PlaceChosen {
			addr = pick(r, []string{"Biblioteket", "Caféen på torvet", "Aktivitetshuset", "Parken ved søen"})
		}
		if err := do(owner, &domain.ScheduleMeeting{Meeting: m, At: at, Place: place, Address: addr}); err != nil {
			return st, err
		}
		// Answers: most accept, some decline, some never answer.
		accepted := map[uuid.UUID]bool{}
		for _, p := range order {
			switch x := r.Float64(); {
			case x < 0.75:
				accepted[p.actor.ID] = true
				if err := do(p.actor, &domain.RespondToInvitation{Meeting: m, Accept: true}); err != nil {
					return st, err
				}
			case x < 0.9:
				if err := do(p.actor, &domain.RespondToInvitation{Meeting: m, Reason: pick(r, []string{"Ferie", "Andet møde", "Syg", ""})}); err != nil {
					return st, err
				}
			}
		}
		if chance(r, 0.15) { // moved
			at = at.Add(days(between(r, 1, 7)))
			if err := do(owner, &domain.ScheduleMeeting{Meeting: m, At: at, Place: place, Address: addr}); err != nil {
				return st, err
			}
		}
		if chance(r, 0.08) { // called off
			st.Cancelled++
			if err := do(owner, &domain.CancelMeeting{Meeting: m, Reason: pick(r, []string{"Syg", "Ikke nødvendigt mere", ""})}); err != nil {
				return st, err
			}
			clock.advance(days(between(r, 3, 30)))
			continue
		}
		// The meeting is held: the citizen is always there.
		clock.setAtLeast(at)
		present := []uuid.UUID{citizen.ID}
		var attended []seedPerson
		for _, p := range order {
			if (accepted[p.actor.ID] && chance(r, 0.9)) || (!accepted[p.actor.ID] && chance(r, 0.05)) {
				present, attended = append(present, p.actor.ID), append(attended, p)
			}
		}
		recorder := owner
		if len(attended) > 0 && accepted[attended[0].actor.ID] && chance(r, 0.5) {
			recorder = attended[0].actor
		}
		if err := do(recorder, &domain.RecordAttendance{Meeting: m, Present: present}); err != nil {
			return st, err
		}
		st.Held++
		type promise struct {
			id   uuid.UUID
			by   domain.Actor
			done time.Time // zero: never done
		}
		var promises []promise
		for range between(r, 0, 3) {
			resp := citizen
			if len(attended) > 0 && chance(r, 0.7) {
				resp = pick(r, attended).actor
			}
			f := uuid.New()
			due := ""
			dueAt := clock.t.Add(days(between(r, 7, 30)))
			if chance(r, 0.85) {
				due = dueAt.Format(time.DateOnly)
			}
			if err := do(recorder, &domain.RecordFollowUp{Meeting: m, FollowUp: f, What: pick(r, seedFollowUps), Responsible: resp.ID, Due: due}); err != nil {
				return st, err
			}
			st.FollowUps++
			p := promise{id: f, by: resp}
			switch x := r.Float64(); {
			case x < 0.6:
				p.done = clock.t.Add(time.Duration(r.Int64N(int64(dueAt.Sub(clock.t)))))
			case x < 0.8:
				p.done = dueAt.Add(days(between(r, 1, 20)))
			}
			promises = append(promises, p)
		}
		if err := do(owner, &domain.CloseMeeting{Meeting: m, NextAgreed: chance(r, 0.5)}); err != nil {
			return st, err
		}
		end := clock.t
		for _, p := range promises {
			if p.done.IsZero() {
				continue
			}
			clock.setAtLeast(p.done)
			by := p.by
			if by.ID == citizen.ID && support != nil && chance(r, 0.3) {
				by = *support
			}
			if err := do(by, &domain.CompleteFollowUp{Meeting: m, FollowUp: p.id}); err != nil {
				return st, err
			}
			end = later(end, clock.t)
		}
		clock.t = end.Add(days(between(r, 7, 45)))
	}
	return st, nil
}

func pickServices(r *rand.Rand, n int) []string {
	all := append(append([]string{}, seedServices...), seedRegion)
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:n]
}
