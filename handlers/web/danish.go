package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
	"github.com/google/uuid"
)

// notices are the confirmations shown after a redirect, by key, so that no text travels in the
// address.
var notices = map[string]string{
	"indkaldt":       "Mødet er oprettet. Skriv nu, hvad du vil tale om.",
	"dagsorden":      "Dagsordenen er gemt.",
	"fuldmagt-givet": "Fuldmagten er givet.",
	"fuldmagt-taget": "Fuldmagten er taget tilbage.",
	"inviteret":      "Invitationen er sendt.",
	"tilbagekaldt":   "Invitationen er trukket tilbage.",
	"tid":            "Tid og sted er gemt.",
	"aflyst":         "Mødet er aflyst.",
	"svar":           "Dit svar er gemt.",
	"forslag":        "Dit forslag er sendt til borgeren.",
	"fremmoede":      "Det er gemt, hvem der var med.",
	"opfoelgning":    "Opfølgningen er gemt.",
	"udfoert":        "Opfølgningen er markeret som udført.",
	"afsluttet":      "Mødet er afsluttet.",
	"logget-ind":     "Du er logget ind.",
	"samtykke":       "Samtykket er trukket tilbage. Personen kan ikke længere se mødet.",
	"varsler":        "Det er gemt, hvordan du får beskeder.",
}

// danishError says in Danish what went wrong, naming the form field where there is one.
func danishError(err error) (int, fieldError) {
	var nc *projections.NotCaughtUpError
	if errors.As(err, &nc) {
		return http.StatusServiceUnavailable, fieldError{"", "Siden er ikke helt opdateret endnu. Vent et øjeblik, og prøv igen."}
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		return http.StatusServiceUnavailable, fieldError{"", "Tjenesten svarer ikke lige nu, så intet er gemt. Prøv igen om lidt."}
	}
	status, _ := command.Status(err)
	if m, ok := ruleMessages[de.Rule]; ok {
		return status, m
	}
	switch de.Kind {
	case domain.Forbidden:
		return status, fieldError{"", "Det har du ikke lov til på dette møde."}
	case domain.NotFound:
		return status, fieldError{"", "Vi kan ikke finde mødet, eller du har ikke adgang til det."}
	case domain.Conflict:
		return status, fieldError{"", "Mødet er blevet ændret imens, så det kunne ikke gemmes. Se mødet igen, og prøv en gang til."}
	}
	return status, fieldError{formField(de.Field), "Noget i formularen er ikke udfyldt rigtigt. Tjek feltet, og prøv igen."}
}

// ruleMessages put the domain's rules into Danish, by the rule an error names (the domain's
// messages are English, for the API); a test sees every rule has one.
var ruleMessages = map[domain.Rule]fieldError{
	domain.RuleInThePast:            {"date", "Tidspunktet er allerede gået. Vælg et tidspunkt fra nu af."},
	domain.RuleSameSchedule:         {"date", "Mødet ligger allerede på det tidspunkt og sted."},
	domain.RuleAlreadyInvited:       {"participant", "Personen er allerede inviteret."},
	domain.RuleConsentNeeded:        {"consent", "Sæt kryds, hvis du giver samtykke til, at mødet deles med personen. Uden samtykke kan du ikke invitere nogen fra regionen eller en anden myndighed."},
	domain.RuleNoConsent:            {"", "Personen er ikke inviteret med dit samtykke, så der er ikke noget at trække tilbage."},
	domain.RuleConsentWithdrawn:     {"", "Du har allerede trukket samtykket tilbage."},
	domain.RuleConsentNotBisidder:   {"consent", "Som bisidder kan du ikke give samtykke til, at mødet deles med nogen uden for kommunen. Det kan kun borgeren selv eller en partsrepræsentant."},
	domain.RuleMandateScope:         {"", "Din fuldmagt fra borgeren gælder ikke dette møde. Borgeren har kun givet dig fuldmagt til bestemte møder."},
	domain.RuleCitizenIsPart:        {"participant", "Borgeren er altid med i sit eget møde og skal ikke inviteres."},
	domain.RuleTooManyParticipants:  {"", "Mødet har allerede så mange invitationer, som der er plads til (50, også dem, der er taget tilbage). Indkald til et nyt møde."},
	domain.RuleClosed:               {"", "Mødet er afsluttet, så det kan ikke ændres nu."},
	domain.RuleCancelled:            {"", "Mødet er aflyst, så det kan ikke ændres nu."},
	domain.RuleHeld:                 {"", "Mødet er holdt, så det kan ikke ændres nu."},
	domain.RuleNotScheduled:         {"", "Mødet har ikke fået tid og sted endnu."},
	domain.RuleTooEarly:             {"", "Hvem der var med, kan først skrives ned fra en time før mødet."},
	domain.RuleAlreadyAttended:      {"", "Det er allerede skrevet ned, hvem der var med."},
	domain.RuleCitizenPresent:       {"present", "Borgeren skal være med. Intet om borgeren uden borgeren."},
	domain.RuleResponsibleAbsent:    {"responsible", "Den ansvarlige skal have været med til mødet."},
	domain.RuleAlreadyAccepted:      {"", "Du har allerede sagt ja."},
	domain.RuleAlreadyDeclined:      {"", "Du har allerede sagt nej."},
	domain.RuleFollowUpDone:         {"", "Opfølgningen er allerede udført."},
	domain.RuleAttendanceFirst:      {"", "Skriv først ned, hvem der var med."},
	domain.RuleCloseNotHeld:         {"", "Kun et møde, der er holdt, kan afsluttes. Skriv først ned, hvem der var med."},
	domain.RuleMandateNotYours:      {"", "Kun borgeren selv, eller en sagsbehandler med borgerens skriftlige fuldmagt, kan give eller tage en fuldmagt."},
	domain.RuleMandateNeedsDocument: {"document", "Skriv journalnummeret på borgerens skriftlige fuldmagt."},
	domain.RuleMandateHeld:          {"", "Personen har allerede den fuldmagt."},
	domain.RuleNoMandate:            {"", "Du har ikke en fuldmagt fra borgeren, eller den er taget tilbage. Bed borgeren om at give dig en ny."},
	domain.RuleMandateExpired:       {"", "Din fuldmagt fra borgeren er udløbet. Bed borgeren om en ny."},
	domain.RuleCancelHeld:           {"", "Mødet er holdt, så det kan ikke aflyses. Det kan afsluttes."},
	domain.RuleNotInvited:           {"", "Personen er ikke inviteret til mødet."},
	domain.RuleOnlyInvitedAnswer:    {"", "Kun de inviterede kan svare på invitationen."},
	domain.RuleTooManyChanges:       {"", "Mødet er ændret så mange gange, som der er plads til. Indkald til et nyt møde."},
}

// anchor is the control an error about a field leads to: the first choice of a group.
func anchor(field string) string {
	switch field {
	case "kind":
		return "kind-professional"
	case "place":
		return "place-home"
	case "answer":
		return "answer-ja"
	case "present":
		return "present-citizen"
	case "responsible":
		return "responsible-citizen"
	}
	return field
}

// formField is the form field a command field is typed in, for the domain's refusals.
func formField(commandField string) string {
	f, _, _ := strings.Cut(commandField, "[") // items[2] is typed in items
	switch f {
	case "at":
		return "date"
	case "participant_id":
		return "participant"
	case "name", "service", "kind", "address", "reason", "what", "due", "responsible", "present", "items", "title", "place":
		return f
	}
	return ""
}

// Template helpers: Danish words for the read models' codes, and Danish dates.
var (
	weekdays = [...]string{"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"}
	months   = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}
)

func danishTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	l := t.In(copenhagen)
	return fmt.Sprintf("%s den %d. %s %d kl. %02d.%02d", weekdays[l.Weekday()], l.Day(), months[l.Month()-1], l.Year(), l.Hour(), l.Minute())
}

func danishDate(s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%d. %s %d", d.Day(), months[d.Month()-1], d.Year())
}

var words = map[string]map[string]string{
	"status":  {"convened": "Mangler tid og sted", "scheduled": "Planlagt", "held": "Holdt", "closed": "Afsluttet", "cancelled": "Aflyst"},
	"answer":  {"pending": "Har ikke svaret endnu", "accepted": "Kommer", "declined": "Kommer ikke"},
	"kind":    {"professional": "Fagperson fra kommunen", "region": "Fra regionen", "network": "Fra borgerens netværk", "other": "Andet"},
	"place":   {"home": "Hjemme hos borgeren", "chosen": "Et sted, borgeren har valgt", "office": "På kommunens kontor", "online": "Online (video)"},
	"reader":  {"professional": "En fagperson", "support": "Din bisidder eller partsrepræsentant", "network": "En fra dit netværk", "evaluator": "En evaluator", "admin": "En administrator", "citizen": "En borger"},
	"read":    {"meeting": "Et møde", "history": "Oversigten over dine møder", "inbox": "Et møde i personens indbakke", "follow-ups": "Opfølgninger fra dine møder", "replay": "Historikken for dine møder", "evaluation-replay": "Historikken uden navne, til evalueringen", "services": "En opgørelse over centre", "access-log": "Denne liste"},
	"purpose": {"meeting_participation": "Er med i dit møde", "support": "Hjælper dig med din fuldmagt", "evaluation": "Evaluering af forsøget, uden navne", "administration": "Drift og kontrol af systemet"},
	"mandate": {"support": "Bisidder", "representative": "Partsrepræsentant"},
	"state":   {"open": "Ikke gjort endnu", "due": "Skal gøres i dag", "overdue": "Forsinket", "done": "Udført", "done_late": "Udført, men for sent"},
}

var templateFuncs = template.FuncMap{
	"consentText": func() string { return domain.ConsentText[domain.ConsentTextVersion] },
	"time":        danishTime,
	"date":        danishDate,
	"word": func(kind string, code any) string {
		c := fmt.Sprint(code) // a code may be a named string type (domain.Role, …)
		if w, ok := words[kind][c]; ok {
			return w
		}
		return c
	},
	"anchor": anchor,
	// newid gives each of several forms on one page its own command id.
	"newid": func() string { return uuid.Must(uuid.NewV7()).String() },
}

// parseDate reads a date as a date field sends it (2026-12-01) or as Danes write it (1.12.2026).
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{time.DateOnly, "2.1.2006", "2-1-2006", "2/1/2006"} {
		var d time.Time
		if d, err = time.Parse(layout, s); err == nil {
			return d, nil
		}
	}
	return time.Time{}, err
}

// parseClock reads a time of day: 10:00, 10.00 or 10.
func parseClock(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{"15:04", "15.04", "15"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
