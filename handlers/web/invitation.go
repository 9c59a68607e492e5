package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
	"github.com/google/uuid"
)

// services is the catalogue the invitation and suggestion pages offer as a choice.
func (p *Pages) services() *domain.Catalogue {
	if p.Services == nil {
		return domain.DefaultCatalogue()
	}
	return p.Services
}

// person reads the fields that describe someone invited or suggested: name, kind and service,
// which is chosen from the catalogue, and only for professionals and the region.
func (p *Pages) person(errs []fieldError, v url.Values) (name string, kind domain.ParticipantKind, service string, _ []fieldError) {
	errs = checkText(errs, v, "name", "Navnet", true, domain.MaxName)
	kind = domain.ParticipantKind(v.Get("kind"))
	errs = check(errs, words["kind"][string(kind)] != "", "kind", "Vælg, hvem personen er.")
	service = strings.TrimSpace(v.Get("service"))
	errs = check(errs, service == "" || p.services().Has(service), "service", "Vælg en afdeling fra listen.")
	errs = check(errs, service == "" || kind != domain.KindNetwork && kind != domain.KindOther, "service",
		"En fra netværket eller en anden kommer ikke fra en afdeling. Vælg »Ingen afdeling«.")
	return strings.TrimSpace(v.Get("name")), kind, service, errs
}

// setService fills in a service from a suggestion or an earlier meeting, when it is one of the
// catalogue's; otherwise the person chooses.
func (p *Pages) setService(v url.Values, s string) {
	if p.services().Has(s) {
		v.Set("service", s)
	}
}

// earlier returns people from the citizen's other meetings who are not invited to this one.
func (p *Pages) earlier(ctx context.Context, s *session, m *meetingPage) []projections.ParticipantView {
	if !m.Owner {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := p.history(ctx, s.Actor, m.CitizenID, 0)
	if err != nil {
		return nil // an offer, not the page: the form works without it
	}
	seen := map[uuid.UUID]bool{}
	for _, q := range m.Participants {
		if !q.Withdrawn {
			seen[q.ID] = true
		}
	}
	var out []projections.ParticipantView
	for i := len(h) - 1; i >= 0; i-- {
		for _, q := range h[i].Participants {
			if !seen[q.ID] {
				seen[q.ID] = true
				out = append(out, q)
			}
		}
	}
	if len(out) > 20 {
		out = out[:20]
	}
	return out
}

// invitationActions are the form pages of invitations: inviting, taking an invitation back, answering one, suggesting someone.
func (p *Pages) invitationActions() map[string]action {
	return map[string]action{
		"/moeder/{id}/inviter": {template: "invite", title: "Inviter en deltager", notice: "inviteret", meeting: true, offered: owner,
			defaults: func(_ *session, m *meetingPage, r *http.Request, v url.Values) {
				v.Set("new_participant_id", uuid.NewString())
				if sg, ok := m.Suggestion(r.URL.Query().Get("forslag")); ok {
					v.Set("name", sg.Name)
					v.Set("kind", sg.Kind)
					p.setService(v, sg.Service)
				}
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				name, kind, service, errs := p.person(nil, v)
				needsID := kind == domain.KindProfessional || kind == domain.KindRegion
				errs = check(errs, !needsID || service != "", "service", "Vælg den afdeling, personen kommer fra.")
				consent := ""
				if domain.NeedsConsent(kind) {
					consent = domain.ConsentTextVersion
					errs = check(errs, v.Get("consent") == "ja", "consent", "Sæt kryds, hvis du giver samtykke til, at mødet deles med personen. Uden samtykke kan du ikke invitere nogen fra regionen eller en anden myndighed.")
				}
				id, err := uuid.Parse(strings.TrimSpace(v.Get("participant")))
				email := strings.TrimSpace(v.Get("email"))
				switch {
				case email != "" && (p.People != nil || (p.NoticeSettings != nil && !needsID)) && strings.TrimSpace(v.Get("participant")) == "":
					errs = check(errs, domain.EmailAddress("email", email) == nil, "email", "E-mailen ser ikke rigtig ud. Skriv den som navn@kommune.dk.")
					return &domain.InviteParticipant{Meeting: m.MeetingID, Name: name, Kind: kind, Service: service, Email: email, ConsentVersion: consent}, errs
				case strings.TrimSpace(v.Get("participant")) == "" && !needsID:
					id, errs = hiddenID(errs, v, "new_participant_id")
				case strings.TrimSpace(v.Get("participant")) == "" && p.People != nil:
					errs = check(errs, false, "email", "Vælg fagpersonen på listen, eller skriv deres e-mail.")
				case strings.TrimSpace(v.Get("participant")) == "":
					errs = check(errs, false, "participant", "Skriv fagpersonens medarbejder-id. Fagpersonen eller kommunen kan give dig det.")
				case err != nil:
					errs = check(errs, false, "participant", "Medarbejder-id'et ser ikke rigtigt ud. Det er 36 tegn med bindestreger, fx 0b8e…-….")
				}
				return &domain.InviteParticipant{Meeting: m.MeetingID, Participant: id, Name: name, Kind: kind, Service: service, ConsentVersion: consent}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/deltagere/{pid}/tilbagekald": {template: "withdraw", title: "Træk en invitation tilbage", notice: "tilbagekaldt", meeting: true,
			offered: func(s *session, m *meetingPage) bool {
				return m.Owner && slices.ContainsFunc(m.Active(), func(p projections.ParticipantView) bool { return p.ID == m.Target })
			},
			build: func(_ *session, m *meetingPage, r *http.Request, _ url.Values) (domain.Command, []fieldError) {
				id, err := uuid.Parse(r.PathValue("pid"))
				return &domain.WithdrawInvitation{Meeting: m.MeetingID, Participant: id}, check(nil, err == nil, "", "Personen er ikke inviteret til mødet.")
			},
			next: meetingURL,
		},
		"/moeder/{id}/deltagere/{pid}/samtykke": {template: "consent", title: "Træk et samtykke tilbage", notice: "samtykke", meeting: true,
			offered: func(s *session, m *meetingPage) bool {
				return m.Owner && slices.ContainsFunc(m.Participants, func(p projections.ParticipantView) bool {
					return p.ID == m.Target && p.ConsentVersion != "" && !p.ConsentWithdrawn
				})
			},
			build: func(_ *session, m *meetingPage, r *http.Request, _ url.Values) (domain.Command, []fieldError) {
				id, err := uuid.Parse(r.PathValue("pid"))
				return &domain.WithdrawConsent{Meeting: m.MeetingID, Participant: id}, check(nil, err == nil, "", "Personen er ikke inviteret med dit samtykke.")
			},
			next: meetingURL,
		},
		"/moeder/{id}/svar": {template: "respond", title: "Svar på invitationen", notice: "svar", meeting: true,
			offered: func(_ *session, m *meetingPage) bool { return m.CanAnswer() },
			defaults: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) {
				if m.Me != nil {
					v.Set("answer", map[string]string{"accepted": "ja", "declined": "nej"}[m.Me.Answer])
				}
			},
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				a := v.Get("answer")
				errs := check(nil, a == "ja" || a == "nej", "answer", "Vælg, om du kommer.")
				errs = checkLines(errs, v, "reason", "Grunden", false, domain.MaxReason)
				reason := strings.TrimSpace(v.Get("reason"))
				if a == "ja" {
					reason = "" // a reason goes with a decline only; a yes needs none
				}
				return &domain.RespondToInvitation{Meeting: m.MeetingID, Accept: a == "ja", Reason: reason}, errs
			},
			next: meetingURL,
		},
		"/moeder/{id}/foreslaa": {template: "suggest", title: "Foreslå en deltager", notice: "forslag", meeting: true,
			offered:  func(_ *session, m *meetingPage) bool { return m.CanSuggest() },
			defaults: newID("suggestion_id"),
			build: func(_ *session, m *meetingPage, _ *http.Request, v url.Values) (domain.Command, []fieldError) {
				id, errs := hiddenID(nil, v, "suggestion_id")
				name, kind, service, errs := p.person(errs, v)
				errs = checkLines(errs, v, "reason", "Begrundelsen", false, domain.MaxReason)
				var pid uuid.UUID
				if s := strings.TrimSpace(v.Get("participant")); s != "" {
					var err error
					pid, err = uuid.Parse(s)
					errs = check(errs, err == nil, "participant", "Medarbejder-id'et ser ikke rigtigt ud. Lad feltet stå tomt, hvis du ikke kender det.")
				}
				return &domain.SuggestParticipant{Meeting: m.MeetingID, Suggestion: id, Participant: pid, Name: name,
					Kind: kind, Service: service, Reason: strings.TrimSpace(v.Get("reason"))}, errs
			},
			next: meetingURL,
		},
	}
}
