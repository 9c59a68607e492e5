package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
)

// SignInProvider is an OpenID Connect provider the pages sign people in through
// (auth.Provider).
type SignInProvider interface {
	Kind() auth.ProviderKind
	AuthURL(ctx context.Context, f auth.FlowStart) (string, error)
	Exchange(ctx context.Context, f auth.FlowStart, code string) (auth.SignedInAs, error)
	EndSessionURL(ctx context.Context, after string) string
	// FormTargets are the origins the start of sign-in and sign-out may redirect a form to.
	FormTargets() []string
}

// Directory links a provider's identities to person ids and lists the professionals who have
// signed in (auth.People).
type Directory interface {
	SignedIn(ctx context.Context, id auth.Identity, claims auth.Profile) (auth.Profile, error)
	Professionals(service string) []auth.Profile
}

// SessionIssuer signs the session token a sign-in through a provider ends with (auth.Signer):
// the session cookie is the same as a sign-in link's.
type SessionIssuer interface {
	Issue(a domain.Actor, ttl time.Duration) (string, error)
}

// SessionTTL is how long a session from a provider's sign-in lasts: a working day.
const SessionTTL = 8 * time.Hour

// flowTTL is how long a started sign-in may take at the provider.
const flowTTL = 10 * time.Minute

// providerCookie names the provider a session came from, so signing out can end its session.
const providerCookie = "aabendialog_provider"

// providerPath is each provider's path under /log-ind: /log-ind/borger and /log-ind/medarbejder
// start a sign-in, and the provider sends the browser back to …/retur.
var providerPath = map[auth.ProviderKind]string{auth.CitizenProvider: "borger", auth.StaffProvider: "medarbejder"}

// ProviderPaths are the paths the pages take a provider's sign-in at.
func ProviderPaths(k auth.ProviderKind) (start, callback string) {
	return "/log-ind/" + providerPath[k], "/log-ind/" + providerPath[k] + "/retur"
}

// providerLink is a sign-in button on the front page.
type providerLink struct{ Action, Label string }

func (p *Pages) providerLinks() []providerLink {
	var out []providerLink
	for _, k := range []auth.ProviderKind{auth.CitizenProvider, auth.StaffProvider} {
		if _, ok := p.Providers[k]; !ok {
			continue
		}
		start, _ := ProviderPaths(k)
		label := "Log ind med MitID"
		if k == auth.StaffProvider {
			label = "Log ind som medarbejder"
		}
		out = append(out, providerLink{Action: start, Label: label})
	}
	return out
}

func flowCookie(k auth.ProviderKind) string { return "aabendialog_signin_" + string(k) }

// flowState is the signed cookie of a started sign-in.
type flowState struct {
	auth.FlowStart
	Expires int64 `json:"exp"`
}

func (p *Pages) flowMAC(k auth.ProviderKind, body string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("aabendialog sign-in\x00" + string(k) + "\x00" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// startSignIn sends the browser to the provider. It is a form post, so another site cannot
// start a sign-in in someone's browser (cross-origin posts are refused before this runs).
func (p *Pages) startSignIn(k auth.ProviderKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		prov := p.Providers[k]
		f := flowState{FlowStart: auth.NewFlow(), Expires: p.Now().Add(flowTTL).Unix()}
		u, err := prov.AuthURL(r.Context(), f.FlowStart)
		if err != nil {
			p.Log.Error("sign-in: the identity provider cannot be reached", "provider", k, "err", err)
			p.problem(w, r, nil, http.StatusBadGateway, "Du kan ikke logge ind lige nu", "Vi kan ikke få forbindelse til log ind-tjenesten. Prøv igen om lidt.")
			return
		}
		b, _ := json.Marshal(f)
		body := base64.RawURLEncoding.EncodeToString(b)
		_, callback := ProviderPaths(k)
		http.SetCookie(w, &http.Cookie{Name: flowCookie(k), Value: body + "." + p.flowMAC(k, body), Path: callback,
			MaxAge: int(flowTTL.Seconds()), HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, u, http.StatusSeeOther)
	}
}

// flow reads the started sign-in from its cookie, or false when it is missing, forged or stale.
func (p *Pages) flow(r *http.Request, k auth.ProviderKind) (auth.FlowStart, bool) {
	c, err := r.Cookie(flowCookie(k))
	if err != nil {
		return auth.FlowStart{}, false
	}
	body, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(p.flowMAC(k, body))) {
		return auth.FlowStart{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	var f flowState
	if err != nil || json.Unmarshal(b, &f) != nil || p.Now().Unix() > f.Expires {
		return auth.FlowStart{}, false
	}
	return f.FlowStart, true
}

// callback completes a sign-in the provider sent the browser back from: the state must be the
// one this browser's flow started with, the code is exchanged with the flow's PKCE verifier,
// the ID token verified with the flow's nonce; then the identity becomes a person (linked by an
// event on the first sign-in) and the browser gets a session. Nothing of the tokens, the code
// or the claims is logged.
func (p *Pages) callback(k auth.ProviderKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, path := ProviderPaths(k)
		// The flow is used once, whatever comes of it.
		http.SetCookie(w, &http.Cookie{Name: flowCookie(k), Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
		again := "Gå tilbage til forsiden, og log ind igen."
		f, ok := p.flow(r, k)
		q := r.URL.Query()
		if !ok || !hmac.Equal([]byte(q.Get("state")), []byte(f.State)) {
			p.Log.Warn("sign-in refused: no flow of this browser has that state", "provider", k)
			p.problem(w, r, nil, http.StatusBadRequest, "Du blev ikke logget ind", "Log ind blev ikke startet her, eller det tog for lang tid. "+again)
			return
		}
		if e := q.Get("error"); e != "" {
			p.Log.Info("sign-in ended at the provider", "provider", k, "error", e)
			p.problem(w, r, nil, http.StatusUnauthorized, "Du blev ikke logget ind", "Log ind blev afbrudt. "+again)
			return
		}
		as, err := p.Providers[k].Exchange(r.Context(), f, q.Get("code"))
		var refused *auth.SignInRefused
		switch {
		case errors.As(err, &refused):
			p.Log.Warn("sign-in refused", "provider", k, "reason", refused.Reason)
			p.problem(w, r, nil, http.StatusForbidden, "Du har ikke adgang", refused.Reason)
			return
		case errors.Is(err, auth.ErrFlow):
			p.Log.Warn("sign-in refused", "provider", k, "err", err)
			p.problem(w, r, nil, http.StatusUnauthorized, "Du blev ikke logget ind", "Log ind kunne ikke bekræftes. "+again)
			return
		case err != nil:
			p.Log.Error("sign-in failed", "provider", k, "err", err)
			p.problem(w, r, nil, http.StatusBadGateway, "Du kan ikke logge ind lige nu", "Vi kan ikke få forbindelse til log ind-tjenesten. Prøv igen om lidt.")
			return
		}
		prof, err := p.People.SignedIn(r.Context(), as.Identity, as.Profile)
		if err != nil {
			p.Log.Error("sign-in: the person cannot be recorded", "provider", k, "err", err)
			p.problem(w, r, nil, http.StatusServiceUnavailable, "Du kan ikke logge ind lige nu", "Prøv igen om lidt.")
			return
		}
		a := domain.Actor{ID: prof.Person, Role: prof.Role, Service: prof.Service}
		if a.Role == domain.RoleEvaluator || a.Role == domain.RoleAdmin {
			// Linked, so their access tokens name the same person on the API, but given no
			// session: no page is theirs.
			p.Log.Info("signed in without a session: the pages are not for this role", "provider", k, "person", prof.Person, "role", prof.Role)
			p.problem(w, r, nil, http.StatusForbidden, "Du er logget ind som "+whom(a), pagesNotForYou)
			return
		}
		tok, err := p.Sessions.Issue(a, SessionTTL)
		if err != nil {
			p.Log.Error("sign-in: the session cannot be signed", "provider", k, "err", err)
			p.problem(w, r, nil, http.StatusInternalServerError, "Du kan ikke logge ind lige nu", "Prøv igen om lidt.")
			return
		}
		p.Log.Info("signed in", "provider", k, "person", prof.Person, "role", prof.Role)
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: providerCookie, Value: string(k), Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
		to := "/indbakke"
		if a.Role == domain.RoleCitizen {
			to = "/moeder"
		}
		http.Redirect(w, r, to+"?gemt=logget-ind", http.StatusSeeOther)
	}
}

// endSession is where the browser goes after signing out: the provider's end-session endpoint
// when the session came from a provider that offers one, else the front page.
func (p *Pages) endSession(r *http.Request) string {
	c, err := r.Cookie(providerCookie)
	if err != nil {
		return "/"
	}
	prov, ok := p.Providers[auth.ProviderKind(c.Value)]
	if !ok || p.PublicURL == "" {
		return "/"
	}
	if u := prov.EndSessionURL(r.Context(), strings.TrimRight(p.PublicURL, "/")+"/"); u != "" {
		return u
	}
	return "/"
}

// directoryGroup is one service's professionals in the staff directory.
type directoryGroup struct {
	Service string
	People  []auth.Profile
}

// directory is the staff directory by service, for the invitation page; empty without one.
func (p *Pages) directory() []directoryGroup {
	if p.People == nil {
		return nil
	}
	var out []directoryGroup
	for _, pr := range p.People.Professionals("") {
		if n := len(out); n == 0 || out[n-1].Service != pr.Service {
			out = append(out, directoryGroup{Service: pr.Service})
		}
		out[len(out)-1].People = append(out[len(out)-1].People, pr)
	}
	return out
}
