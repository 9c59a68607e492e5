package domain

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
)

// MeetingFacts is what the Open Dialogue indicators need to know of one meeting: no names, no
// free text.
type MeetingFacts struct {
	MeetingID      uuid.UUID
	CitizenID      uuid.UUID
	ConvenedAt     time.Time
	HeldAt         time.Time // zero unless attendance was recorded
	Place          PlaceKind // "" if never scheduled; the last time and place chosen
	CitizenPresent bool
	Participants   []ParticipantFacts
	FollowUps      []FollowUpFacts
}

// ParticipantFacts is one invitee.
type ParticipantFacts struct {
	ID        uuid.UUID
	Kind      ParticipantKind
	Service   string
	Withdrawn bool
	Present   bool
}

// FollowUpFacts is one follow-up: its due date and when it was done (dates, YYYY-MM-DD; "" if
// none).
type FollowUpFacts struct {
	Due         string
	CompletedOn string
}

// Held reports whether the meeting took place.
func (f MeetingFacts) Held() bool { return !f.HeldAt.IsZero() }

// FactsOf takes the facts from a meeting's state.
func FactsOf(m *Meeting) MeetingFacts {
	f := MeetingFacts{MeetingID: m.id, CitizenID: m.citizen, ConvenedAt: m.convenedAt, HeldAt: m.heldAt}
	if m.schedule != nil {
		f.Place = m.schedule.Place
	}
	f.CitizenPresent = f.Held() // the domain refuses attendance without the citizen
	for _, p := range m.participant {
		f.Participants = append(f.Participants, ParticipantFacts{ID: p.ID, Kind: p.Kind, Service: p.Service, Withdrawn: p.Withdrawn, Present: p.Present})
	}
	for _, u := range m.followUps {
		fu := FollowUpFacts{Due: u.Due}
		if u.Completed {
			fu.CompletedOn = u.CompletedAt.UTC().Format(time.DateOnly)
		}
		f.FollowUps = append(f.FollowUps, fu)
	}
	return f
}

// Indicator is one measure of how well meetings lived up to Open Dialogue's principles.
type Indicator struct {
	Key       string  `json:"key"`
	Principle string  `json:"principle"`
	Name      string  `json:"name"`
	Unit      string  `json:"unit"` // share (0..1), hours, or count (a mean)
	Value     float64 `json:"value"`
	// Numerator and Denominator are what Value was computed from (for a share or a mean); for a
	// median or a percentile the Denominator is how many values there were.
	Numerator   float64 `json:"numerator"`
	Denominator float64 `json:"denominator"`
}

func ratio(key, principle, name, unit string, num, den float64) Indicator {
	v := math.NaN()
	if den > 0 {
		v = num / den
	}
	return Indicator{Key: key, Principle: principle, Name: name, Unit: unit, Value: v, Numerator: num, Denominator: den}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func professional(k ParticipantKind) bool { return k == KindProfessional || k == KindRegion }

// Indicators computes every indicator over the meetings' facts, as of the day today
// (YYYY-MM-DD: a follow-up due before it and not done counts as not kept). docs/indicators.md
// defines each one. A value is NaN when there is nothing to compute it from.
func Indicators(facts []MeetingFacts, today string) []Indicator {
	var out []Indicator
	var held []MeetingFacts
	for _, f := range facts {
		if f.Held() {
			held = append(held, f)
		}
	}
	nHeld := float64(len(held))

	// Immediate help: time from convening to the meeting being held.
	hours := make([]float64, 0, len(held))
	var in24, in7d float64
	for _, f := range held {
		h := f.HeldAt.Sub(f.ConvenedAt).Hours()
		hours = append(hours, h)
		if h <= 24 {
			in24++
		}
		if h <= 7*24 {
			in7d++
		}
	}
	sort.Float64s(hours)
	const ih = "immediate help"
	out = append(out,
		Indicator{Key: "immediate_help.median_hours", Principle: ih, Name: "Hours from convening to the meeting held: median", Unit: "hours", Value: percentile(hours, 50), Denominator: nHeld},
		Indicator{Key: "immediate_help.p90_hours", Principle: ih, Name: "Hours from convening to the meeting held: 90th percentile", Unit: "hours", Value: percentile(hours, 90), Denominator: nHeld},
		ratio("immediate_help.within_24h", ih, "Share of held meetings held within 24 hours of convening", "share", in24, nHeld),
		ratio("immediate_help.within_7d", ih, "Share of held meetings held within 7 days of convening", "share", in7d, nHeld),
	)

	// Social network: who was there.
	const sn = "social network"
	perKind := map[ParticipantKind]float64{}
	var withNetwork, services float64
	for _, f := range held {
		svc := map[string]bool{}
		network := false
		for _, p := range f.Participants {
			if !p.Present {
				continue
			}
			perKind[p.Kind]++
			if p.Kind == KindNetwork {
				network = true
			}
			if professional(p.Kind) && p.Service != "" {
				svc[p.Service] = true
			}
		}
		if network {
			withNetwork++
		}
		services += float64(len(svc))
	}
	for _, k := range []ParticipantKind{KindProfessional, KindNetwork, KindRegion, KindOther} {
		out = append(out, ratio("social_network.present_per_meeting."+string(k), sn, "Participants present per held meeting: "+string(k), "count", perKind[k], nHeld))
	}
	out = append(out,
		ratio("social_network.with_network", sn, "Share of held meetings with at least one member of the citizen's network present", "share", withNetwork, nHeld),
		ratio("social_network.services_per_meeting", sn, "Distinct services present per held meeting", "count", services, nHeld),
	)

	// The citizen is always there.
	var citizenThere float64
	for _, f := range held {
		if f.CitizenPresent {
			citizenThere++
		}
	}
	out = append(out, ratio("citizen_present.share", "the citizen is always there", "Share of held meetings with the citizen present", "share", citizenThere, nHeld))

	// Flexibility and mobility: where.
	const fm = "flexibility and mobility"
	byPlace := map[PlaceKind]float64{}
	for _, f := range held {
		byPlace[f.Place]++
	}
	for _, k := range []PlaceKind{PlaceHome, PlaceChosen, PlaceOffice, PlaceOnline} {
		out = append(out, ratio("flexibility.place."+string(k), fm, "Share of held meetings held at: "+string(k), "share", byPlace[k], nHeld))
	}
	out = append(out, ratio("flexibility.citizens_ground", fm, "Share of held meetings at the citizen's home or a place they chose", "share", byPlace[PlaceHome]+byPlace[PlaceChosen], nHeld))

	// Responsibility: follow-ups with a due date, and kept on time.
	const rs = "responsibility"
	var fus, withDue, dueNow, onTime float64
	for _, f := range facts {
		for _, u := range f.FollowUps {
			fus++
			if u.Due == "" {
				continue
			}
			withDue++
			if u.CompletedOn != "" || u.Due < today {
				dueNow++
				if u.CompletedOn != "" && u.CompletedOn <= u.Due {
					onTime++
				}
			}
		}
	}
	out = append(out,
		ratio("responsibility.with_owner_and_due", rs, "Share of follow-ups with an owner and a due date", "share", withDue, fus),
		ratio("responsibility.kept_on_time", rs, "Share of follow-ups done by their due date, of those done or past due", "share", onTime, dueNow),
	)

	// Psychological continuity and duplicated work: per citizen, over their held meetings in time
	// order.
	byCitizen := map[uuid.UUID][]MeetingFacts{}
	for _, f := range held {
		byCitizen[f.CitizenID] = append(byCitizen[f.CitizenID], f)
	}
	citizens := make([]uuid.UUID, 0, len(byCitizen))
	for c := range byCitizen {
		citizens = append(citizens, c)
	}
	slices.SortFunc(citizens, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	var contNum, contDen, prosNum, svcNum, pairsTogether, pairsAll float64
	for _, c := range citizens {
		ms := byCitizen[c]
		slices.SortFunc(ms, func(a, b MeetingFacts) int { return a.HeldAt.Compare(b.HeldAt) })
		first := map[uuid.UUID]bool{}
		for _, p := range ms[0].Participants {
			if p.Present && professional(p.Kind) {
				first[p.ID] = true
			}
		}
		pros := map[uuid.UUID]bool{}
		svcs := map[string]bool{}
		together := map[[2]string]bool{}
		for i, m := range ms {
			present := map[uuid.UUID]bool{}
			var here []string
			for _, p := range m.Participants {
				if !p.Present || !professional(p.Kind) {
					continue
				}
				present[p.ID], pros[p.ID] = true, true
				if p.Service != "" && !slices.Contains(here, p.Service) {
					here = append(here, p.Service)
					svcs[p.Service] = true
				}
			}
			sort.Strings(here)
			for a := range here {
				for b := a + 1; b < len(here); b++ {
					together[[2]string{here[a], here[b]}] = true
				}
			}
			if i > 0 && len(first) > 0 {
				n := 0
				for id := range first {
					if present[id] {
						n++
					}
				}
				contNum += float64(n) / float64(len(first))
				contDen++
			}
		}
		prosNum += float64(len(pros))
		svcNum += float64(len(svcs))
		k := float64(len(svcs))
		pairsAll += k * (k - 1) / 2
		pairsTogether += float64(len(together))
	}
	nCit := float64(len(citizens))
	const pc, dw = "psychological continuity", "less duplicated work"
	out = append(out,
		ratio("continuity.first_professionals_present", pc, "Share of the professionals at a citizen's first meeting who are present at their later meetings (mean over later meetings)", "share", contNum, contDen),
		ratio("continuity.professionals_per_citizen", pc, "Distinct professionals present at a citizen's meetings, per citizen", "count", prosNum, nCit),
		ratio("duplication.services_per_citizen", dw, "Distinct services that met a citizen, per citizen", "count", svcNum, nCit),
		ratio("duplication.met_together", dw, "Share of the pairs of services that met the same citizen which met them together at least once", "share", pairsTogether, pairsAll),
	)
	return out
}
