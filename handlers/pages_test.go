package handlers_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/web"
	"github.com/aabendialog/aabendialog/projections"
)

// webEnv is env with read models and the pages on a test server.
type webEnv struct {
	*env
	pages   *httptest.Server
	queries *projections.Queries
}

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	e := newEnv(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	models := e.readModels(log)
	q := &projections.Queries{MeetingsModel: models[0], ServicesModel: models[1], Now: e.clock.Now}
	h, err := (&web.Pages{Service: e.service, Queries: e.reads(q), Verifier: e.verify, Log: log,
		NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, Now: e.clock.Now, CSRFKey: make([]byte, 32),
		Access: e.reads(q), Mandates: e.service, AccessLogDays: 180}).Handler()
	if err != nil {
		t.Fatal(err)
	}
	w := &webEnv{env: e, pages: httptest.NewServer(h), queries: q}
	t.Cleanup(w.pages.Close)
	return w
}

// readModels opens both read models in temporary directories and has them follow the log
// until the test ends.
func (e *env) readModels(log *slog.Logger) []*projections.Projector {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	var models []*projections.Projector
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, e.t.TempDir(), proj, e.store, log)
		if err != nil {
			e.t.Fatal(err)
		}
		models = append(models, p)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx) }()
		e.t.Cleanup(func() { cancel(); <-done; _ = p.Close() })
	}
	return models
}

// visitor is one browser: its own cookies, no automatic redirects.
type visitor struct {
	t    *testing.T
	a    domain.Actor
	w    *webEnv
	c    *http.Client
	last string // the body of the last page
}

func (w *webEnv) visitor(a domain.Actor) *visitor {
	w.t.Helper()
	jar, _ := cookiejar.New(nil)
	v := &visitor{t: w.t.(*testing.T), a: a, w: w, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if a.ID != uuid.Nil {
		v.signIn()
	}
	return v
}

// signIn follows a sign-in link with a fresh token.
func (v *visitor) signIn() {
	v.t.Helper()
	tok := v.w.token(v.a)
	if st, _ := v.get("/log-ind?token=" + url.QueryEscape(tok)); st != http.StatusOK || hidden(v.last).Get("token") != tok {
		v.t.Fatalf("sign-in link: %d, want 200 with a button that posts the token", st)
	}
	if st, loc := v.post("/log-ind", url.Values{"token": {tok}}); st != http.StatusSeeOther || loc != "/?gemt=logget-ind" {
		v.t.Fatalf("sign in: %d to %q", st, loc)
	}
}

func (v *visitor) do(req *http.Request) (int, string) {
	v.t.Helper()
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v.last = string(b)
	return resp.StatusCode, resp.Header.Get("Location")
}

// see opens a page once the read models have all that is in the log.
func (v *visitor) see(path string) (int, string) {
	v.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return v.get(path + sep + "efter=" + strconv.FormatUint(v.w.lastSeq(), 10))
}

func (v *visitor) get(path string) (int, string) {
	v.t.Helper()
	req, _ := http.NewRequest("GET", v.w.pages.URL+path, nil)
	return v.do(req)
}

// post sends a form as a browser on the same site does.
func (v *visitor) post(path string, form url.Values, header ...string) (int, string) {
	v.t.Helper()
	req, _ := http.NewRequest("POST", v.w.pages.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return v.do(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_.]+)" value="([^"]*)">`)

// form opens a page, once the read models have all that is in the log, and returns the hidden
// fields of its first form (token and ids) with the given values.
func (v *visitor) form(path string, fields ...string) url.Values {
	v.t.Helper()
	if st, _ := v.see(path); st != http.StatusOK {
		v.t.Fatalf("GET %s: %d\n%s", path, st, v.last)
	}
	f := url.Values{}
	f = hidden(v.last)
	for i := 0; i+1 < len(fields); i += 2 {
		f.Add(fields[i], fields[i+1])
	}
	return f
}

// hidden returns the hidden fields of a page's first form.
func hidden(page string) url.Values {
	f := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		if f.Get(m[1]) == "" {
			f.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	return f
}

// submit opens the page, fills and sends its form, and wants the redirect that follows a command.
func (v *visitor) submit(path string, fields ...string) string {
	v.t.Helper()
	st, loc := v.post(path, v.form(path, fields...))
	if st != http.StatusSeeOther {
		v.t.Fatalf("POST %s: %d, want 303\n%s", path, st, v.last)
	}
	return loc
}

func (w *webEnv) lastSeq() uint64 {
	w.t.Helper()
	n, err := w.store.LastSeq(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// meeting has a citizen convene a meeting through the pages, with an agenda and a professional
// invited; it returns the meeting's path.
func (w *webEnv) meeting(citizen *visitor, pro domain.Actor) string {
	w.t.Helper()
	loc := citizen.submit("/moeder/nyt", "title", "Mit møde")
	path := strings.TrimSuffix(loc[:strings.Index(loc, "?")], "/dagsorden")
	citizen.submit(path+"/dagsorden", "items", "At sove bedre\nArbejde")
	citizen.submit(path+"/inviter", "name", "Karin Holm", "kind", "professional", "service", pro.Service, "participant", pro.ID.String())
	return path
}

func TestPagesRefuseWithoutSignIn(t *testing.T) {
	w := newWebEnv(t)
	anon := w.visitor(domain.Actor{})
	for _, path := range []string{"/moeder", "/indbakke", "/moeder/nyt", "/moeder/" + uuid.NewString()} {
		if st, _ := anon.get(path); st != http.StatusUnauthorized || !strings.Contains(anon.last, "Du skal logge ind") {
			t.Errorf("GET %s without sign-in: %d, want 401 with the sign-in page", path, st)
		}
	}
	if st, _ := anon.post("/log-ind", url.Values{"token": {"not-a-token"}}); st != http.StatusUnauthorized || !strings.Contains(anon.last, "Koden er ikke gyldig") {
		t.Errorf("sign-in with a bad token: %d\n%s", st, anon.last)
	}
	for _, role := range []domain.Role{domain.RoleEvaluator, domain.RoleAdmin} {
		v := w.visitor(domain.Actor{ID: uuid.New(), Role: role})
		if st, _ := v.get("/moeder"); st != http.StatusForbidden || !strings.Contains(v.last, "Ingen adgang") {
			t.Errorf("%s on the pages: %d, want 403", role, st)
		}
	}
}

func TestPagesFormTokens(t *testing.T) {
	w := newWebEnv(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	v := w.visitor(citizen)
	form := v.form("/moeder/nyt", "title", "Hemmeligt møde")
	before := w.lastSeq()

	cases := []struct {
		name   string
		form   url.Values
		header []string
		want   string
	}{
		{"forged token", withValue(form, "csrf", "forged"), nil, "Siden var for gammel"},
		{"no token", withValue(form, "csrf", ""), nil, "Siden var for gammel"},
		{"another site", form, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, "kom ikke fra denne hjemmeside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if st, _ := v.post("/moeder/nyt", c.form, c.header...); st != http.StatusForbidden || !strings.Contains(v.last, c.want) {
				t.Errorf("got %d, want 403 saying %q\n%s", st, c.want, v.last)
			}
			if got := w.lastSeq(); got != before {
				t.Errorf("log at %d after a refused post, want %d", got, before)
			}
		})
	}
	// A refused form comes back with what was typed.
	v.post("/moeder/nyt", withValue(form, "csrf", "forged"))
	if !strings.Contains(v.last, `value="Hemmeligt møde"`) {
		t.Error("the refused form lost the typed title")
	}

	// A form from an earlier session is stale once the person signs in again.
	v.signIn()
	if st, _ := v.post("/moeder/nyt", form); st != http.StatusForbidden {
		t.Errorf("form from the earlier session: %d, want 403", st)
	}
	if got := w.lastSeq(); got != before {
		t.Errorf("log at %d after stale posts, want %d", got, before)
	}

	// Signing out needs the token too, and then the session is gone.
	if st, _ := v.post("/log-ud", url.Values{"csrf": {"forged"}}); st != http.StatusForbidden {
		t.Errorf("sign-out with a forged token: %d, want 403", st)
	}
	fresh := v.form("/moeder")
	if st, loc := v.post("/log-ud", url.Values{"csrf": {fresh.Get("csrf")}}); st != http.StatusSeeOther || loc != "/" {
		t.Errorf("sign-out: %d to %q", st, loc)
	}
	if st, _ := v.get("/moeder"); st != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d, want 401", st)
	}
}

func withValue(v url.Values, k, s string) url.Values {
	out := url.Values{}
	for key, vs := range v {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, s)
	return out
}

// withFields is v with each of the name, value pairs set.
func withFields(v url.Values, fields ...string) url.Values {
	for i := 0; i+1 < len(fields); i += 2 {
		v = withValue(v, fields[i], fields[i+1])
	}
	return v
}

func TestPagesDoubleSubmitWritesOnce(t *testing.T) {
	w := newWebEnv(t)
	v := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	form := v.form("/moeder/nyt", "title", "Første møde")
	before := w.lastSeq()
	st1, loc1 := v.post("/moeder/nyt", form)
	st2, loc2 := v.post("/moeder/nyt", form)
	if st1 != http.StatusSeeOther || st2 != http.StatusSeeOther {
		t.Fatalf("statuses %d and %d, want 303 twice", st1, st2)
	}
	if loc1 != loc2 {
		t.Errorf("second submit went to %q, the first to %q", loc2, loc1)
	}
	if got := w.lastSeq() - before; got != 1 {
		t.Errorf("the log grew by %d commits, want 1", got)
	}
	path := strings.TrimSuffix(loc1[:strings.Index(loc1, "?")], "/dagsorden")
	agenda := v.form(path+"/dagsorden", "items", "Et punkt")
	before = w.lastSeq()
	v.post(path+"/dagsorden", agenda)
	v.post(path+"/dagsorden", agenda)
	if got := w.lastSeq() - before; got != 1 {
		t.Errorf("the agenda submitted twice grew the log by %d, want 1", got)
	}
	v.get("/moeder?efter=" + strconv.FormatUint(w.lastSeq(), 10))
	if n := strings.Count(v.last, "Første møde"); n != 1 {
		t.Errorf("Mine møder shows the meeting %d times, want 1", n)
	}
}

func TestPagesKeepOthersOut(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)

	// Another citizen: the meeting is not found, nothing of it is shown, nothing can be written.
	other := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	ownForm := other.form("/moeder/nyt") // a valid token of the other's own session
	before := w.lastSeq()
	for _, p := range []string{path, path + "/dagsorden", path + "/inviter", path + "/aflys"} {
		if st, _ := other.see(p); st != http.StatusNotFound || strings.Contains(other.last, "Mit møde") || strings.Contains(other.last, "Karin") {
			t.Errorf("GET %s by another citizen: %d, want 404 showing nothing of the meeting", p, st)
		}
	}
	post := url.Values{"csrf": {ownForm.Get("csrf")}, "command_id": {uuid.NewString()}, "reason": {"hærværk"}}
	if st, _ := other.post(path+"/aflys", post); st != http.StatusNotFound {
		t.Errorf("another citizen cancelling: %d, want 404", st)
	}
	if got := w.lastSeq(); got != before {
		t.Errorf("log moved from %d to %d on refused requests", before, got)
	}
	if st, _ := other.get("/moeder/not-a-uuid"); st != http.StatusNotFound {
		t.Errorf("malformed meeting id: %d, want 404", st)
	}

	// The invited professional sees the meeting but is never offered the agenda; a post of one
	// anyway is refused by the domain's rule, in Danish.
	p := w.visitor(pro)
	if st, _ := p.see(path); st != http.StatusOK || strings.Contains(p.last, "/dagsorden") || !strings.Contains(p.last, "At sove bedre") {
		t.Errorf("professional's meeting page: %d, offers the agenda or lacks it", st)
	}
	if st, _ := p.get(path + "/dagsorden"); st != http.StatusForbidden || !strings.Contains(p.last, "Det er borgeren, der bestemmer dagsordenen") {
		t.Errorf("professional on the agenda page: %d, want 403", st)
	}
	pf := p.form(path + "/svar")
	forged := url.Values{"csrf": {pf.Get("csrf")}, "command_id": {uuid.NewString()}, "items": {"Min egen dagsorden"}}
	if st, _ := p.post(path+"/dagsorden", forged); st != http.StatusForbidden || !strings.Contains(p.last, "Det har du ikke lov til") {
		t.Errorf("professional posting an agenda: %d\n%s", st, p.last)
	}
	if got := w.lastSeq(); got != before {
		t.Error("a refused agenda was written")
	}
}

func TestPagesSpeakDanishAndKeepWhatWasTyped(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)

	cases := []struct {
		name, page string
		fields     []string
		status     int
		want, kept string
	}{
		{"missing name", "/inviter", []string{"name", "", "kind", "network"}, 400, "Navnet mangler", ""},
		{"name too long", "/inviter", []string{"name", strings.Repeat("å", 201), "kind", "network"}, 400, "Navnet må højst være 200 tegn", strings.Repeat("å", 201)},
		{"already invited", "/inviter", []string{"name", "Karin igen", "kind", "professional", "service", "Jobcenter", "participant", pro.ID.String()}, 409, "Personen er allerede inviteret", "Karin igen"},
		{"bad employee id", "/inviter", []string{"name", "Ole", "kind", "professional", "service", "Jobcenter", "participant", "12345"}, 400, "Medarbejder-id&#39;et ser ikke rigtigt ud", "Ole"},
		{"time gone", "/tid-og-sted", []string{"date", "2020-01-01", "time", "10:00", "place", "home"}, 400, "Tidspunktet er allerede gået", "2020-01-01"},
		{"no address", "/tid-og-sted", []string{"date", "2030-01-01", "time", "10:00", "place", "chosen"}, 400, "Skriv adressen", "2030-01-01"},
		{"bad date", "/tid-og-sted", []string{"date", "1. januar", "time", "10:00", "place", "home"}, 400, "Skriv datoen som dag.måned.år", "1. januar"},
		{"empty agenda", "/dagsorden", []string{"items", " \n "}, 400, "Skriv mindst ét punkt", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := w.lastSeq()
			f := citizen.form(path+c.page, c.fields...)
			f.Del("items")
			for i := 0; i+1 < len(c.fields); i += 2 {
				f.Set(c.fields[i], c.fields[i+1])
			}
			st, _ := citizen.post(path+c.page, f)
			if st != c.status || !strings.Contains(citizen.last, c.want) {
				t.Errorf("got %d, want %d saying %q\n%s", st, c.status, c.want, citizen.last)
			}
			if c.kept != "" && !strings.Contains(citizen.last, c.kept) {
				t.Errorf("the form lost %q", c.kept)
			}
			if got := w.lastSeq(); got != before {
				t.Error("a refused form was written")
			}
		})
	}

	// The meeting is scheduled; before its time, attendance is refused with the domain's rule in
	// Danish; an hour before, it can be recorded, and the citizen must be among those present.
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	at := w.clock.Now().Add(48 * time.Hour).In(cph).Truncate(time.Minute)
	citizen.submit(path+"/tid-og-sted", "date", at.Format(time.DateOnly), "time", at.Format("15:04"), "place", "home")
	// The page is not offered yet; a post anyway meets the domain's rule.
	if st, _ := citizen.see(path + "/fremmoede"); st != http.StatusForbidden {
		t.Errorf("attendance page two days early: %d, want 403", st)
	}
	tok := citizen.form(path + "/dagsorden")
	f := url.Values{"csrf": {tok.Get("csrf")}, "command_id": {uuid.NewString()}, "present": {citizen.a.ID.String()}}
	if st, _ := citizen.post(path+"/fremmoede", f); st != http.StatusConflict || !strings.Contains(citizen.last, "først skrives ned fra en time før mødet") {
		t.Errorf("attendance two days early: %d\n%s", st, citizen.last)
	}
	w.clock.Set(at.Add(-30 * time.Minute))
	citizen.signIn() // the first token has expired meanwhile
	f = citizen.form(path + "/fremmoede")
	f.Del("present")
	if st, _ := citizen.post(path+"/fremmoede", f); st != http.StatusBadRequest || !strings.Contains(citizen.last, "Borgeren skal være med") {
		t.Errorf("attendance without the citizen: %d", st)
	}
}

func TestPagesKeepWhatWasTypedWhenTheSessionRunsOut(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	typed := "Hvordan jeg får det bedre\nMin økonomi & mine børn"
	form := citizen.form(path+"/dagsorden", "items", typed)

	// The token runs out while the citizen types: the post is not carried out, and the sign-in
	// page carries what was typed.
	w.clock.Set(w.clock.Now().Add(2 * time.Hour))
	before := w.lastSeq()
	if st, _ := citizen.post(path+"/dagsorden", form); st != http.StatusUnauthorized || !strings.Contains(citizen.last, "Du blev logget ud, mens du skrev") {
		t.Fatalf("post after the token ran out: %d\n%s", st, citizen.last)
	}
	if w.lastSeq() != before {
		t.Fatal("a post without a valid session was written")
	}
	signIn := hidden(citizen.last)
	if signIn.Get("keep.items") != typed || signIn.Get("return") != path+"/dagsorden" {
		t.Fatalf("the sign-in page keeps %q for %q", signIn.Get("keep.items"), signIn.Get("return"))
	}

	// Signing in again brings the form back, filled in, under the new session.
	signIn.Set("token", w.token(citizen.a))
	if st, _ := citizen.post("/log-ind", signIn); st != http.StatusOK || !strings.Contains(citizen.last, "Du er logget ind igen") {
		t.Fatalf("sign-in with a kept form: %d\n%s", st, citizen.last)
	}
	if !strings.Contains(citizen.last, html.EscapeString(typed)) {
		t.Errorf("the form came back without what was typed:\n%s", citizen.last)
	}
	again := hidden(citizen.last)
	again.Set("items", typed)
	if st, _ := citizen.post(path+"/dagsorden", again); st != http.StatusSeeOther {
		t.Fatalf("sending the restored form: %d\n%s", st, citizen.last)
	}
	citizen.see(path)
	if !strings.Contains(citizen.last, html.EscapeString("Min økonomi & mine børn")) {
		t.Error("the agenda typed before the session ran out was not saved")
	}

	// A return address outside the pages is not followed.
	signIn.Set("return", "//evil.example/moeder/")
	if st, loc := citizen.post("/log-ind", signIn); st != http.StatusSeeOther || loc != "/?gemt=logget-ind" {
		t.Errorf("sign-in with a foreign return address: %d to %q", st, loc)
	}
}

func TestPagesForASupportPerson(t *testing.T) {
	w := newWebEnv(t)
	citizenID := uuid.New()
	sa := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: citizenID}
	w.grant(sa)
	support := w.visitor(sa)
	loc := support.submit("/moeder/nyt", "title", "Møde med min bisidder")
	path := strings.TrimSuffix(loc[:strings.Index(loc, "?")], "/dagsorden")
	support.submit(path+"/dagsorden", "items", "Bolig")

	citizen := w.visitor(domain.Actor{ID: citizenID, Role: domain.RoleCitizen})
	citizen.see("/moeder")
	if !strings.Contains(citizen.last, "Møde med min bisidder") {
		t.Error("the citizen does not see the meeting their support person convened")
	}
	oa := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: uuid.New()}
	w.grant(oa)
	other := w.visitor(oa)
	if st, _ := other.see(path); st != http.StatusNotFound {
		t.Errorf("a support person for another citizen: %d, want 404", st)
	}
}

func TestPagesFollowUpsBelongToTheirOwner(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	pro2 := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Sundhed og Ældre"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	citizen.submit(path+"/inviter", "name", "Bo Lund", "kind", "professional", "service", pro2.Service, "participant", pro2.ID.String())
	at := w.clock.Now().Add(2 * time.Hour).Truncate(time.Minute)
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	citizen.submit(path+"/tid-og-sted", "date", at.In(cph).Format(time.DateOnly), "time", at.In(cph).Format("15:04"), "place", "online")
	p1, p2 := w.visitor(pro), w.visitor(pro2)
	p1.submit(path+"/svar", "answer", "ja")
	p2.submit(path+"/svar", "answer", "ja", "reason", "ignored with a yes")

	w.clock.Set(at.Add(10 * time.Minute))
	citizen.signIn()
	p1.signIn()
	p2.signIn()
	p1.submit(path+"/fremmoede", "present", citizen.a.ID.String(), "present", pro.ID.String(), "present", pro2.ID.String())
	loc := p1.submit(path+"/opfoelgning", "what", "Ring til lægen", "responsible", pro.ID.String(), "due", "2026-12-01")
	if !strings.Contains(loc, "gemt=opfoelgning") {
		t.Fatalf("after a follow-up: %q", loc)
	}
	p1.see(path)
	m := regexp.MustCompile(`/opfoelgning/([0-9a-f-]{36})/udfoert`).FindStringSubmatch(p1.last)
	if m == nil {
		t.Fatal("the responsible professional is not offered to mark the follow-up done")
	}
	done := path + "/opfoelgning/" + m[1] + "/udfoert"

	// Someone else at the meeting is neither offered it nor allowed it.
	p2.see(path)
	if strings.Contains(p2.last, "/udfoert") {
		t.Error("another participant is offered to mark the follow-up done")
	}
	if st, _ := p2.see(done); st != http.StatusForbidden {
		t.Errorf("another participant on the done page: %d, want 403", st)
	}
	tok := p2.form(path) // its sign-out form carries the session token
	before := w.lastSeq()
	if st, _ := p2.post(done, url.Values{"csrf": {tok.Get("csrf")}, "command_id": {uuid.NewString()}}); st != http.StatusForbidden || !strings.Contains(p2.last, "Det har du ikke lov til") {
		t.Errorf("another participant marking it done: %d", st)
	}
	if w.lastSeq() != before {
		t.Error("a refused completion was written")
	}
	p1.submit(done)
	citizen.see(path)
	if !strings.Contains(citizen.last, "Ring til lægen") || !strings.Contains(citizen.last, "Udført") {
		t.Error("the citizen does not see the follow-up kept")
	}
}

func TestPagesSignInOnlyFromThisSite(t *testing.T) {
	w := newWebEnv(t)
	victim := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	attacker := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	tok := w.token(attacker)

	// A link from another site only shows a button; it signs nobody in.
	req, _ := http.NewRequest("GET", w.pages.URL+"/log-ind?token="+url.QueryEscape(tok), nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 {
		t.Errorf("a sign-in link set a cookie: %v", resp.Cookies())
	}
	// A post from another site is refused, and the victim's session stays theirs.
	if st, _ := victim.post("/log-ind", url.Values{"token": {tok}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); st != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", st)
	}
	victim.see("/moeder")
	victim.submit("/moeder/nyt", "title", "Mit eget møde")
	victim.see("/moeder")
	if !strings.Contains(victim.last, "Mit eget møde") {
		t.Error("the victim's session changed hands")
	}
}

// TestSignInLinkSaysWhoAndAsks: a sign-in link says whom it signs in as, and a link for someone
// else does not replace the session signed in here without asking; the same person's fresh link
// goes through, and confirming replaces the session.
func TestSignInLinkSaysWhoAndAsks(t *testing.T) {
	w := newWebEnv(t)
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	citizen.submit("/moeder/nyt", "title", "Borgerens møde")
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	tok := w.token(pro)

	if st, _ := citizen.get("/log-ind?token=" + url.QueryEscape(tok)); st != http.StatusOK ||
		!strings.Contains(citizen.last, "Du logger ind som <strong>fagperson fra Jobcenter</strong>") ||
		!strings.Contains(citizen.last, "Der er allerede logget ind her som <strong>dig selv som borger</strong>") {
		t.Fatalf("the sign-in page does not say who you become and who is signed in: %d\n%s", st, citizen.last)
	}
	confirm := hidden(citizen.last)
	// Posting the token without the confirmation asks again and keeps the session.
	if st, _ := citizen.post("/log-ind", url.Values{"token": {tok}}); st != http.StatusConflict || !strings.Contains(citizen.last, "Der er allerede logget ind her") {
		t.Errorf("another person's token without confirmation: %d, want 409 and the question", st)
	}
	citizen.see("/moeder")
	if !strings.Contains(citizen.last, "Borgerens møde") {
		t.Fatal("the citizen's session was replaced without asking")
	}
	// The same person's fresh link replaces nothing and asks nothing.
	citizen.signIn()
	// Confirming signs the other person in.
	if st, loc := citizen.post("/log-ind", confirm); st != http.StatusSeeOther || loc != "/?gemt=logget-ind" {
		t.Fatalf("confirmed sign-in: %d to %q", st, loc)
	}
	if st, loc := citizen.get("/"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/indbakke") {
		t.Errorf("after confirming, the front page sends to %q (%d), want the professional's inbox", loc, st)
	}
}

func TestPagesHeaders(t *testing.T) {
	w := newWebEnv(t)
	for _, path := range []string{"/", "/was", "/moeder"} {
		resp, err := http.Get(w.pages.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'",
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Type":            "text/html; charset=utf-8",
			"X-Frame-Options":         "DENY",
		} {
			if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
				t.Errorf("%s: %s is %q, want %q…", path, k, got, want)
			}
		}
	}
}

// TestEvaluationReportRefusesFrames: the evaluator's HTML report may not be shown inside another
// site's frame, in browsers that read CSP and in those that only read X-Frame-Options.
func TestEvaluationReportRefusesFrames(t *testing.T) {
	w := newWebEnv(t)
	api := httptest.NewServer((&httpapi.API{Service: w.service, Verifier: w.verify, Evaluator: w.queries,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), NewID: uuid.New}).Handler())
	defer api.Close()
	req, _ := http.NewRequest("GET", api.URL+"/api/v1/evaluation/indicators?format=html", nil)
	req.Header.Set("Authorization", "Bearer "+w.token(domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options is %q, want DENY", got)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy is %q, want frame-ancestors 'none'", got)
	}
}

func TestPagesAChangedFormIsANewCommand(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	f := citizen.form(path+"/tid-og-sted", "date", "1.12.2026", "time", "10.00", "place", "home")
	if st, _ := citizen.post(path+"/tid-og-sted", f); st != http.StatusSeeOther {
		t.Fatalf("first schedule: %d\n%s", st, citizen.last)
	}
	// The same form, its date changed (back button, or a form restored by the browser).
	f.Set("date", "2026-12-02")
	before := w.lastSeq()
	if st, _ := citizen.post(path+"/tid-og-sted", f); st != http.StatusSeeOther {
		t.Fatalf("changed schedule: %d", st)
	}
	if w.lastSeq() != before+1 {
		t.Error("the changed form was answered as a repeat and not written")
	}
	citizen.see(path)
	if !strings.Contains(citizen.last, "onsdag den 2. december 2026 kl. 10.00") {
		t.Error("the meeting page does not show the changed date")
	}
}

func TestPagesRestoreOnlyForTheSamePerson(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	form := citizen.form(path+"/dagsorden", "items", strings.Repeat("Et langt punkt om min hverdag. ", 120))
	w.clock.Set(w.clock.Now().Add(2 * time.Hour))
	if st, _ := citizen.post(path+"/dagsorden", form); st != http.StatusUnauthorized {
		t.Fatalf("post after expiry: %d", st)
	}
	kept := hidden(citizen.last)
	if len(kept.Get("keep.items")) < 3000 {
		t.Fatal("the long agenda did not ride along")
	}

	// A failed sign-in keeps it on the page.
	bad := withValue(kept, "token", "wrong")
	if st, _ := citizen.post("/log-ind", bad); st != http.StatusUnauthorized || hidden(citizen.last).Get("keep.items") != kept.Get("keep.items") {
		t.Errorf("a failed sign-in dropped what was typed: %d", st)
	}
	// Someone else signing in at that computer does not get it.
	other := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	if st, loc := citizen.post("/log-ind", withValue(kept, "token", w.token(other))); st != http.StatusSeeOther || loc != "/?gemt=logget-ind" || strings.Contains(citizen.last, "Et langt punkt") {
		t.Errorf("another person's sign-in: %d to %q", st, loc)
	}
	kept.Set("replace", other.ID.String()) // the citizen confirms replacing the other's session
	// Nor does a tampered return address or value.
	for name, f := range map[string]url.Values{
		"dot segments": withValue(withValue(kept, "return", "/moeder/../indbakke"), "token", w.token(citizen.a)),
		"changed text": withValue(withValue(kept, "keep.items", "Noget andet"), "token", w.token(citizen.a)),
	} {
		if st, loc := citizen.post("/log-ind", f); st != http.StatusSeeOther || loc != "/?gemt=logget-ind" {
			t.Errorf("%s: %d to %q, want a plain sign-in", name, st, loc)
		}
	}
	// The same person gets it back.
	if st, _ := citizen.post("/log-ind", withValue(kept, "token", w.token(citizen.a))); st != http.StatusOK || !strings.Contains(citizen.last, "Et langt punkt om min hverdag.") {
		t.Errorf("the same person's sign-in: %d", st)
	}

	// A form is kept only for whom a token verifiably names: a cookie that merely claims to be
	// the citizen (unsigned, or signed with another key) gets no kept form to carry to the
	// citizen's next sign-in.
	claims := jwt.MapClaims{"iss": auth.TokenIssuer, "aud": auth.TokenAudience, "sub": citizen.a.ID.String(),
		"role": "citizen", "jti": uuid.NewString(), "exp": w.clock.Now().Add(-time.Minute).Unix()}
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	_, foreignKey, _ := ed25519.GenerateKey(rand.Reader)
	foreign, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(foreignKey)
	for name, forged := range map[string]string{"unsigned": unsigned, "another key": foreign} {
		planter := w.visitor(domain.Actor{})
		planter.c.Jar.SetCookies(pagesURL(t, w), []*http.Cookie{{Name: web.SessionCookie, Value: forged, Path: "/"}})
		st, _ := planter.post(path+"/dagsorden", url.Values{"items": {"Plantet punkt"}, "command_id": {uuid.NewString()}})
		if st != http.StatusUnauthorized || hidden(planter.last).Get("keep_for") != "" || strings.Contains(planter.last, "Plantet punkt") {
			t.Errorf("%s cookie naming the citizen: %d, and the page keeps the form for %q", name, st, hidden(planter.last).Get("keep_for"))
		}
	}
}

func pagesURL(t *testing.T, w *webEnv) *url.URL {
	t.Helper()
	u, err := url.Parse(w.pages.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPagesForInviteesWhoLeftOrDeclined(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	net := domain.Actor{ID: uuid.New(), Role: domain.RoleNetwork}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	citizen.submit(path+"/inviter", "name", "Mor", "kind", "network", "participant", net.ID.String())
	at := w.clock.Now().Add(30 * time.Minute)
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	citizen.submit(path+"/tid-og-sted", "date", at.In(cph).Format("2.1.2006"), "time", at.In(cph).Format("15.04"), "place", "home")

	// The network member answers no: no attendance page for them.
	n := w.visitor(net)
	n.see("/indbakke")
	if !strings.Contains(n.last, "Svar på invitationen") {
		t.Error("the network member's inbox has no invitation to answer")
	}
	n.submit(path+"/svar", "answer", "nej", "reason", "Jeg er på arbejde")
	if st, _ := n.see(path + "/fremmoede"); st != http.StatusForbidden {
		t.Errorf("a declined invitee on the attendance page: %d, want 403", st)
	}
	// Only the citizen sees why.
	p := w.visitor(pro)
	p.see(path)
	if strings.Contains(p.last, "Jeg er på arbejde") {
		t.Error("another participant sees a decline's reason")
	}
	citizen.see(path)
	if !strings.Contains(citizen.last, "Jeg er på arbejde") {
		t.Error("the citizen does not see why the invitee declined")
	}

	// The professional's invitation is taken back: the meeting is gone for them.
	withdraw := path + "/deltagere/" + pro.ID.String() + "/tilbagekald"
	citizen.submit(withdraw)
	if st, _ := p.see(path); st != http.StatusNotFound {
		t.Errorf("a withdrawn invitee on the meeting: %d, want 404", st)
	}
	if st, _ := p.see(path + "/svar"); st != http.StatusNotFound {
		t.Errorf("a withdrawn invitee on the answer page: %d, want 404", st)
	}
	// And the withdraw page is not offered twice.
	if st, _ := citizen.see(withdraw); st != http.StatusForbidden {
		t.Errorf("withdraw page for someone no longer invited: %d, want 403", st)
	}
}

func TestPagesSuggestionReachesOnlyTheCitizen(t *testing.T) {
	w := newWebEnv(t)
	pro := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	pro2 := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Misbrugscenter"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, pro)
	citizen.submit(path+"/inviter", "name", "Ida Berg", "kind", "professional", "service", pro2.Service, "participant", pro2.ID.String())
	p := w.visitor(pro)
	p.submit(path+"/foreslaa", "name", "Søren Madsen", "kind", "professional", "service", "Socialpsykiatrien", "reason", "Kender borgeren godt")

	citizen.see(path)
	m := regexp.MustCompile(`/inviter\?forslag=([0-9a-f-]{36})`).FindStringSubmatch(citizen.last)
	if m == nil || !strings.Contains(citizen.last, "Søren Madsen") {
		t.Fatal("the citizen is not offered to invite the suggested person")
	}
	// The invitation page comes filled in from the suggestion; the citizen decides.
	citizen.see(path + "/inviter?forslag=" + m[1])
	if !strings.Contains(citizen.last, `value="Søren Madsen"`) || !strings.Contains(citizen.last, `<option selected>Socialpsykiatrien</option>`) {
		t.Error("the invitation page is not filled in from the suggestion")
	}
	// Other participants do not see suggestions; the citizen's agenda cannot be changed by them.
	p2 := w.visitor(pro2)
	p2.see(path)
	if strings.Contains(p2.last, "Søren Madsen") || strings.Contains(p2.last, "forslag=") {
		t.Error("another participant sees the suggestion")
	}
}

// TestSignOutRevokesTheToken: signing out stops the token itself, not only the browser's copy:
// someone who kept the cookie on a shared computer, or the token, is turned away on the pages,
// the API and NATS, in this process and in another one watching the same log. The person's
// next sign-in works.
func TestSignOutRevokesTheToken(t *testing.T) {
	w := newWebEnv(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	v := w.visitor(citizen)
	pagesURL, _ := url.Parse(w.pages.URL)
	var tok string
	for _, c := range v.c.Jar.Cookies(pagesURL) {
		if c.Name == web.SessionCookie {
			tok = c.Value
		}
	}
	if tok == "" {
		t.Fatal("no session cookie after sign-in")
	}
	// Another process, started before the sign-out.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other, err := auth.OpenRevocations(ctx, w.store.JetStream(), 1, w.clock.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m := uuid.New()
	if a := w.post(tok, "convene-meeting", uuid.New(), map[string]any{"meeting_id": m, "citizen_id": citizen.ID}); a.status != http.StatusOK {
		t.Fatalf("the token before sign-out: %d", a.status)
	}
	if st, loc := v.post("/log-ud", url.Values{"csrf": {v.form("/moeder").Get("csrf")}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign-out: %d to %q", st, loc)
	}

	// The same token under another spelling: the signature's last character with its unused low
	// bits flipped decodes (leniently) to the same signature, so it is the same token.
	respelt := respell(t, tok)
	for _, tok := range []string{tok, respelt} {
		kept := w.visitor(domain.Actor{})
		kept.c.Jar.SetCookies(pagesURL, []*http.Cookie{{Name: web.SessionCookie, Value: tok, Path: "/"}})
		if st, _ := kept.get("/moeder"); st != http.StatusUnauthorized {
			t.Errorf("the kept cookie after sign-out (respelt %t): %d, want 401", tok == respelt, st)
		}
		if a := w.post(tok, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{"x"}}); a.status != http.StatusUnauthorized {
			t.Errorf("the token on the API after sign-out (respelt %t): %d, want 401", tok == respelt, a.status)
		}
	}
	iss, jti := tokenID(t, tok)
	deadline := time.Now().Add(5 * time.Second)
	for !other.RevokedID(iss, jti) {
		if time.Now().After(deadline) {
			t.Fatal("the other process has not learnt of the sign-out after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	later, err := auth.OpenRevocations(ctx, w.store.JetStream(), 1, w.clock.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !later.RevokedID(iss, jti) {
		t.Error("a process started after the sign-out does not know of it")
	}
	// The bucket holds a hash, never the token.
	kv, err := w.store.JetStream().KeyValue(ctx, auth.RevocationBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := kv.ListKeys(ctx)
	for k := range keys.Keys() {
		e, _ := kv.Get(ctx, k)
		if strings.Contains(k, tok) || (e != nil && strings.Contains(string(e.Value()), tok)) {
			t.Error("the revocation list holds the token itself")
		}
	}
	// The API signs out the token it is given: 204, then 401 for it, and only for it.
	apiTok, otherTok := w.token(citizen), w.token(citizen)
	signOut := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, w.http.URL+"/api/v1/sign-out", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		w.checkDoc(req, nil, resp, raw)
		return resp.StatusCode
	}
	if st := signOut(apiTok); st != http.StatusNoContent {
		t.Errorf("API sign-out: %d, want 204", st)
	}
	if st := signOut(apiTok); st != http.StatusUnauthorized {
		t.Errorf("API sign-out with the signed-out token: %d, want 401", st)
	}
	if a := w.post(apiTok, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{"x"}}); a.status != http.StatusUnauthorized {
		t.Errorf("the API-signed-out token: %d, want 401", a.status)
	}
	if a := w.post(otherTok, "citizen-sets-agenda", uuid.New(), map[string]any{"meeting_id": m, "items": []string{"x"}}); a.status != http.StatusOK {
		t.Errorf("another token of the same person: %d, want 200", a.status)
	}
	if st := signOut(""); st != http.StatusUnauthorized {
		t.Errorf("API sign-out without a token: %d, want 401", st)
	}

	// A new sign-in of the same person is a new token, and works.
	v.signIn()
	if st, _ := v.get("/moeder"); st != http.StatusOK {
		t.Errorf("signed in again: %d, want 200", st)
	}
}

// respell returns tok with the unused low bits of its signature's last base64 character flipped:
// another string for the same signature, which a lenient decoder accepts.
func respell(t *testing.T, tok string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	if len(sig)%4 == 0 {
		t.Fatal("the signature has no unused bits to flip")
	}
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	out := tok[:len(tok)-1] + string(alphabet[last^1])
	a, err1 := base64.RawURLEncoding.DecodeString(sig)
	b, err2 := base64.RawURLEncoding.DecodeString(out[strings.LastIndexByte(out, '.')+1:])
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) || out == tok {
		t.Fatalf("the respelt token is not the same signature: %v %v", err1, err2)
	}
	return out
}

// tokenID reads a token's issuer and id (jti) without verifying it.
func tokenID(t *testing.T, tok string) (issuer, id string) {
	t.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil || c.ID == "" {
		t.Fatalf("the token has no id: %v", err)
	}
	return c.Issuer, c.ID
}

// TestInvitePageOffersTheCatalogue: the invitation page offers the municipality's services as a
// choice and no box to type one; a service outside the list, or one for a network member, is
// refused beside the field and nothing is written.
func TestInvitePageOffersTheCatalogue(t *testing.T) {
	w := newWebEnv(t)
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"})
	citizen.see(path + "/inviter")
	for _, s := range domain.DefaultServices {
		if !strings.Contains(citizen.last, "<option>"+html.EscapeString(s)+"</option>") {
			t.Errorf("the invitation page does not offer %q", s)
		}
	}
	if strings.Contains(citizen.last, `name="service_other"`) {
		t.Error("the invitation page still has a box to type a service")
	}
	before := w.lastSeq()
	for name, fields := range map[string][]string{
		"free text":                  {"name", "Oluf", "kind", "professional", "service", "Min bror Oluf Brandt 0101901234", "participant", uuid.NewString()},
		"a network member's service": {"name", "Mor", "kind", "network", "service", "Jobcenter", "participant", uuid.NewString()},
	} {
		st, _ := citizen.post(path+"/inviter", withFields(citizen.form(path+"/inviter"), fields...))
		if st != http.StatusBadRequest || !strings.Contains(citizen.last, `id="service-fejl"`) {
			t.Errorf("%s: %d, want 400 with an error beside the service field", name, st)
		}
	}
	if w.lastSeq() != before {
		t.Error("a refused invitation was written")
	}
}
