package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TestConsentToShareEndToEnd: through the real program, inviting someone from the region needs
// the citizen's consent (refused naming --consent without it); with it the invitee sees the
// meeting; withdraw-consent takes that away, the invitee's commands are refused as for a meeting
// that does not exist, and the citizen's history shows the consent and its withdrawal.
func TestConsentToShareEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	srv := startServer(t)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	lise := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Regionspsykiatrien"}
	cit, lt := token(t, srv.data, citizen), token(t, srv.data, lise)
	run := func(tok string, args ...string) (string, string, int) {
		t.Helper()
		return cli(t, append(append([]string{args[0]}, "--server", srv.http, "--token", tok), args[1:]...)...)
	}
	out, errs, code := run(cit, "convene-meeting", "--citizen", citizen.ID.String(), "--title", "Min plan")
	if code != 0 {
		t.Fatalf("convene-meeting: %s", errs)
	}
	m := strings.TrimSpace(out)
	invite := []string{"invite-participant", "--meeting", m, "--participant", lise.ID.String(), "--name", "Lise", "--kind", "region", "--service", "Regionspsykiatrien"}
	if _, errs, code := run(cit, invite...); code != 1 || !strings.Contains(errs, "--consent") {
		t.Fatalf("inviting the region without consent: %d %s", code, errs)
	}
	if _, errs, code := run(cit, append(invite, "--consent", domain.ConsentTextVersion)...); code != 0 {
		t.Fatalf("inviting the region with consent: %s", errs)
	}
	if out, errs, code := run(lt, "history", "--citizen", citizen.ID.String(), "--json"); code != 0 || !strings.Contains(out, m) {
		t.Fatalf("the invitee's view with the consent: %d %s %s", code, out, errs)
	}
	if _, errs, code := run(lt, "withdraw-consent", "--meeting", m, "--participant", lise.ID.String()); code != 1 || !strings.Contains(errs, "withdraw a consent") {
		t.Fatalf("the invitee withdrawing the consent: %d %s", code, errs)
	}
	if _, errs, code := run(cit, "withdraw-consent", "--meeting", m, "--participant", lise.ID.String()); code != 0 || !strings.Contains(errs, "Consent withdrawn") {
		t.Fatalf("withdraw-consent: %d %s", code, errs)
	}
	if out, _, code := run(lt, "history", "--citizen", citizen.ID.String(), "--json"); code != 0 || strings.Contains(out, m) {
		t.Fatalf("the invitee still sees the meeting: %d %s", code, out)
	}
	if _, errs, code := run(lt, "respond-to-invitation", "--meeting", m, "--accept"); code != 1 || !strings.Contains(errs, "does not exist") {
		t.Fatalf("the invitee answering after the withdrawal: %d %s", code, errs)
	}
	if out, _, code := run(cit, "history", "--json"); code != 0 || !strings.Contains(out, `"consent_version": "`+domain.ConsentTextVersion+`"`) || !strings.Contains(out, `"consent_withdrawn": true`) {
		t.Fatalf("the citizen's history: %d %s", code, out)
	}
}
