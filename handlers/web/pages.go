// Package web is the Danish web pages at /, for citizens, support persons, professionals and
// network members: server-rendered HTML that works without JavaScript, one file per page family
// (meeting, invitation, schedule, follow-up, session), with the Danish words and dates in
// danish.go. The pages give commands through the same command service as the API.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Danish times render the same on a machine without a zoneinfo database

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
)

//go:embed templates static
var webFiles embed.FS

// copenhagen is the time zone the pages show and read times in.
var copenhagen = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil { // impossible: time/tzdata is embedded
		return time.UTC
	}
	return loc
}()

// Commander carries out a command for an actor: the command service.
type Commander interface {
	Handle(ctx context.Context, actor domain.Actor, commandID uuid.UUID, cmd domain.Command) (command.Reply, error)
}

// Reader reads what the pages show from the read models, as much as the actor may see.
type Reader interface {
	Meeting(ctx context.Context, a domain.Actor, meeting uuid.UUID, after uint64) (projections.MeetingView, error)
	History(ctx context.Context, a domain.Actor, citizen uuid.UUID, pg projections.Page, after uint64) (projections.Paged[projections.MeetingView], error)
	Inbox(ctx context.Context, a domain.Actor, pg projections.Page, after uint64) (projections.Inbox, error)
	FollowUps(ctx context.Context, a domain.Actor, f projections.FollowUpFilter, pg projections.Page, after uint64) (projections.Paged[projections.FollowUpView], error)
}

// Verifier says who a session's token belongs to, and signs it out.
type Verifier interface {
	Actor(token string) (domain.Actor, error)
	// Lapsed is Actor for a token that may have expired lately: who typed a form before their
	// session ran out.
	Lapsed(token string) (domain.Actor, error)
	Revoke(ctx context.Context, token string) error
}

// Pages are the web pages at / for citizens, support persons, professionals and network members:
// server-rendered Danish HTML that works without JavaScript. They give commands through the same
// CommandService as the API and read the same read models, with the same rules.
type Pages struct {
	Service  Commander
	Queries  Reader
	Verifier Verifier
	Log      *slog.Logger
	NewID    func() uuid.UUID
	Now      func() time.Time
	// CSRFKey signs the form tokens; each is bound to the signed-in session, so a form from
	// another session (or another site) is refused.
	CSRFKey []byte
	// Contact says how to reach the municipality about accessibility, on /was.
	Contact string
	// Services is the catalogue the invitation and suggestion pages offer; nil is the embedded
	// default.
	Services *domain.Catalogue
	// Providers are the OpenID Connect providers people sign in through (none: sign-in links
	// only); People links their identities to person ids and is the staff directory the
	// invitation page offers; Sessions signs the session after such a sign-in. PublicURL is the
	// address people reach the pages at, where a provider sends them back after signing out.
	Providers map[auth.ProviderKind]SignInProvider
	People    Directory
	Sessions  SessionIssuer
	PublicURL string
	// Notices are the person's notices and the failing addresses (notices.go); NoticeSettings is
	// where their notices go, changed on /varsler. Either may be nil.
	Notices        NoticeBox
	NoticeSettings NoticeSettings
	// Access answers "Hvem har set mine oplysninger" (/moeder/adgang), and Mandates lists the
	// citizen's mandates (/moeder/fuldmagter); nil leaves the page out. AccessLogDays is how
	// long the access log keeps entries, told on the page.
	Access        AccessLog
	Mandates      MandateList
	AccessLogDays int

	templates map[string]*template.Template
	mux       *http.ServeMux
}

// page is what every template gets.
type page struct {
	Title   string
	Session *session
	Notice  string
	Form    *form
	Data    any
}

func (p *Pages) parseTemplates() error {
	names, err := fs.Glob(webFiles, "templates/*.html")
	if err != nil {
		return err
	}
	p.templates = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(templateFuncs).Funcs(template.FuncMap{"services": p.services().Names, "providers": p.providerLinks, "directory": p.directory, "byEmail": func() bool { return p.People != nil }, "noticesByEmail": func() bool { return p.NoticeSettings != nil }, "rights": func() bool { return p.Access != nil }}).ParseFS(webFiles, "templates/layout.html", n)
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
	if len(p.Providers) > 0 && (p.People == nil || p.Sessions == nil) {
		return nil, errors.New("pages: sign-in through a provider needs the people directory and a session signer")
	}
	if len(p.CSRFKey) < 32 {
		return nil, errors.New("pages: the CSRF key must be at least 32 bytes")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	mux := http.NewServeMux()
	p.mux = mux
	static, _ := fs.Sub(webFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", p.front)
	mux.HandleFunc("GET /log-ind", p.signIn)
	mux.HandleFunc("POST /log-ind", p.signIn)
	mux.HandleFunc("POST /log-ud", p.signOut)
	for k := range p.Providers {
		start, callback := ProviderPaths(k)
		mux.HandleFunc("POST "+start, p.startSignIn(k))
		mux.HandleFunc("GET "+callback, p.callback(k))
	}
	mux.HandleFunc("GET /was", p.accessibility)
	mux.HandleFunc("GET /moeder", p.myMeetings)
	mux.HandleFunc("GET /indbakke", p.inbox)
	mux.HandleFunc("GET /moeder/{id}", p.meeting)
	mux.HandleFunc("GET /moeder/{id}/kalender.ics", p.calendar)
	mux.HandleFunc("GET /varsler", p.noticeSettings)
	mux.HandleFunc("POST /varsler", p.noticeSettings)
	if p.Access != nil {
		mux.HandleFunc("GET /moeder/adgang", p.accessLog)
	}
	if p.Mandates != nil {
		mux.HandleFunc("GET /moeder/fuldmagter", p.mandates)
	}
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
	return p.securityHeaders(cop.Handler(mux)), nil
}

func (p *Pages) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+p.formAction()+"; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY") // frame-ancestors, for browsers that do not read CSP
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // sign-in links carry a token
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store") // pages hold personal data
		}
		h.ServeHTTP(w, r)
	})
}

// formAction is where our forms may go: this site, and the sign-in providers' endpoints, since
// the start of sign-in and sign-out are forms answered with a redirect to the provider.
func (p *Pages) formAction() string {
	fa := "'self'"
	for _, k := range []auth.ProviderKind{auth.CitizenProvider, auth.StaffProvider} {
		if prov, ok := p.Providers[k]; ok {
			for _, o := range prov.FormTargets() {
				fa += " " + o
			}
		}
	}
	return fa
}

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
