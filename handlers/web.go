package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Danish times render the same on a machine without a zoneinfo database

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

//go:embed web
var webFiles embed.FS

// SessionCookie holds the signed token of whoever signed in on the pages.
const SessionCookie = "aabendialog_session"

// copenhagen is the time zone the pages show and read times in.
var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil { // impossible: time/tzdata is embedded
		return time.UTC
	}
	return loc
}()

// Pages are the web pages at / for citizens, support persons, professionals and network members:
// server-rendered Danish HTML that works without JavaScript. They give commands through the same
// CommandService as the API and read the same read models, with the same rules.
type Pages struct {
	Service  *CommandService
	Queries  *projections.Queries
	Verifier *Verifier
	Log      *slog.Logger
	NewID    func() uuid.UUID
	Now      func() time.Time
	// CSRFKey signs the form tokens; each is bound to the signed-in session, so a form from
	// another session (or another site) is refused.
	CSRFKey []byte
	// Contact says how to reach the municipality about accessibility, on /was.
	Contact string

	templates map[string]*template.Template
	mux       *http.ServeMux
}

// CSRFKeyFile is where serve keeps the key that signs form tokens, under the data directory.
func CSRFKeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "csrf.key") }

// session is who is signed in on the pages.
type session struct {
	Actor domain.Actor
	CSRF  string
}

// Owner reports whether the session's actor holds meetings of their own (a citizen) or acts for
// someone who does (a support person).
func (s *session) Owner() bool {
	return s != nil && (s.Actor.Role == domain.RoleCitizen || s.Actor.Role == domain.RoleSupport)
}

// Self reports whether the session is the citizen themself (not their support person), so the
// pages speak to them as "du".
func (s *session) Self() bool { return s != nil && s.Actor.Role == domain.RoleCitizen }

// Citizen is the citizen whose meetings the session manages.
func (s *session) Citizen() uuid.UUID {
	if s.Actor.Role == domain.RoleSupport {
		return s.Actor.OnBehalfOf
	}
	return s.Actor.ID
}

// fieldError is a Danish message about one form field ("" for the form as a whole).
type fieldError struct{ Field, Message string }

// form is what a person typed, what was wrong with it and the ids that make a second submit of
// the same form a repeat, not a new command.
type form struct {
	Values    url.Values
	Errors    []fieldError
	CommandID string
}

// Get returns the typed value of a field.
func (f *form) Get(k string) string { return f.Values.Get(k) }

// All returns every typed value of a field.
func (f *form) All(k string) []string { return f.Values[k] }

// Has reports whether value v was chosen for field k (checkboxes, radio buttons).
func (f *form) Has(k, v string) bool {
	for _, x := range f.Values[k] {
		if x == v {
			return true
		}
	}
	return false
}

// Err returns the message for a field, or "".
func (f *form) Err(k string) string {
	for _, e := range f.Errors {
		if e.Field == k {
			return e.Message
		}
	}
	return ""
}

// Field returns the field's name with its message, for the error shown beside it.
func (f *form) Field(k string) fieldError { return fieldError{k, f.Err(k)} }

// page is what every template gets.
type page struct {
	Title   string
	Session *session
	Notice  string
	Form    *form
	Data    any
}

// notices are the confirmations shown after a redirect, by key, so that no text travels in the
// address.
var notices = map[string]string{
	"indkaldt":     "Mødet er oprettet. Skriv nu, hvad du vil tale om.",
	"dagsorden":    "Dagsordenen er gemt.",
	"inviteret":    "Invitationen er sendt.",
	"tilbagekaldt": "Invitationen er trukket tilbage.",
	"tid":          "Tid og sted er gemt.",
	"aflyst":       "Mødet er aflyst.",
	"svar":         "Dit svar er gemt.",
	"forslag":      "Dit forslag er sendt til borgeren.",
	"fremmoede":    "Det er gemt, hvem der var med.",
	"opfoelgning":  "Opfølgningen er gemt.",
	"udfoert":      "Opfølgningen er markeret som udført.",
	"afsluttet":    "Mødet er afsluttet.",
	"logget-ind":   "Du er logget ind.",
}

func (p *Pages) parseTemplates() error {
	names, err := fs.Glob(webFiles, "web/*.html")
	if err != nil {
		return err
	}
	p.templates = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(webFiles, "web/layout.html", n)
		if err != nil {
			return fmt.Errorf("page %s: %w", name, err)
		}
		p.templates[name] = t
	}
	return nil
}

// Handler returns the pages' handler. Cross-origin form posts are refused before any page sees
// them; every form also carries a token bound to the session.
func (p *Pages) Handler() (http.Handler, error) {
	if err := p.parseTemplates(); err != nil {
		return nil, err
	}
	if len(p.CSRFKey) < 32 {
		return nil, errors.New("pages: the CSRF key must be at least 32 bytes")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	mux := http.NewServeMux()
	p.mux = mux
	static, _ := fs.Sub(webFiles, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", p.front)
	mux.HandleFunc("GET /log-ind", p.signIn)
	mux.HandleFunc("POST /log-ind", p.signIn)
	mux.HandleFunc("POST /log-ud", p.signOut)
	mux.HandleFunc("GET /was", p.accessibility)
	mux.HandleFunc("GET /moeder", p.myMeetings)
	mux.HandleFunc("GET /indbakke", p.inbox)
	mux.HandleFunc("GET /moeder/{id}", p.meeting)
	for route, a := range p.actions() {
		mux.HandleFunc("GET "+route, p.formPage(a))
		mux.HandleFunc("POST "+route, p.formPage(a))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.problem(w, r, nil, http.StatusNotFound, "Siden findes ikke", "Vi kan ikke finde den side, du leder efter.")
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Log.Warn("cross-origin form post refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		p.problem(w, r, nil, http.StatusForbidden, "Formularen blev afvist", "Formularen kom ikke fra denne hjemmeside, så vi har ikke gemt noget. Gå tilbage og prøv igen.")
	}))
	return securityHeaders(cop.Handler(mux)), nil
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // sign-in links carry a token
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store") // pages hold personal data
		}
		h.ServeHTTP(w, r)
	})
}

// csrf is the form token of a session: a MAC of its signed token under the server's key.
func (p *Pages) csrf(token string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("aabendialog form\x00"))
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// current returns who is signed in, or nil.
func (p *Pages) current(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	a, err := p.Verifier.Actor(c.Value)
	if err != nil {
		return nil
	}
	return &session{Actor: a, CSRF: p.csrf(c.Value)}
}

// signedIn returns the session, or shows the sign-in page and returns nil.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request) *session {
	s := p.current(r)
	if s == nil && r.Method == http.MethodPost {
		// Signed out while typing (the token ran out): what was typed rides along on the sign-in
		// page, bound to the person whose session ran out, and comes back in the form when that
		// person signs in again, so no answer is lost to a time limit.
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if err := r.ParseForm(); err == nil {
			if rs := p.keep(r); rs != nil {
				p.render(w, r, http.StatusUnauthorized, "front", page{Title: "Log ind", Data: rs,
					Form: &form{Values: url.Values{}, Errors: []fieldError{{"token", "Du blev logget ud, mens du skrev. Det, du skrev, er ikke gemt endnu, men det er ikke væk: indsæt din kode her, så kommer du tilbage til det."}}}})
				return nil
			}
		}
	}
	if s == nil {
		p.render(w, r, http.StatusUnauthorized, "front", page{Title: "Log ind", Form: &form{Values: url.Values{},
			Errors: []fieldError{{"token", "Du skal logge ind for at se siden. Brug linket, du har fået, eller indsæt din kode her."}}}})
		return nil
	}
	if s.Actor.Role == domain.RoleEvaluator || s.Actor.Role == domain.RoleAdmin {
		p.problem(w, r, s, http.StatusForbidden, "Ingen adgang", "Siderne er for borgere, deres bisiddere og de fagpersoner, der er med i møderne. Evaluatorer og administratorer bruger evalueringen og API'et.")
		return nil
	}
	return s
}

// restore is a form typed before the session ran out, carried through the sign-in page. It
// comes back only to the person it was typed by: For is their id, Sig a MAC of all of it.
type restore struct {
	Return string
	Values url.Values
	For    string
	Sig    string
}

// keep makes the restore of a posted form, or nil when the session that typed it is unknown.
func (p *Pages) keep(r *http.Request) *restore {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	sub := unverifiedSubject(c.Value) // the signature is checked when the same person signs in again
	if sub == "" || !returnPath(r.URL.Path) {
		return nil
	}
	kept := url.Values{}
	for k, vs := range r.PostForm {
		if k != "csrf" {
			kept[k] = vs
		}
	}
	return &restore{Return: r.URL.Path, Values: kept, For: sub, Sig: p.restoreSig(sub, r.URL.Path, kept)}
}

func (p *Pages) restoreSig(sub, ret string, kept url.Values) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	fmt.Fprintf(m, "aabendialog restore\x00%s\x00%s\x00%s", sub, ret, kept.Encode())
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// restoreFrom reads the form a sign-in post carries, or nil.
func restoreFrom(r *http.Request) *restore {
	rs := &restore{Return: r.PostFormValue("return"), For: r.PostFormValue("keep_for"), Sig: r.PostFormValue("keep_sig"), Values: url.Values{}}
	if rs.Return == "" {
		return nil
	}
	for k, vs := range r.PostForm {
		if name, ok := strings.CutPrefix(k, keptPrefix); ok {
			rs.Values[name] = vs
		}
	}
	return rs
}

// restored is the form a sign-in post carries, when it is the signed-in actor's own.
func (p *Pages) restored(r *http.Request, a domain.Actor) *restore {
	rs := restoreFrom(r)
	if rs == nil || !returnPath(rs.Return) || a.ID.String() != rs.For ||
		!hmac.Equal([]byte(rs.Sig), []byte(p.restoreSig(rs.For, rs.Return, rs.Values))) {
		return nil
	}
	return rs
}

// returnPath accepts only a clean path to a page of a meeting.
func returnPath(ret string) bool {
	return strings.HasPrefix(ret, "/moeder/") && path.Clean(ret) == ret && !strings.ContainsAny(ret, "?#\\%")
}

// unverifiedSubject reads the subject of a token without checking it (it may have expired).
func unverifiedSubject(token string) string {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return ""
	}
	if _, err := uuid.Parse(c.Subject); err != nil {
		return ""
	}
	return c.Subject
}

// restoreKey holds, in a request's context, the values of a form to show again after sign-in.
type restoreKey struct{}

// keptPrefix marks the fields of a form carried through the sign-in page.
const keptPrefix = "keep."

// readPost reads a form post. ok says whether the form's token is this session's; nil values
// mean the post could not be read and has been answered.
func (p *Pages) readPost(w http.ResponseWriter, r *http.Request, s *session) (v url.Values, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		p.problem(w, r, s, http.StatusBadRequest, "Formularen kunne ikke læses", "Det, du sendte, var for stort eller ikke en formular. Intet er gemt.")
		return nil, false
	}
	return r.PostForm, hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.CSRF))
}

const staleForm = "Siden var for gammel, eller du har logget ind igen siden. Intet er gemt. Tjek det, du har skrevet, og tryk igen."

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	t, ok := p.templates[name]
	if !ok {
		p.Log.Error("no such page template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if pg.Notice == "" {
		pg.Notice = notices[r.URL.Query().Get("gemt")]
	}
	var buf bytes.Buffer // rendered whole first, so a failing template never sends half a page
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		p.Log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem shows a page that says what went wrong and what to do.
func (p *Pages) problem(w http.ResponseWriter, r *http.Request, s *session, status int, title, message string) {
	p.render(w, r, status, "problem", page{Title: title, Session: s, Data: message})
}

// failure shows a page for an error of the command service or the read models.
func (p *Pages) failure(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := danishError(err)
	if status >= 500 {
		p.Log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	p.problem(w, r, s, status, "Det lykkedes ikke", msg.Message)
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
	status, _ := errorAnswer(err)
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
	domain.RuleInThePast:           {"date", "Tidspunktet er allerede gået. Vælg et tidspunkt fra nu af."},
	domain.RuleSameSchedule:        {"date", "Mødet ligger allerede på det tidspunkt og sted."},
	domain.RuleAlreadyInvited:      {"participant", "Personen er allerede inviteret."},
	domain.RuleCitizenIsPart:       {"participant", "Borgeren er altid med i sit eget møde og skal ikke inviteres."},
	domain.RuleTooManyParticipants: {"", "Mødet har allerede så mange deltagere, som der er plads til."},
	domain.RuleClosed:              {"", "Mødet er afsluttet, så det kan ikke ændres nu."},
	domain.RuleCancelled:           {"", "Mødet er aflyst, så det kan ikke ændres nu."},
	domain.RuleHeld:                {"", "Mødet er holdt, så det kan ikke ændres nu."},
	domain.RuleNotScheduled:        {"", "Mødet har ikke fået tid og sted endnu."},
	domain.RuleTooEarly:            {"", "Hvem der var med, kan først skrives ned fra en time før mødet."},
	domain.RuleAlreadyAttended:     {"", "Det er allerede skrevet ned, hvem der var med."},
	domain.RuleCitizenPresent:      {"present", "Borgeren skal være med. Intet om borgeren uden borgeren."},
	domain.RuleResponsibleAbsent:   {"responsible", "Den ansvarlige skal have været med til mødet."},
	domain.RuleAlreadyAccepted:     {"", "Du har allerede sagt ja."},
	domain.RuleAlreadyDeclined:     {"", "Du har allerede sagt nej."},
	domain.RuleFollowUpDone:        {"", "Opfølgningen er allerede udført."},
	domain.RuleAttendanceFirst:     {"", "Skriv først ned, hvem der var med."},
	domain.RuleCloseNotHeld:        {"", "Kun et møde, der er holdt, kan afsluttes. Skriv først ned, hvem der var med."},
	domain.RuleCancelHeld:          {"", "Mødet er holdt, så det kan ikke aflyses. Det kan afsluttes."},
	domain.RuleNotInvited:          {"", "Personen er ikke inviteret til mødet."},
	domain.RuleOnlyInvitedAnswer:   {"", "Kun de inviterede kan svare på invitationen."},
	domain.RuleTooManyChanges:      {"", "Mødet er ændret så mange gange, som der er plads til. Indkald til et nyt møde."},
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
	case "service":
		return "service_other"
	case "name", "kind", "address", "reason", "what", "due", "responsible", "present", "items", "title", "place":
		return f
	}
	return ""
}

// front is the start page: sign in, or go on to the signed-in person's own start.
func (p *Pages) front(w http.ResponseWriter, r *http.Request) {
	s := p.current(r)
	if s == nil {
		p.render(w, r, http.StatusOK, "front", page{Title: "Log ind", Form: &form{Values: url.Values{}}})
		return
	}
	if s.Owner() {
		http.Redirect(w, r, "/moeder"+keep(r), http.StatusSeeOther)
		return
	}
	if s.Actor.Role == domain.RoleProfessional || s.Actor.Role == domain.RoleNetwork {
		http.Redirect(w, r, "/indbakke"+keep(r), http.StatusSeeOther)
		return
	}
	p.signedIn(w, r) // evaluators and administrators: told where to go instead
}

// keep carries the notice of a redirect on.
func keep(r *http.Request) string {
	if g := r.URL.Query().Get("gemt"); notices[g] != "" {
		return "?gemt=" + g
	}
	return ""
}

// signIn signs in with a token. A sign-in link (GET /log-ind?token=…) only shows a button that
// posts it, so that another site cannot sign a person in as someone else: posts from other
// sites are refused. The token is kept in a cookie that scripts cannot read.
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody) // a kept form may ride along
	tok := strings.TrimSpace(r.FormValue("token"))
	a, err := p.Verifier.Actor(tok)
	if err != nil {
		msg := "Koden er ikke gyldig. Den kan være udløbet eller ikke kopieret helt. Bed om et nyt link."
		if tok == "" {
			msg = "Indsæt den kode, du har fået, eller brug linket."
		}
		pg := page{Title: "Log ind", Form: &form{Values: url.Values{}, Errors: []fieldError{{"token", msg}}}}
		if rs := restoreFrom(r); r.Method == http.MethodPost && rs != nil {
			pg.Data = rs // what was typed stays on the page through a failed sign-in too
		}
		p.render(w, r, http.StatusUnauthorized, "front", pg)
		return
	}
	if r.Method == http.MethodGet {
		p.render(w, r, http.StatusOK, "signin", page{Title: "Log ind", Data: tok})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	if rs := p.restored(r, a); rs != nil {
		// Back to the form that was being typed, filled in as it was, under the new session.
		back := r.Clone(context.WithValue(r.Context(), restoreKey{}, rs.Values))
		back.Method, back.Body, back.Form, back.PostForm = http.MethodGet, http.NoBody, nil, nil
		back.URL = &url.URL{Path: rs.Return}
		back.Header = r.Header.Clone()
		back.Header.Del("Cookie")
		back.AddCookie(&http.Cookie{Name: SessionCookie, Value: tok})
		p.mux.ServeHTTP(w, back)
		return
	}
	http.Redirect(w, r, "/?gemt=logget-ind", http.StatusSeeOther)
}

// secure says whether the page was asked for over HTTPS, directly or through a proxy that says
// so; the session cookie is then sent over HTTPS only.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (p *Pages) signOut(w http.ResponseWriter, r *http.Request) {
	if s := p.current(r); s != nil {
		v, ok := p.readPost(w, r, s)
		if v == nil {
			return
		}
		if !ok {
			p.problem(w, r, s, http.StatusForbidden, "Du er ikke logget ud", "Siden var for gammel. Gå tilbage, opdatér siden, og tryk på Log ud igen.")
			return
		}
		// The token itself stops working, not only this browser's copy of it: on a shared
		// computer someone could have kept it.
		if c, err := r.Cookie(SessionCookie); err == nil {
			if err := p.Verifier.Revoke(r.Context(), c.Value); err != nil {
				p.Log.Error("sign-out: revoking the token failed", "err", err)
				p.problem(w, r, s, http.StatusServiceUnavailable, "Du er ikke logget ud", "Det lykkedes ikke at logge dig ud lige nu. Prøv igen om lidt.")
				return
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Pages) accessibility(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "was", page{Title: "Tilgængelighedserklæring", Session: p.current(r), Data: p.Contact})
}

// after is the sequence a redirect after a command asks the read models to have reached, so a
// person sees what they just did.
func after(r *http.Request) uint64 {
	n, _ := strconv.ParseUint(r.URL.Query().Get("efter"), 10, 64)
	return n
}

func (p *Pages) queryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 5*time.Second)
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
	"status": {"convened": "Mangler tid og sted", "scheduled": "Planlagt", "held": "Holdt", "closed": "Afsluttet", "cancelled": "Aflyst"},
	"answer": {"pending": "Har ikke svaret endnu", "accepted": "Kommer", "declined": "Kommer ikke"},
	"kind":   {"professional": "Fagperson fra kommunen", "region": "Fra regionen", "network": "Fra borgerens netværk", "other": "Andet"},
	"place":  {"home": "Hjemme hos borgeren", "chosen": "Et sted, borgeren har valgt", "office": "På kommunens kontor", "online": "Online (video)"},
	"state":  {"open": "Ikke gjort endnu", "due": "Skal gøres i dag", "overdue": "Forsinket", "done": "Udført", "done_late": "Udført, men for sent"},
}

var templateFuncs = template.FuncMap{
	"time": danishTime,
	"date": danishDate,
	"word": func(kind, code string) string {
		if w, ok := words[kind][code]; ok {
			return w
		}
		return code
	},
	"services": func() []string { return Services },
	"anchor":   anchor,
	// newid gives each of several forms on one page its own command id.
	"newid": func() string { return uuid.Must(uuid.NewV7()).String() },
}
