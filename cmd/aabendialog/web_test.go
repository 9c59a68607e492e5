package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// axeScript is axe-core, installed from the npm registry by .ci/run (npm ci in testdata/axe).
const axeScript = "testdata/axe/node_modules/axe-core/axe.min.js"

// browserTools finds Chromium and axe-core. Without them the browser tests skip on a developer's
// machine, and fail under CI, where .ci/run installs both.
func browserTools(t *testing.T) (chromium string, axe []byte) {
	t.Helper()
	missing := func(what string) {
		msg := what + " is missing: install Debian's chromium (apt-get install chromium) and run npm ci --prefix cmd/aabendialog/testdata/axe, as .ci/run does"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		missing("Chromium")
	}
	axe, err := os.ReadFile(axeScript)
	if err != nil {
		missing("axe-core")
	}
	return chromium, axe
}

// browser is one headless Chromium tab driven over the DevTools protocol.
type browser struct {
	t      *testing.T
	ctx    context.Context
	base   string
	axe    string
	shots  string
	pages  int
	checks map[string]bool
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	chromium, axe := browserTools(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return &browser{t: t, ctx: ctx, base: base, axe: string(axe), shots: t.ArtifactDir(), checks: map[string]bool{}}
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open goes to a path and returns the HTTP status.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return resp.Status
}

// click clicks and waits for the page it leads to; it returns that page's HTTP status.
func (b *browser) click(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) h1() string { return strings.TrimSpace(b.text("h1")) }

// wantH1 checks the page's heading, which says which page it is.
func (b *browser) wantH1(want string) {
	b.t.Helper()
	if got := b.h1(); got != want {
		b.t.Fatalf("page heading %q, want %q (at %s)", got, want, b.eval(`location.pathname`))
	}
}

// check runs axe-core on the page at WCAG 2.1 A and AA, checks that the page reflows to 320 px
// and 640 px wide screens (400 % and 200 % zoom) without scrolling sideways, also with WCAG's text
// spacing, and saves a screenshot of it under the test's artifacts.
func (b *browser) check(name string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](b.axe))
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", name, err)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		b.t.Fatalf("axe answer on %s: %v", name, err)
	}
	for _, v := range violations {
		b.t.Errorf("page %s: accessibility violation %s (%s): %s, at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
	// 320 CSS px is WCAG 1.4.10's reflow width (a 1280 px window at 400 %); 640 px is 200 % zoom.
	for _, w := range []int64{320, 640} {
		b.do(chromedp.EmulateViewport(w, 800))
		if over := b.eval(`String(document.documentElement.scrollWidth - window.innerWidth)`); over != "0" {
			b.t.Errorf("page %s at %d px: %s px wider than the screen", name, w, over)
		}
		if w == 320 && name == "06-moedet" {
			b.screenshot(name + "-mobil")
		}
	}
	// WCAG 1.4.12: with the text spacing a reader may set, nothing may be cut off or overflow.
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement('style'); s.id = 'wcag-spacing';
		s.textContent = '* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important; } p { margin-bottom: 2em !important; }';
		document.head.appendChild(s); })()`))
	b.do(chromedp.EmulateViewport(320, 800))
	if over := b.eval(`String(document.documentElement.scrollWidth - window.innerWidth)`); over != "0" {
		b.t.Errorf("page %s with WCAG text spacing at 320 px: %s px wider than the screen", name, over)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('wcag-spacing').remove()`))
	b.do(chromedp.EmulateViewport(1024, 800))
	b.screenshot(name)
	b.pages++
	b.checks[name] = true
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn follows a sign-in link made by the real program's token command.
func (b *browser) signIn(data string, a domain.Actor) {
	b.t.Helper()
	args := []string{"token", "--data", data, "--role", string(a.Role), "--subject", a.ID.String(), "--link", b.base}
	if a.Service != "" {
		args = append(args, "--service", a.Service)
	}
	out, errs, code := cli(b.t, args...)
	if code != 0 {
		b.t.Fatalf("token: %s", errs)
	}
	link := strings.TrimSpace(out)
	if st := b.open(strings.TrimPrefix(link, b.base)); st != 200 {
		b.t.Fatalf("sign-in link answered %d", st)
	}
	b.wantH1("Log ind")
	b.check("00-log-ind-link")
	// The post answers with redirects; the page it ends on is checked by the caller.
	b.click(`main button[type=submit]`)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click(`nav button[type=submit]`)
	b.wantH1("Velkommen til Åben Dialog")
}

// TestPagesInABrowser drives the whole meeting flow through the pages in headless Chromium,
// against the real program: the citizen convenes, writes the agenda, invites three services and
// a relative and chooses time and place; a professional accepts, records who came and a
// follow-up, and marks it done; the citizen sees it kept. Every page passes axe-core at WCAG 2.1
// AA and fits a phone screen.
func TestPagesInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real program and a browser")
	}
	srv := startServer(t)
	b := newBrowser(t, srv.http)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	pros := []domain.Actor{
		{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"},
		{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Handicap og Psykiatri"},
		{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Center for Børn og Familie"},
	}
	names := []string{"Karin Holm", "Jens Berg", "Sara Lund"}

	if st := b.open("/"); st != 200 {
		t.Fatalf("front page: %d", st)
	}
	b.wantH1("Velkommen til Åben Dialog")
	b.check("00-log-ind")
	b.open("/was")
	b.wantH1("Tilgængelighedserklæring")
	b.check("00-tilgaengelighedserklaering")

	// The citizen convenes a meeting.
	b.signIn(srv.data, citizen)
	b.wantH1("Mine møder")
	if got := b.text(".notice"); got != "Du er logget ind." {
		t.Errorf("notice %q", got)
	}
	b.check("01-mine-moeder")
	b.click(`a[href="/moeder/nyt"]`)
	b.wantH1("Indkald til et møde")
	b.check("02-indkald")
	b.do(chromedp.SendKeys(chromedp.ID("title"), "Min hverdag og mit arbejde"))
	b.click(`main button[type=submit]`)

	// The agenda, in the citizen's own words; an empty one is refused in Danish, next to the field.
	b.wantH1("Hvad vil du tale om?")
	meetingPath := strings.TrimSuffix(b.eval(`location.pathname`), "/dagsorden")
	b.click(`main button[type=submit]`)
	if got := b.text("#items-fejl"); !strings.Contains(got, "Skriv mindst ét punkt") {
		t.Errorf("empty agenda: error %q", got)
	}
	b.check("03-dagsorden-fejl")
	b.do(chromedp.SendKeys(chromedp.ID("items"), "At sove bedre\nAt komme i arbejde\nMin søns skole"))
	b.check("03-dagsorden")
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")

	// Three services and a relative.
	for i, p := range pros {
		b.click(`a[href$="/inviter"]`)
		b.wantH1("Inviter en deltager")
		if i == 0 {
			b.check("04-inviter")
			// Without the professional's id the invitation is refused, and what was typed stays.
			b.do(chromedp.SendKeys(chromedp.ID("name"), names[i]), chromedp.Click(chromedp.ID("kind-professional")), chromedp.SetValue(chromedp.ID("service"), p.Service))
			b.click(`main form button[type=submit]`)
			if got := b.text("#participant-fejl"); !strings.Contains(got, "medarbejder-id") {
				t.Errorf("invitation without id: error %q", got)
			}
			if got := b.eval(`document.getElementById('name').value`); got != names[i] {
				t.Errorf("typed name after a refusal: %q, want %q", got, names[i])
			}
			b.check("04-inviter-fejl")
		} else {
			b.do(chromedp.SendKeys(chromedp.ID("name"), names[i]), chromedp.Click(chromedp.ID("kind-professional")), chromedp.SetValue(chromedp.ID("service"), p.Service))
		}
		b.do(chromedp.SendKeys(chromedp.ID("participant"), p.ID.String()))
		b.click(`main form button[type=submit]`)
		b.wantH1("Min hverdag og mit arbejde")
		if got := b.text(".notice"); got != "Invitationen er sendt." {
			t.Errorf("notice after invitation: %q", got)
		}
	}
	b.click(`a[href$="/inviter"]`)
	b.do(chromedp.SendKeys(chromedp.ID("name"), "Mor"), chromedp.Click(chromedp.ID("kind-network")))
	b.click(`main form button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")

	// Time and place: at home, half an hour from now, so the meeting can be held in this test.
	at := time.Now().Add(30 * time.Minute).In(copenhagenTZ(t))
	b.click(`a[href$="/tid-og-sted"]`)
	b.wantH1("Hvornår og hvor skal I mødes?")
	b.check("05-tid-og-sted")
	b.do(chromedp.SetValue(chromedp.ID("date"), at.Format(time.DateOnly)), chromedp.SetValue(chromedp.ID("time"), at.Format("15:04")),
		chromedp.Click(chromedp.ID("place-home")))
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")
	page := b.text("main")
	for _, want := range append(names, "Mor", "At sove bedre", "Min søns skole", "Hjemme hos borgeren", "Har ikke svaret endnu") {
		if !strings.Contains(page, want) {
			t.Errorf("meeting page lacks %q", want)
		}
	}
	b.check("06-moedet")
	// Undoable until held: the withdraw and cancel pages are offered (looked at, not used).
	b.click(`a[href*="/tilbagekald"]`)
	b.wantH1("Træk invitationen til " + names[0] + " tilbage")
	b.check("07-traek-tilbage")
	b.open(meetingPath + "/aflys")
	b.wantH1("Aflys mødet")
	b.check("07-aflys")
	b.signOut()

	// The first professional answers, and is never offered the agenda.
	b.signIn(srv.data, pros[0])
	b.wantH1("Indbakke")
	if !strings.Contains(b.text("main"), "At komme i arbejde") {
		t.Error("the inbox does not show the citizen's agenda")
	}
	b.check("08-indbakke")
	b.open("/varsler")
	b.wantH1("Beskeder til dig")
	b.check("08-varsler")
	b.open("/indbakke")
	b.click(`a[href$="/svar"]`)
	b.wantH1("Svar på invitationen")
	b.check("09-svar")
	b.do(chromedp.Click(chromedp.ID("answer-ja")))
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")
	if strings.Contains(b.text("main"), "Ret dagsordenen") {
		t.Error("a professional is offered to change the agenda")
	}
	b.check("10-moedet-fagperson")
	if st := b.open(meetingPath + "/dagsorden"); st != 403 {
		t.Errorf("professional on the agenda page: %d, want 403", st)
	}
	b.wantH1("Det kan du ikke her")
	b.check("10-ingen-adgang")
	b.open(meetingPath + "/foreslaa")
	b.wantH1("Foreslå en deltager")
	b.check("11-foreslaa")

	// At the meeting: who came, and what was agreed.
	b.open(meetingPath)
	b.click(`a[href$="/fremmoede"]`)
	b.wantH1("Hvem var med til mødet?")
	b.check("12-fremmoede")
	b.do(chromedp.Click(chromedp.ID("present-0")))
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")
	b.click(`a[href$="/opfoelgning"]`)
	b.wantH1("Skriv en opfølgning")
	b.check("13-opfoelgning")
	b.do(chromedp.SendKeys(chromedp.ID("what"), "Karin ringer til arbejdsgiveren om skånejob"),
		chromedp.Click(chromedp.ID("responsible-0")),
		chromedp.SetValue(chromedp.ID("due"), time.Now().AddDate(0, 0, 14).Format(time.DateOnly)))
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")
	b.open("/indbakke")
	if !strings.Contains(b.text("main"), "Karin ringer til arbejdsgiveren") {
		t.Error("the follow-up is not in its owner's inbox")
	}
	b.open(meetingPath)
	b.click(`a[href$="/udfoert"]`)
	b.wantH1("Er opfølgningen udført?")
	b.check("14-udfoert")
	b.click(`main button[type=submit]`)
	b.wantH1("Min hverdag og mit arbejde")
	b.signOut()

	// The citizen sees it kept, and closes the meeting.
	b.signIn(srv.data, citizen)
	b.open(meetingPath)
	page = b.text("main")
	for _, want := range []string{"Karin ringer til arbejdsgiveren om skånejob", "Udført", "Var med", "Holdt"} {
		if !strings.Contains(page, want) {
			t.Errorf("citizen's meeting page after the meeting lacks %q", want)
		}
	}
	b.check("15-moedet-holdt")
	b.click(`a[href$="/afslut"]`)
	b.wantH1("Afslut mødet")
	b.check("16-afslut")
	b.do(chromedp.Click(chromedp.ID("next_agreed")))
	b.click(`main button[type=submit]`)
	if got := b.text(".status"); got != "Afsluttet" {
		t.Errorf("status after closing: %q", got)
	}
	b.open("/moeder")
	if !strings.Contains(b.text("main"), "Min hverdag og mit arbejde") {
		t.Error("the closed meeting is not among the citizen's past meetings")
	}
	b.check("17-mine-moeder-bagefter")

	// Who has read the citizen's data: the professionals who opened the meeting, by role and
	// service, no names.
	b.click(`a[href="/moeder/adgang"]`)
	b.wantH1("Hvem har set mine oplysninger")
	if got := b.text("main .access"); !strings.Contains(got, "Jobcenter") || !strings.Contains(got, "Er med i dit møde") || strings.Contains(got, "Karin Holm") {
		t.Errorf("the access log page shows %q", got)
	}
	b.check("19-hvem-har-set")
	// The citizen gives a mandate and takes it back.
	b.open("/moeder/fuldmagter")
	b.wantH1("Hvem må hjælpe mig")
	b.check("20-fuldmagter")
	b.click(`a[href="/moeder/fuldmagter/ny"]`)
	b.wantH1("Giv en fuldmagt")
	b.click(`main button[type=submit]`)
	b.wantH1("Giv en fuldmagt")
	b.check("21-fuldmagt-fejl")
	helper := uuid.New()
	b.do(chromedp.SendKeys(chromedp.ID("person"), helper.String()), chromedp.SendKeys(chromedp.ID("name"), "Bo Hansen"),
		chromedp.Click(chromedp.ID("kind-support")), chromedp.SendKeys(chromedp.ID("until"), "31.12.2099"))
	b.click(`main button[type=submit]`)
	b.wantH1("Hvem må hjælpe mig")
	if got := b.text("main .cards"); !strings.Contains(got, "Bo Hansen") || !strings.Contains(got, "Bisidder") {
		t.Errorf("the mandates page after giving one: %q", got)
	}
	b.click(`a[href="/moeder/fuldmagter/` + helper.String() + `/tilbagekald"]`)
	b.wantH1("Tag fuldmagten tilbage")
	b.check("22-tag-fuldmagt-tilbage")
	b.click(`main button[type=submit]`)
	b.wantH1("Hvem må hjælpe mig")
	if got := b.text("main"); strings.Contains(got, "Bo Hansen") || !strings.Contains(got, "Fuldmagten er taget tilbage.") {
		t.Errorf("the mandates page after taking it back: %q", got)
	}
	// A mandate for the one meeting, given from the meeting.
	b.open(meetingPath + "/fuldmagt")
	b.wantH1("Giv en fuldmagt til mødet")
	b.check("23-fuldmagt-til-moedet")
	b.do(chromedp.SendKeys(chromedp.ID("person"), helper.String()), chromedp.SendKeys(chromedp.ID("name"), "Bo Hansen"),
		chromedp.Click(chromedp.ID("kind-support")))
	b.click(`main button[type=submit]`)
	b.wantH1("Hvem må hjælpe mig")
	if got := b.text("main .cards"); !strings.Contains(got, "Gælder kun mødet: Min hverdag") {
		t.Errorf("the mandates page after giving one for a meeting: %q", got)
	}
	b.check("24-fuldmagt-et-moede")

	// Someone else's meeting: not found, and nothing of it shown.
	b.signOut()
	b.signIn(srv.data, domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	if st := b.open(meetingPath); st != 404 {
		t.Errorf("another citizen's meeting: %d, want 404", st)
	}
	if strings.Contains(b.text("main"), "Min hverdag") {
		t.Error("another citizen sees the meeting's title")
	}
	b.check("18-ikke-fundet")
	t.Logf("%d pages checked with axe-core; screenshots in %s", b.pages, b.shots)
}

func copenhagenTZ(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(fmt.Errorf("time zone: %w", err))
	}
	return loc
}
