package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/web"
	"github.com/aabendialog/aabendialog/internal/testidp"
	"github.com/aabendialog/aabendialog/projections"
)

// syncBuf is a log that the test reads while the server writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// oidcEnv is the pages with sign-in through two real OpenID Connect providers running in the
// test process (mockoidc: discovery, JWKS, authorization code with PKCE, one-time codes).
type oidcEnv struct {
	*webEnv
	citizenIdP, staffIdP *mockoidc.MockOIDC
	people               *auth.People
	staff                *auth.Provider
	log                  *syncBuf
	endSession           string // the staff provider's end_session_endpoint, when it offers one
}

// withEndSession makes a provider's discovery document offer an end-session endpoint, as Entra
// ID's does; mockoidc's has none.
func withEndSession(endpoint *string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.DiscoveryEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var doc map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &doc)
			doc["end_session_endpoint"] = *endpoint
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(doc)
		})
	}
}

// newOIDCEnv starts the providers of kinds (both when none are named).
func newOIDCEnv(t *testing.T, kinds ...auth.ProviderKind) *oidcEnv {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []auth.ProviderKind{auth.CitizenProvider, auth.StaffProvider}
	}
	e := newEnv(t)
	o := &oidcEnv{log: &syncBuf{}}
	log := slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	models := e.readModels(log)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var err error
	if o.people, err = auth.OpenPeople(ctx, e.store.JetStream(), 1, time.Now, log); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	providers := map[auth.ProviderKind]web.SignInProvider{}
	for _, k := range kinds {
		var mw func(http.Handler) http.Handler
		if k == auth.StaffProvider {
			mw = withEndSession(&o.endSession)
		}
		idp := testidp.Start(t, mw)
		_, callback := web.ProviderPaths(k)
		prov := auth.NewProvider(auth.ProviderConfig{Kind: k, Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			RedirectURL: srv.URL + callback})
		providers[k] = prov
		if k == auth.CitizenProvider {
			o.citizenIdP = idp
		} else {
			o.staffIdP, o.staff = idp, prov
			// The staff provider offers an end-session endpoint, as Entra ID does.
			o.endSession = idp.Addr() + "/oidc/logout"
			e.verify.Staff, e.verify.People = prov, o.people
		}
	}
	q := &projections.Queries{MeetingsModel: models[0], ServicesModel: models[1], Now: e.clock.Now}
	if handler, err = (&web.Pages{Service: e.service, Queries: e.reads(q), Verifier: e.verify, Log: log,
		NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, Now: e.clock.Now, CSRFKey: make([]byte, 32),
		Providers: providers, People: o.people, Sessions: e.signer, PublicURL: srv.URL}).Handler(); err != nil {
		t.Fatal(err)
	}
	o.webEnv = &webEnv{env: e, pages: srv, queries: q}
	return o
}

// browser is a visitor that signs in through a provider: its own cookies, no automatic
// redirects, so each step can be looked at (and replayed).
func (o *oidcEnv) browser() *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: o.t.(*testing.T), w: o.webEnv, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// toProvider starts a sign-in and follows the provider's redirect back: it returns the callback
// URL the provider sent (with code and state), not yet visited.
func (o *oidcEnv) toProvider(v *visitor, k auth.ProviderKind, u *testidp.User) string {
	o.t.Helper()
	idp := o.citizenIdP
	if k == auth.StaffProvider {
		idp = o.staffIdP
	}
	idp.QueueUser(u)
	start, callback := web.ProviderPaths(k)
	st, loc := v.post(start, url.Values{})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, idp.AuthorizationEndpoint()) {
		o.t.Fatalf("start of sign-in: %d to %q", st, loc)
	}
	auth, _ := url.Parse(loc)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if auth.Query().Get(p) == "" {
			o.t.Fatalf("the authorization request has no %s: %s", p, loc)
		}
	}
	if auth.Query().Get("code_challenge_method") != "S256" {
		o.t.Fatalf("the authorization request does not use PKCE S256: %s", loc)
	}
	resp, err := v.c.Get(loc)
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, o.pages.URL+callback) {
		o.t.Fatalf("the provider answered %d to %q", resp.StatusCode, back)
	}
	return back
}

// callback visits the callback URL the provider sent.
func (o *oidcEnv) callback(v *visitor, back string) (int, string) {
	o.t.Helper()
	return v.get(strings.TrimPrefix(back, o.pages.URL))
}

// signIn goes through a whole sign-in and wants to land at want.
func (o *oidcEnv) signIn(v *visitor, k auth.ProviderKind, u *testidp.User, want string) {
	o.t.Helper()
	if st, loc := o.callback(v, o.toProvider(v, k, u)); st != http.StatusSeeOther || loc != want+"?gemt=logget-ind" {
		o.t.Fatalf("sign-in: %d to %q, want %s\n%s", st, loc, want, v.last)
	}
}

func citizenAtIdP() *testidp.User {
	return &testidp.User{Sub: "mitid-" + uuid.NewString(), Extra: map[string]any{"name": "Karin Holm", "email": "karin@example.dk", "email_verified": true}}
}

func staffAtIdP(role string, service string) *testidp.User {
	return &testidp.User{Sub: "entra-" + uuid.NewString(), Extra: map[string]any{"name": "Bo Jensen", "email": "bo@kommune.dk", "email_verified": true,
		"groups": []string{"Alle ansatte", role}, "department": service}}
}

func (o *oidcEnv) peopleEntries() uint64 {
	o.t.Helper()
	s, err := o.store.JetStream().Stream(context.Background(), auth.PeopleStream)
	if err != nil {
		o.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		o.t.Fatal(err)
	}
	return info.State.Msgs
}

// TestSignInThroughProviders: a citizen signs in with the citizens' provider and lands on their
// meetings, a professional with the staff provider lands on their inbox and is in the
// directory; the first sign-in links the identity to a new person id by an event, later ones
// find the same person, also after a restart, and nothing of the codes or tokens is logged.
func TestSignInThroughProviders(t *testing.T) {
	o := newOIDCEnv(t)
	front := o.browser()
	if st, _ := front.get("/"); st != http.StatusOK || !strings.Contains(front.last, "Log ind med MitID") || !strings.Contains(front.last, "Log ind som medarbejder") {
		t.Fatalf("the front page does not offer both providers: %d\n%s", st, front.last)
	}

	// The start of sign-in is a form answered with a redirect to the provider, which browsers
	// hold to the page's form-action.
	resp, err := http.Get(o.pages.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, idp := range []*mockoidc.MockOIDC{o.citizenIdP, o.staffIdP} {
		if !strings.Contains(csp, "form-action 'self' ") || !strings.Contains(csp, " "+strings.TrimSuffix(idp.Addr(), "/")) {
			t.Errorf("the front page's form-action does not allow the provider %s: %s", idp.Addr(), csp)
		}
	}

	karin := citizenAtIdP()
	v := o.browser()
	o.signIn(v, auth.CitizenProvider, karin, "/moeder")
	if st, _ := v.get("/moeder"); st != http.StatusOK {
		t.Fatalf("the citizen's meetings after sign-in: %d\n%s", st, v.last)
	}
	if n := o.peopleEntries(); n != 1 {
		t.Fatalf("the people log has %d entries after the first sign-in, want 1", n)
	}
	// The session is an ordinary one: the citizen convenes a meeting under their person id.
	first := v.submit("/moeder/nyt", "title", "Min plan")
	m := strings.TrimSuffix(strings.TrimPrefix(strings.Split(first, "?")[0], "/moeder/"), "/dagsorden")
	again := o.browser()
	o.signIn(again, auth.CitizenProvider, karin, "/moeder")
	if st, _ := again.see("/moeder/" + m); st != http.StatusOK {
		t.Fatalf("the same citizen, signed in again, cannot see their meeting: %d", st)
	}
	if n := o.peopleEntries(); n != 1 {
		t.Fatalf("signing in again with the same profile wrote to the people log: %d entries", n)
	}
	// Another person at the same provider is another person here.
	other := o.browser()
	o.signIn(other, auth.CitizenProvider, citizenAtIdP(), "/moeder")
	if st, _ := other.see("/moeder/" + m); st != http.StatusNotFound {
		t.Fatalf("another citizen sees the meeting: %d", st)
	}

	bo := staffAtIdP("professional", "jobcenter")
	pro := o.browser()
	o.signIn(pro, auth.StaffProvider, bo, "/indbakke")
	if st, _ := pro.get("/indbakke"); st != http.StatusOK {
		t.Fatalf("the professional's inbox: %d\n%s", st, pro.last)
	}
	dir := o.people.Professionals("")
	if len(dir) != 1 || dir[0].Name != "Bo Jensen" || dir[0].Service != "Jobcenter" {
		t.Fatalf("the directory: %+v", dir)
	}

	// The citizen invites him from the directory on the invitation page.
	if st, _ := v.see("/moeder/" + m + "/inviter"); st != http.StatusOK || !strings.Contains(v.last, "Inviter Bo Jensen") {
		t.Fatalf("the invitation page does not offer the directory: %d\n%s", st, v.last)
	}

	// A restart reads the links from the log: the same identity is the same person.
	people2, err := auth.OpenPeople(context.Background(), o.store.JetStream(), 1, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if d := people2.Professionals(""); len(d) != 1 || d[0].Person != dir[0].Person {
		t.Fatalf("after a restart the directory is %+v, want %+v", d, dir)
	}

	logs := o.log.String()
	for _, secret := range []string{"eyJ", "code=", o.citizenIdP.ClientSecret, "Karin", "karin@example.dk", karin.Sub} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// TestSignInRefusals: every way a sign-in can be wrong is refused, and refused before a
// session exists.
func TestSignInRefusals(t *testing.T) {
	o := newOIDCEnv(t)
	noSession := func(v *visitor, what string) {
		t.Helper()
		if st, _ := v.get("/moeder"); st != http.StatusUnauthorized {
			t.Errorf("%s: after the refusal the browser has a session (%d)", what, st)
		}
	}

	t.Run("forged state", func(t *testing.T) {
		v := o.browser()
		back, _ := url.Parse(o.toProvider(v, auth.CitizenProvider, citizenAtIdP()))
		q := back.Query()
		q.Set("state", "forged")
		back.RawQuery = q.Encode()
		if st, _ := o.callback(v, back.String()); st != http.StatusBadRequest {
			t.Fatalf("a forged state: %d, want 400\n%s", st, v.last)
		}
		noSession(v, "forged state")
	})
	t.Run("callback without a flow of this browser", func(t *testing.T) {
		back := o.toProvider(o.browser(), auth.CitizenProvider, citizenAtIdP())
		stranger := o.browser() // another browser: the attacker's code, sent to a victim
		if st, _ := o.callback(stranger, back); st != http.StatusBadRequest {
			t.Fatalf("a callback this browser did not start: %d, want 400", st)
		}
		noSession(stranger, "foreign callback")
	})
	t.Run("replayed code", func(t *testing.T) {
		v := o.browser()
		back := o.toProvider(v, auth.CitizenProvider, citizenAtIdP())
		u, _ := url.Parse(o.pages.URL + "/log-ind/borger/retur")
		kept := v.c.Jar.Cookies(u)
		if len(kept) == 0 {
			t.Fatal("no flow cookie to copy")
		}
		if st, _ := o.callback(v, back); st != http.StatusSeeOther {
			t.Fatalf("first use of the code: %d", st)
		}
		replay := o.browser()
		replay.c.Jar.SetCookies(u, kept) // the flow's cookie, copied
		if st, _ := o.callback(replay, back); st != http.StatusUnauthorized {
			t.Fatalf("a replayed code: %d, want 401\n%s", st, replay.last)
		}
		noSession(replay, "replayed code")
	})
	for name, change := range map[string]func(jwt.MapClaims){
		"wrong audience": func(c jwt.MapClaims) { c["aud"] = []string{"another-service"} },
		"expired ID token": func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		},
		"nonce mismatch": func(c jwt.MapClaims) { c["nonce"] = "someone-else's" },
		"no nonce":       func(c jwt.MapClaims) { delete(c, "nonce") },
		"wrong issuer":   func(c jwt.MapClaims) { c["iss"] = "https://idp.example" },
	} {
		t.Run(name, func(t *testing.T) {
			v := o.browser()
			u := citizenAtIdP()
			u.Override = change
			if st, _ := o.callback(v, o.toProvider(v, auth.CitizenProvider, u)); st != http.StatusUnauthorized {
				t.Fatalf("%s: %d, want 401\n%s", name, st, v.last)
			}
			noSession(v, name)
		})
	}
	for name, u := range map[string]*testidp.User{
		"unknown role":                  staffAtIdP("cleaner", "Jobcenter"),
		"two roles":                     staffAtIdP("professional", "Jobcenter"),
		"service outside the catalogue": staffAtIdP("professional", "Min bror Oluf"),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "two roles" {
				u.Extra["groups"] = []string{"professional", "admin"}
			}
			v := o.browser()
			before := o.peopleEntries()
			if st, _ := o.callback(v, o.toProvider(v, auth.StaffProvider, u)); st != http.StatusForbidden || !strings.Contains(v.last, "Bed ") {
				t.Fatalf("%s: %d, want 403 with what to do\n%s", name, st, v.last)
			}
			if o.peopleEntries() != before {
				t.Errorf("%s: a refused sign-in was linked to a person", name)
			}
		})
	}
	t.Run("key rotation", func(t *testing.T) {
		kp, err := mockoidc.RandomKeypair(2048)
		if err != nil {
			t.Fatal(err)
		}
		o.citizenIdP.Keypair = kp
		o.signIn(o.browser(), auth.CitizenProvider, citizenAtIdP(), "/moeder")
	})
	if logs := o.log.String(); strings.Contains(logs, "eyJ") {
		t.Errorf("a token reached the log:\n%s", logs)
	}
}

// TestSignInProviderNotConfigured: with only the citizens' provider, the staff one is neither
// offered nor reachable.
func TestSignInProviderNotConfigured(t *testing.T) {
	o := newOIDCEnv(t, auth.CitizenProvider)
	v := o.browser()
	if st, _ := v.get("/"); st != http.StatusOK || strings.Contains(v.last, "Log ind som medarbejder") || !strings.Contains(v.last, "Log ind med MitID") {
		t.Fatalf("the front page: %d\n%s", st, v.last)
	}
	for _, path := range []string{"/log-ind/medarbejder", "/log-ind/medarbejder/retur?code=x&state=y"} {
		method := "GET"
		if !strings.Contains(path, "retur") {
			method = "POST"
		}
		var st int
		if method == "POST" {
			st, _ = v.post(path, url.Values{})
		} else {
			st, _ = v.get(path)
		}
		if st != http.StatusNotFound && st != http.StatusMethodNotAllowed {
			t.Errorf("%s %s without a staff provider: %d", method, path, st)
		}
	}
}

// TestSignInEvaluatorGetsNoSession: an evaluator or administrator from the staff provider is
// linked to a person (so their access tokens name it on the API) but is told the pages are not
// theirs and gets no session cookie.
func TestSignInEvaluatorGetsNoSession(t *testing.T) {
	o := newOIDCEnv(t, auth.StaffProvider)
	for _, role := range []string{"evaluator", "admin"} {
		v := o.browser()
		st, _ := o.callback(v, o.toProvider(v, auth.StaffProvider, staffAtIdP(role, "")))
		if st != http.StatusForbidden || !strings.Contains(v.last, "Evaluatorer og administratorer bruger evalueringen") {
			t.Fatalf("%s: the callback answered %d\n%s", role, st, v.last)
		}
		u, _ := url.Parse(o.pages.URL)
		for _, c := range v.c.Jar.Cookies(u) {
			if c.Name == web.SessionCookie {
				t.Fatalf("%s: a session cookie was set", role)
			}
		}
		if st, _ := v.get("/indbakke"); st != http.StatusUnauthorized {
			t.Fatalf("%s: the inbox after sign-in answered %d, want 401", role, st)
		}
	}
	if n := o.peopleEntries(); n != 2 {
		t.Fatalf("the people log has %d entries, want the two persons linked", n)
	}
	if d := o.people.Professionals(""); len(d) != 0 {
		t.Fatalf("evaluators and administrators are in the staff directory: %+v", d)
	}
}

// TestSignInStartOnlyFromThisSite: another site cannot start a sign-in in someone's browser.
func TestSignInStartOnlyFromThisSite(t *testing.T) {
	o := newOIDCEnv(t, auth.CitizenProvider)
	v := o.browser()
	if st, _ := v.post("/log-ind/borger", url.Values{}, "Sec-Fetch-Site", "cross-site"); st != http.StatusForbidden {
		t.Fatalf("a cross-site start of sign-in: %d, want 403", st)
	}
}

// TestSignOutEndsTheProviderSession: signing out of a session from the staff provider revokes
// our session and sends the browser on to the provider's end-session endpoint.
func TestSignOutEndsTheProviderSession(t *testing.T) {
	o := newOIDCEnv(t)
	v := o.browser()
	o.signIn(v, auth.StaffProvider, staffAtIdP("professional", "Jobcenter"), "/indbakke")
	st, loc := v.post("/log-ud", v.form("/indbakke"))
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, o.endSession+"?") || !strings.Contains(loc, "post_logout_redirect_uri="+url.QueryEscape(o.pages.URL+"/")) {
		t.Fatalf("sign-out: %d to %q, want the provider's end-session endpoint", st, loc)
	}
	if st, _ := v.get("/indbakke"); st != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d", st)
	}
	// A citizen's provider without an end-session endpoint: back to the front page.
	c := o.browser()
	o.signIn(c, auth.CitizenProvider, citizenAtIdP(), "/moeder")
	if st, loc := c.post("/log-ud", c.form("/moeder")); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("citizen sign-out: %d to %q", st, loc)
	}
}

// TestStaffProviderTokensOnTheAPI: an API client's access token from the staff provider is
// accepted on the API as the person it names, with the role and service of its claims; a token
// for another audience, an expired one, one signed by another key, and one without a role are
// refused; a signed-out one stops working.
func TestStaffProviderTokensOnTheAPI(t *testing.T) {
	o := newOIDCEnv(t)
	o.api.Directory = o.people
	api := httptest.NewServer(o.api.Handler())
	t.Cleanup(api.Close)
	bo := staffAtIdP("professional", "Jobcenter")
	o.signIn(o.browser(), auth.StaffProvider, bo, "/indbakke") // as the pages know him
	person := o.people.Professionals("")[0].Person

	token := func(change func(jwt.MapClaims), kp *mockoidc.Keypair) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": o.staffIdP.Issuer(), "sub": bo.Sub, "aud": o.staffIdP.ClientID, "exp": now.Add(10 * time.Minute).Unix(),
			"iat": now.Unix(), "jti": uuid.NewString(), "groups": []string{"professional"}, "department": "Jobcenter"}
		if change != nil {
			change(c)
		}
		if kp == nil {
			kp = o.staffIdP.Keypair
		}
		s, err := kp.SignJWT(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	get := func(tok, path string) (int, []byte) {
		req, _ := http.NewRequest("GET", api.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	good := token(nil, nil)
	a, err := o.verify.Actor(good)
	if err != nil || a.ID != person || a.Role != domain.RoleProfessional || a.Service != "Jobcenter" {
		t.Fatalf("the staff provider's token: %+v, %v; want the professional %s", a, err, person)
	}
	st, body := get(good, "/api/v1/directory")
	var dir []httpapi.DirectoryEntry
	if st != http.StatusOK || json.Unmarshal(body, &dir) != nil || len(dir) != 1 || dir[0].PersonID != person || strings.Contains(string(body), "bo@kommune.dk") {
		t.Fatalf("the directory over the API: %d %s", st, body)
	}
	if d := o.people.Professionals(""); len(d) != 1 || d[0].Name != "Bo Jensen" {
		t.Fatalf("an access token without a name claim changed the directory: %+v", d)
	}
	other, _ := mockoidc.RandomKeypair(2048)
	for name, tok := range map[string]string{
		"another audience": token(func(c jwt.MapClaims) { c["aud"] = "another-service" }, nil),
		"expired":          token(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil),
		"another key":      token(nil, other),
		"no role":          token(func(c jwt.MapClaims) { c["groups"] = []string{"Alle ansatte"} }, nil),
	} {
		if st, body := get(tok, "/api/v1/directory"); st != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, st, body)
		}
	}
	if err := o.verify.Revoke(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	if st, _ := get(good, "/api/v1/directory"); st != http.StatusUnauthorized {
		t.Fatalf("a signed-out staff token: %d, want 401", st)
	}
}

// TestInviteByEmailBindsAtFirstSignIn: a citizen invites a professional who has never signed
// in, by address; the first sign-in with that address verified is that invitee, and sees the
// invitation. An unverified address binds nothing, and without a provider an address is refused.
func TestInviteByEmailBindsAtFirstSignIn(t *testing.T) {
	o := newOIDCEnv(t)
	o.service.Addresses = o.people
	v := o.browser()
	o.signIn(v, auth.CitizenProvider, citizenAtIdP(), "/moeder")
	first := v.submit("/moeder/nyt", "title", "Min plan")
	m := strings.TrimSuffix(strings.TrimPrefix(strings.Split(first, "?")[0], "/moeder/"), "/dagsorden")
	v.submit("/moeder/"+m+"/inviter", "name", "Ny Fagperson", "kind", "professional", "service", "Jobcenter", "email", "Ny@Kommune.dk")

	impostor := staffAtIdP("professional", "Jobcenter")
	impostor.Extra["email"], impostor.Extra["email_verified"] = "ny@kommune.dk", false
	iv := o.browser()
	o.signIn(iv, auth.StaffProvider, impostor, "/indbakke")
	if st, _ := iv.see("/moeder/" + m); st != http.StatusNotFound {
		t.Fatalf("a sign-in with the address unverified sees the meeting: %d", st)
	}
	ny := staffAtIdP("professional", "Jobcenter")
	ny.Extra["email"] = "ny@kommune.dk"
	nv := o.browser()
	o.signIn(nv, auth.StaffProvider, ny, "/indbakke")
	if st, _ := nv.see("/moeder/" + m); st != http.StatusOK {
		t.Fatalf("the invitee by address, signed in with it verified, cannot see the meeting: %d\n%s", st, nv.last)
	}

	plain := newWebEnv(t) // no provider: no invitations by address
	c := plain.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	if _, err := plain.service.Handle(context.Background(), c.a, uuid.New(), &domain.InviteParticipant{Meeting: uuid.New(), Name: "N", Kind: domain.KindProfessional, Service: "Jobcenter", Email: "ny@kommune.dk"}); err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("an invitation by address without a provider: %v, want refused naming email", err)
	}
}
