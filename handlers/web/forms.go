package web

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/google/uuid"
)

// maxBody is the largest form the pages read, the API's limit too: the largest command fits well
// within it.
const maxBody = 256 << 10

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

// readPost reads a form post. ok says whether the form's token is this session's; nil values
// mean the post could not be read and has been answered.
func (p *Pages) readPost(w http.ResponseWriter, r *http.Request, s *session) (v url.Values, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		p.problem(w, r, s, http.StatusBadRequest, "Formularen kunne ikke læses", "Det, du sendte, var for stort eller ikke en formular. Intet er gemt.")
		return nil, false
	}
	return r.PostForm, hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.CSRF))
}

const staleForm = "Siden var for gammel, eller du har logget ind igen siden. Intet er gemt. Tjek det, du har skrevet, og tryk igen."

// action is a page with one form that gives one command.
type action struct {
	template, title, notice string
	// meeting says the route names a meeting, {id}.
	meeting bool
	// offered says whether the page is shown to this person; a post is decided by the command
	// service whatever this says, so that its rules are the only ones.
	offered func(s *session, m *meetingPage) bool
	// defaults fills the form when it is first shown.
	defaults func(s *session, m *meetingPage, r *http.Request, v url.Values)
	// build makes the command from what was typed, or says in Danish what to fix.
	build func(s *session, m *meetingPage, r *http.Request, v url.Values) (domain.Command, []fieldError)
	// next is where to go after the command, before its notice and sequence are added.
	next func(m *meetingPage, reply command.Reply) string
}

// actions are the form pages, by route: each family's file adds its own.
func (p *Pages) actions() map[string]action {
	all := map[string]action{}
	for _, family := range []map[string]action{p.meetingActions(), p.invitationActions(), p.scheduleActions(), p.followUpActions(), p.rightsActions()} {
		maps.Copy(all, family)
	}
	return all
}

// newID fills a hidden field with a new id when a form is first shown: the id of what the form
// creates, the same however often the form is sent.
func newID(field string) func(*session, *meetingPage, *http.Request, url.Values) {
	return func(_ *session, _ *meetingPage, _ *http.Request, v url.Values) { v.Set(field, uuid.NewString()) }
}

// hiddenID reads an id the form carries in a hidden field.
func hiddenID(errs []fieldError, v url.Values, field string) (uuid.UUID, []fieldError) {
	id, err := uuid.Parse(v.Get(field))
	return id, check(errs, err == nil, "", "Formularen mangler et felt. Gå tilbage, og prøv igen.")
}

// check adds a message when ok is false.
func check(errs []fieldError, ok bool, field, msg string) []fieldError {
	if ok || slices.ContainsFunc(errs, func(e fieldError) bool { return e.Field == field }) {
		return errs
	}
	return append(errs, fieldError{field, msg})
}

// checkText checks a typed text's presence, characters and length, in the words a person reads.
// checkText checks a one-line field of the form.
func checkText(errs []fieldError, v url.Values, field, what string, required bool, max int) []fieldError {
	return checkPlain(errs, strings.TrimSpace(v.Get(field)), field, what, required, max)
}

// checkLines checks a text area that may hold several lines.
func checkLines(errs []fieldError, v url.Values, field, what string, required bool, max int) []fieldError {
	return checkTyped(errs, strings.TrimSpace(v.Get(field)), field, what, required, max, domain.PlainLines)
}

func checkPlain(errs []fieldError, s, field, what string, required bool, max int) []fieldError {
	if strings.ContainsAny(s, "\r\n") {
		return check(errs, false, field, what+" skal stå på én linje.")
	}
	return checkTyped(errs, s, field, what, required, max, domain.PlainText)
}

func checkTyped(errs []fieldError, s, field, what string, required bool, max int, plain func(string) bool) []fieldError {
	errs = check(errs, !required || s != "", field, what+" mangler. Udfyld feltet.")
	errs = check(errs, plain(s), field, what+" indeholder et tegn, der ikke kan gemmes, måske fra en kopi. Skriv teksten igen.")
	return check(errs, utf8.RuneCountInString(s) <= max, field, fmt.Sprintf("%s må højst være %d tegn. Nu er det %d.", what, max, utf8.RuneCountInString(s)))
}

// formPage shows an action's form and carries out its post: the command goes to the command
// service with the form's command id, so a second submit of the same form is answered with the
// first result and writes nothing. Whatever goes wrong, the page comes back with what was typed.
func (p *Pages) formPage(a action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.signedIn(w, r)
		if s == nil {
			return
		}
		var m *meetingPage
		if a.meeting {
			if m = p.loadMeeting(w, r, s); m == nil {
				return
			}
			m.Target, _ = uuid.Parse(r.PathValue("pid") + r.PathValue("fid"))
			if a.template == "invite" && r.Method == http.MethodGet {
				m.Earlier = p.earlier(r.Context(), s, m)
			}
		}
		pg := page{Title: a.title, Session: s, Data: m, Form: &form{Values: url.Values{}}}
		if r.Method == http.MethodGet {
			if !a.offered(s, m) {
				p.problem(w, r, s, http.StatusForbidden, "Det kan du ikke her", notOffered(a, m))
				return
			}
			pg.Form.CommandID = p.NewID().String()
			if kept, ok := r.Context().Value(restoreKey{}).(url.Values); ok {
				pg.Form.Values = kept
				if id := kept.Get("command_id"); id != "" {
					pg.Form.CommandID = id // the same command: a second send cannot write it twice
				}
				pg.Notice = "Du er logget ind igen. Tjek det, du skrev, og tryk på knappen for at gemme det."
			} else if a.defaults != nil {
				a.defaults(s, m, r, pg.Form.Values)
			}
			p.render(w, r, http.StatusOK, a.template, pg)
			return
		}
		v, ok := p.readPost(w, r, s)
		if v == nil {
			return
		}
		if !ok {
			// Not this session's form: nothing is done, but what was typed comes back with a
			// fresh token, so a person who signed in again loses nothing.
			pg.Form.Values, pg.Form.CommandID = v, v.Get("command_id")
			pg.Form.Errors = []fieldError{{"", staleForm}}
			p.Log.Warn("form post with a wrong token refused", "path", r.URL.Path, "actor", s.Actor.ID)
			p.render(w, r, http.StatusForbidden, a.template, pg)
			return
		}
		pg.Form.Values, pg.Form.CommandID = v, v.Get("command_id")
		cid, err := uuid.Parse(pg.Form.CommandID)
		if err != nil {
			pg.Form.CommandID = p.NewID().String()
			pg.Form.Errors = []fieldError{{"", "Formularen mangler et felt. Tjek det, du har skrevet, og tryk igen."}}
			p.render(w, r, http.StatusBadRequest, a.template, pg)
			return
		}
		cmd, errs := a.build(s, m, r, v)
		if len(errs) > 0 {
			pg.Form.Errors = errs
			p.render(w, r, http.StatusBadRequest, a.template, pg)
			return
		}
		// The command's id is the form's id together with what it says: the same form sent again
		// unchanged (a double click, a retry after a timeout) is the same command and is answered
		// with the first result; a form changed after a refusal is a new command.
		body, err := json.Marshal(cmd)
		if err != nil {
			p.failure(w, r, s, err)
			return
		}
		cid = uuid.NewSHA1(cid, append([]byte(cmd.CommandName()+"\x00"), body...))
		// The command is finished even if the browser goes away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
		defer cancel()
		reply, err := p.Service.Handle(ctx, s.Actor, cid, cmd)
		if err != nil {
			status, fe := danishError(err)
			if status >= 500 {
				p.Log.Error("page command failed", "path", r.URL.Path, "err", err)
				fe = fieldError{"", "Vi ved ikke, om det blev gemt: tjenesten svarede ikke i tide. Tryk på knappen igen. Det bliver ikke gemt to gange."}
			}
			pg.Form.Errors = []fieldError{fe}
			p.render(w, r, status, a.template, pg)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s?gemt=%s&efter=%d", a.next(m, reply), a.notice, reply.Sequence), http.StatusSeeOther)
	}
}

func notOffered(a action, m *meetingPage) string {
	if m != nil && !m.Open() && a.template != "followup" && a.template != "close" && a.template != "complete" && a.template != "consent" {
		return "Mødet er " + strings.ToLower(words["status"][m.Status]) + ", så det kan ikke ændres nu."
	}
	switch a.template {
	case "convene", "agenda", "invite", "withdraw", "schedule", "cancel":
		return "Det er borgeren, der bestemmer dagsordenen, hvem der deltager, og hvor og hvornår mødet er. Du kan foreslå en deltager fra mødets side."
	}
	return "Den handling hører ikke til dig på dette møde lige nu."
}
