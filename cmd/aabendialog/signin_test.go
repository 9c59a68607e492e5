package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/aabendialog/aabendialog/internal/testidp"
)

func staffPerson(name, email, role, service string) *testidp.User {
	return &testidp.User{Sub: "entra-" + uuid.NewString(), Extra: map[string]any{"name": name, "email": email, "email_verified": true,
		"groups": []string{"Alle ansatte", role}, "department": service}}
}

// idp starts an OpenID Connect provider in the test process, on a loopback port, and writes
// its client secret to a file as an operator would.
func idp(t *testing.T) (*mockoidc.MockOIDC, string) {
	t.Helper()
	m := testidp.Start(t, nil)
	secret := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return m, secret
}

// TestSignInThroughProvidersInABrowser runs the real program with the sign-in flags as an
// operator gives them, two OpenID Connect providers in the test process, and headless Chromium
// following the real redirects: a professional signs in and so enters the staff directory; a
// citizen signs in with MitID, convenes a meeting and invites him from the directory and a
// colleague by e-mail address; each finds the invitation in their inbox after signing in, the
// colleague at their first sign-in; an evaluator is told the pages are not theirs; the staff
// provider's access token works on the API through the CLI.
func TestSignInThroughProvidersInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real program and a browser")
	}
	citizens, citizenSecret := idp(t)
	staff, staffSecret := idp(t)
	public := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	srv := startServerOn(t, t.TempDir(), "--http", strings.TrimPrefix(public, "http://"), "--public-url", public,
		"--citizen-oidc-issuer", citizens.Issuer(), "--citizen-oidc-client-id", citizens.ClientID, "--citizen-oidc-client-secret-file", citizenSecret,
		"--staff-oidc-issuer", staff.Issuer(), "--staff-oidc-client-id", staff.ClientID, "--staff-oidc-client-secret-file", staffSecret,
		"--staff-role-claim", "groups", "--staff-service-claim", "department")
	if srv.http != public {
		t.Fatalf("serving at %s, want the public URL %s", srv.http, public)
	}
	b := newBrowser(t, srv.http)
	signIn := func(at *mockoidc.MockOIDC, who mockoidc.User, button string) {
		t.Helper()
		at.QueueUser(who)
		if st := b.open("/"); st != 200 {
			t.Fatalf("front page: %d", st)
		}
		b.click(`form[action="` + button + `"] button`)
	}

	bo := staffPerson("Bo Jensen", "bo@kommune.dk", "professional", "jobcenter")
	signIn(staff, bo, "/log-ind/medarbejder")
	b.wantH1("Indbakke")
	b.check("20-indbakke-efter-log-ind")
	b.signOut()

	karin := &testidp.User{Sub: "mitid-" + uuid.NewString(), Extra: map[string]any{"name": "Karin Holm"}}
	b.open("/")
	b.check("20-log-ind-udbydere")
	signIn(citizens, karin, "/log-ind/borger")
	b.wantH1("Mine møder")
	if got := b.text(".notice"); got != "Du er logget ind." {
		t.Errorf("notice after sign-in: %q", got)
	}
	b.open("/moeder/nyt")
	b.do(chromedp.SendKeys(chromedp.ID("title"), "Min plan for foråret"))
	b.click(`main button[type=submit]`)
	b.wantH1("Hvad vil du tale om?")
	meeting := strings.TrimSuffix(b.eval(`location.pathname`), "/dagsorden")
	b.do(chromedp.SendKeys(chromedp.ID("items"), "At komme i arbejde"))
	b.click(`main button[type=submit]`)
	b.wantH1("Min plan for foråret")

	// From the directory, by service and name: no id typed.
	b.open(meeting + "/inviter")
	b.wantH1("Inviter en deltager")
	if n := b.eval(`String(document.querySelectorAll('#participant').length)`); n != "0" {
		t.Error("the invitation page asks for a typed id although a staff provider is configured")
	}
	b.do(chromedp.Click(chromedp.CSS(`details.directory summary`)))
	b.check("21-inviter-fra-oversigten")
	b.click(`details.directory button[type=submit]`)
	b.wantH1("Min plan for foråret")
	if got := b.text(".notice"); got != "Invitationen er sendt." {
		t.Errorf("notice after inviting from the directory: %q", got)
	}
	// By address, someone who has never signed in.
	b.open(meeting + "/inviter")
	b.do(chromedp.SendKeys(chromedp.ID("name"), "Lis Nør"), chromedp.Click(chromedp.ID("kind-professional")),
		chromedp.SetValue(chromedp.ID("service"), "Jobcenter"), chromedp.SendKeys(chromedp.ID("email"), "lis@kommune.dk"))
	b.click(`main form button[type=submit]`)
	b.wantH1("Min plan for foråret")
	page := b.text("main")
	for _, want := range []string{"Bo Jensen", "Lis Nør"} {
		if !strings.Contains(page, want) {
			t.Errorf("the meeting page lacks the invitee %q", want)
		}
	}
	b.signOut()

	for _, p := range []*testidp.User{bo, staffPerson("Lis Nør", "lis@kommune.dk", "professional", "Jobcenter")} {
		signIn(staff, p, "/log-ind/medarbejder")
		b.wantH1("Indbakke")
		if !strings.Contains(b.text("main"), "At komme i arbejde") {
			t.Errorf("%s's inbox after sign-in lacks the invitation:\n%s", p.Extra["name"], b.text("main"))
		}
		b.signOut()
	}

	signIn(staff, staffPerson("Eva Lund", "eva@kommune.dk", "evaluator", ""), "/log-ind/medarbejder")
	b.wantH1("Du er logget ind som evaluator")
	b.check("22-evaluator-uden-sider")

	// An API client's access token from the staff provider, signed with the provider's key (in
	// its JWKS): the directory through the CLI names Bo by his person id.
	now := time.Now()
	at, err := staff.Keypair.SignJWT(jwt.MapClaims{"iss": staff.Issuer(), "sub": bo.Sub, "aud": staff.ClientID, "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "jti": uuid.NewString(), "groups": []string{"professional"}, "department": "Jobcenter"})
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := cli(t, "directory", "--server", srv.http, "--token", at, "--json")
	if code != 0 {
		t.Fatalf("directory with the staff provider's token: %s", errs)
	}
	var dir []struct {
		PersonID string `json:"person_id"`
		Name     string `json:"name"`
		Service  string `json:"service"`
	}
	if err := json.Unmarshal([]byte(out), &dir); err != nil {
		t.Fatalf("directory --json: %v\n%s", err, out)
	}
	names := map[string]string{}
	for _, d := range dir {
		names[d.Name] = d.Service
	}
	if len(dir) != 2 || names["Bo Jensen"] != "Jobcenter" || names["Lis Nør"] != "Jobcenter" {
		t.Fatalf("the directory: %s", out)
	}
	forged, _ := mockoidc.RandomKeypair(2048)
	bad, _ := forged.SignJWT(jwt.MapClaims{"iss": staff.Issuer(), "sub": bo.Sub, "aud": staff.ClientID, "exp": now.Add(time.Minute).Unix(),
		"groups": []string{"professional"}, "department": "Jobcenter"})
	if _, _, code := cli(t, "directory", "--server", srv.http, "--token", bad); code == 0 {
		t.Fatal("a token signed by another key was accepted")
	}
	for _, secret := range []string{"eyJ", citizens.ClientSecret, staff.ClientSecret, "bo@kommune.dk", karin.Sub} {
		if strings.Contains(srv.p.stderr.String(), secret) {
			t.Errorf("the service's log holds %q", secret)
		}
	}
}
