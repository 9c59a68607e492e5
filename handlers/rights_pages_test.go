package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TestPagesForTheCitizensRights: the citizen sees on "Hvem har set mine oplysninger" that a
// professional opened the meeting (role, service, why; no name), gives a mandate on the pages
// and takes it back; the support person is refused with a plain message before and after; a
// professional and a support person cannot open the mandates page.
func TestPagesForTheCitizensRights(t *testing.T) {
	w := newWebEnv(t)
	p := newCast()
	citizen := w.visitor(p.citizen)
	path := w.meeting(citizen, p.job)
	job := w.visitor(p.job)
	if st, _ := job.see(path); st != http.StatusOK {
		t.Fatalf("the professional's meeting page: %d", st)
	}

	if st, _ := citizen.see("/moeder"); st != http.StatusOK || !strings.Contains(citizen.last, `href="/moeder/adgang"`) || !strings.Contains(citizen.last, `href="/moeder/fuldmagter"`) {
		t.Fatalf("the citizen's page does not link to the access log and the mandates: %d", st)
	}
	if st, _ := citizen.see("/moeder/adgang"); st != http.StatusOK {
		t.Fatalf("access log page: %d\n%s", st, citizen.last)
	}
	for _, want := range []string{"Hvem har set mine oplysninger", "En fagperson, Jobcenter", "Et møde", "Er med i dit møde", "seneste 180 dage"} {
		if !strings.Contains(citizen.last, want) {
			t.Errorf("the access log page does not say %q", want)
		}
	}
	if strings.Contains(citizen.last, "Karin Holm") || strings.Contains(citizen.last, p.job.ID.String()) {
		t.Error("the access log page names the reader")
	}

	sup := w.visitor(p.support)
	if st, _ := sup.see("/moeder"); st != http.StatusForbidden || !strings.Contains(sup.last, "Du har ikke en fuldmagt fra borgeren") {
		t.Fatalf("a support person without a mandate: %d\n%s", st, sup.last)
	}
	if st, _ := sup.see("/moeder/adgang"); st != http.StatusForbidden {
		t.Fatalf("a support person without a mandate on the access log: %d", st)
	}

	// Refusals on the form are said in Danish and give nothing.
	f := citizen.form("/moeder/fuldmagter/ny", "person", "ikke en kode", "kind", "boss")
	if st, _ := citizen.post("/moeder/fuldmagter/ny", f); st != http.StatusBadRequest || !strings.Contains(citizen.last, "Skriv personens kode") || !strings.Contains(citizen.last, "bisidder eller partsrepræsentant") {
		t.Fatalf("a bad mandate form: %d", st)
	}
	loc := citizen.submit("/moeder/fuldmagter/ny", "person", p.support.ID.String(), "name", "Bo Hansen", "kind", "support", "until", "31.12.2099")
	if !strings.HasPrefix(loc, "/moeder/fuldmagter?gemt=fuldmagt-givet") {
		t.Fatalf("after giving a mandate: %q", loc)
	}
	if st, _ := citizen.see("/moeder/fuldmagter"); st != http.StatusOK || !strings.Contains(citizen.last, "Bo Hansen") || !strings.Contains(citizen.last, "Til og med 31. december 2099") {
		t.Fatalf("the mandates page: %d\n%s", st, citizen.last)
	}
	if st, _ := sup.see("/moeder"); st != http.StatusOK || !strings.Contains(sup.last, "Mit møde") {
		t.Fatalf("the support person with a mandate: %d", st)
	}
	for _, v := range []*visitor{sup, job} {
		if st, _ := v.see("/moeder/fuldmagter"); st != http.StatusForbidden {
			t.Errorf("%s on the mandates page: %d, want 403", v.a.Role, st)
		}
		if st, _ := v.post("/moeder/fuldmagter/ny", v.form("/was", "person", uuid.NewString(), "kind", "support", "command_id", uuid.NewString())); st == http.StatusSeeOther {
			t.Errorf("%s gave a mandate on the pages", v.a.Role)
		}
	}
	citizen.submit("/moeder/fuldmagter/" + p.support.ID.String() + "/tilbagekald")
	if st, _ := sup.see("/moeder"); st != http.StatusForbidden {
		t.Fatalf("the support person after revocation: %d", st)
	}
	if l, err := w.citizens.Load(t.Context(), p.citizen.ID); err != nil || len(l.Citizen.History()) != 2 || l.Citizen.History()[0].By.Role != domain.RoleCitizen {
		t.Fatalf("the citizen's log after the pages: %+v %v", l.Citizen, err)
	}
}

// TestPagesGiveAMandateForOneMeeting: from a meeting's page the citizen gives a bisidder a
// mandate for that meeting alone. The mandates page says which meeting; the bisidder sees that
// meeting and not the citizen's others, and cannot give such a mandate themself.
func TestPagesGiveAMandateForOneMeeting(t *testing.T) {
	w := newWebEnv(t)
	p := newCast()
	citizen := w.visitor(p.citizen)
	path := w.meeting(citizen, p.job)
	other := w.meeting(citizen, p.psyk)
	if st, _ := citizen.see(path); st != http.StatusOK || !strings.Contains(citizen.last, `href="`+path+`/fuldmagt"`) {
		t.Fatalf("the meeting page does not offer a mandate for it: %d", st)
	}
	if st, _ := citizen.see(path + "/fuldmagt"); st != http.StatusOK || !strings.Contains(citizen.last, "Fuldmagten gælder kun mødet") {
		t.Fatalf("the form for one meeting: %d\n%s", st, citizen.last)
	}
	if loc := citizen.submit(path+"/fuldmagt", "person", p.support.ID.String(), "name", "Bo Hansen", "kind", "support"); !strings.HasPrefix(loc, "/moeder/fuldmagter?gemt=fuldmagt-givet") {
		t.Fatalf("after giving a mandate for one meeting: %q", loc)
	}
	if st, _ := citizen.see("/moeder/fuldmagter"); st != http.StatusOK || !strings.Contains(citizen.last, "Gælder kun mødet") || !strings.Contains(citizen.last, `href="`+path+`"`) {
		t.Fatalf("the mandates page does not say which meeting: %d\n%s", st, citizen.last)
	}
	sup := w.visitor(p.support)
	if st, _ := sup.see(path); st != http.StatusOK || strings.Contains(sup.last, `href="`+path+`/fuldmagt"`) {
		t.Fatalf("the bisidder on the meeting: %d (or offered to give a mandate)", st)
	}
	if st, _ := sup.see(other); st != http.StatusNotFound {
		t.Fatalf("the bisidder on a meeting the mandate leaves out: %d, want 404", st)
	}
	if st, _ := sup.see("/moeder"); st != http.StatusOK || strings.Contains(sup.last, strings.TrimPrefix(other, "/moeder/")) {
		t.Fatalf("the bisidder's list shows the meeting left out: %d", st)
	}
	if st, _ := sup.see(path + "/fuldmagt"); st != http.StatusForbidden {
		t.Fatalf("the bisidder on the form: %d, want 403", st)
	}
}
