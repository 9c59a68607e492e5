package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TestPagesAskForConsentToShare: the invite page shows the consent text; inviting someone from
// the region without ticking it is refused in Danish and writes nothing; with it the invitee
// sees the meeting; the citizen takes the consent back on its page, and the invitee is then
// answered as for a meeting that does not exist. The invitee cannot take it back themself.
func TestPagesAskForConsentToShare(t *testing.T) {
	w := newWebEnv(t)
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	lise := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Regionspsykiatrien"}
	citizen := w.visitor(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	path := w.meeting(citizen, job)
	if st, _ := citizen.see(path + "/inviter"); st != http.StatusOK || !strings.Contains(citizen.last, "Jeg giver samtykke til") {
		t.Fatalf("the invite page lacks the consent text: %d", st)
	}
	before := w.lastSeq()
	fields := []string{"name", "Lise", "kind", "region", "service", "Regionspsykiatrien", "participant", lise.ID.String()}
	if st, _ := citizen.post(path+"/inviter", citizen.form(path+"/inviter", fields...)); st != http.StatusBadRequest || !strings.Contains(citizen.last, "Sæt kryds, hvis du giver samtykke") {
		t.Fatalf("inviting the region without consent: %d\n%s", st, citizen.last)
	}
	if got := w.lastSeq(); got != before {
		t.Fatal("an invitation without consent was written")
	}
	citizen.submit(path+"/inviter", append(fields, "consent", "ja")...)
	l := w.visitor(lise)
	if st, _ := l.see(path); st != http.StatusOK {
		t.Fatalf("the invitee with the consent: %d", st)
	}
	consent := path + "/deltagere/" + lise.ID.String() + "/samtykke"
	if st, _ := citizen.see(path); st != http.StatusOK || !strings.Contains(citizen.last, consent) || !strings.Contains(citizen.last, "Du har givet samtykke") {
		t.Fatalf("the meeting page does not offer to take the consent back: %d", st)
	}
	if st, _ := l.get(consent); st != http.StatusForbidden {
		t.Fatalf("the invitee on the consent page: %d, want 403", st)
	}
	citizen.submit(consent)
	if st, _ := l.see(path); st != http.StatusNotFound || strings.Contains(l.last, "At sove bedre") {
		t.Fatalf("the invitee after the consent was taken back: %d", st)
	}
	if st, _ := citizen.see(path); st != http.StatusOK || !strings.Contains(citizen.last, "Trukket tilbage") {
		t.Fatalf("the meeting page does not show the consent taken back: %d", st)
	}
}
