package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/google/uuid"
)

// SessionCookie holds the signed token of whoever signed in on the pages.
const SessionCookie = "aabendialog_session"

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
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
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
		p.problem(w, r, s, http.StatusForbidden, "Ingen adgang", pagesNotForYou)
		return nil
	}
	return s
}

// pagesNotForYou tells an evaluator or administrator that the pages are not theirs.
const pagesNotForYou = "Siderne er for borgere, deres bisiddere og de fagpersoner, der er med i møderne. Evaluatorer og administratorer bruger evalueringen og API'et."

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
	// Bound to whoever the (lately expired) token verifiably names, so nobody can plant a form
	// on someone else's next sign-in.
	a, err := p.Verifier.Lapsed(c.Value)
	if err != nil || !returnPath(r.URL.Path) {
		return nil
	}
	sub := a.ID.String()
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

// restoreKey holds, in a request's context, the values of a form to show again after sign-in.
type restoreKey struct{}

// keptPrefix marks the fields of a form carried through the sign-in page.
const keptPrefix = "keep."

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
	r.Body = http.MaxBytesReader(w, r.Body, maxBody) // a kept form may ride along
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
	// The page says whom the link signs in as, and a link for someone else does not silently
	// replace the session of whoever is signed in here: they are asked first.
	ask := signInAs{Token: tok, As: whom(a)}
	if cur := p.current(r); cur != nil && (cur.Actor.ID != a.ID || cur.Actor.Role != a.Role || cur.Actor.OnBehalfOf != a.OnBehalfOf) {
		ask.Current, ask.Replace = whom(cur.Actor), cur.Actor.ID.String()
	}
	if r.Method == http.MethodGet {
		p.render(w, r, http.StatusOK, "signin", page{Title: "Log ind", Data: ask})
		return
	}
	if ask.Replace != "" && r.PostFormValue("replace") != ask.Replace {
		p.render(w, r, http.StatusConflict, "signin", page{Title: "Log ind", Data: ask})
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

// signInAs is what the sign-in page shows: whom the token signs in as and, when someone else is
// signed in here, who that is (Replace confirms replacing them).
type signInAs struct {
	Token, As        string
	Current, Replace string
}

// whom says in Danish whom an actor is, as the person themself would recognise it.
func whom(a domain.Actor) string {
	switch a.Role {
	case domain.RoleCitizen:
		return "dig selv som borger"
	case domain.RoleSupport:
		return "bisidder for en borger"
	case domain.RoleProfessional:
		return "fagperson fra " + a.Service
	case domain.RoleNetwork:
		return "en del af en borgers netværk"
	case domain.RoleEvaluator:
		return "evaluator"
	case domain.RoleAdmin:
		return "administrator"
	}
	return string(a.Role)
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
	to := p.endSession(r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: providerCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusSeeOther)
}
