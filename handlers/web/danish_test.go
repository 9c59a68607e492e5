package web

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// TestEveryRuleHasDanish keeps the pages' translations in step with the domain: a rule without
// one would reach a citizen as the generic message.
func TestEveryRuleHasDanish(t *testing.T) {
	for _, r := range domain.Rules() {
		if _, ok := ruleMessages[r]; !ok {
			t.Errorf("rule %s has no Danish message in ruleMessages", r)
		}
	}
	// The refusals are in the domain's behaviour files (decide.go and one per behaviour).
	files, err := filepath.Glob("../../domain/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no domain files: %v", err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	for _, r := range domain.Rules() {
		name := "Rule"
		for _, w := range strings.Split(string(r), "_") {
			name += strings.ToUpper(w[:1]) + w[1:]
		}
		if !strings.Contains(string(src), "Because("+name+")") {
			t.Errorf("no refusal in domain names %s", name)
		}
	}
}

// FuzzPageForms sends arbitrary form values to every page's form: nothing may panic, and a form
// the page accepts must be a command the domain accepts, so that a person never meets a refusal
// the page could have explained beside the field.
func FuzzPageForms(f *testing.F) {
	f.Add("Karin Holm", "professional", "Jobcenter", "0b8e0a4e-6f3a-4c2e-9d55-0a7c2f0c6a11", "2030-01-02", "10:00", "home", "At sove\nArbejde", "ja")
	f.Add("", "network", "anden", "", "2030-13-40", "25:61", "chosen", " \n ", "nej")
	f.Add("Ole", "region", "Regionspsykiatrien", "0b8e0a4e-6f3a-4c2e-9d55-0a7c2f0c6a11", "3000-01-01", "09:30", "office", "Kontoret", "nej")
	f.Add(strings.Repeat("å", 201), "x", "", "not-a-uuid", "", "", "", strings.Repeat("a\n", 40), "")
	p := &Pages{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }}
	citizen := uuid.New()
	s := &session{Actor: domain.Actor{ID: citizen, Role: domain.RoleCitizen}}
	m := &meetingPage{MeetingView: projections.MeetingView{MeetingID: uuid.New(), CitizenID: citizen}}
	f.Fuzz(func(t *testing.T, name, kind, service, id, date, clock, place, text, answer string) {
		v := url.Values{
			"name": {name}, "kind": {kind}, "service": {service}, "service_other": {name}, "participant": {id},
			"date": {date}, "time": {clock}, "place": {place}, "address": {text}, "items": {text}, "what": {text},
			"reason": {text}, "answer": {answer}, "responsible": {id}, "due": {date}, "present": {id, citizen.String()},
			"meeting_id": {id}, "new_participant_id": {id}, "suggestion_id": {id}, "follow_up_id": {id}, "title": {name},
		}
		for route, a := range p.actions() {
			r := httptest.NewRequest("POST", "/", nil)
			r.SetPathValue("pid", id)
			r.SetPathValue("fid", id)
			cmd, errs := a.build(s, m, r, v)
			if len(errs) > 0 {
				continue
			}
			if err := cmd.Validate(); err != nil {
				t.Errorf("%s accepted a form the domain refuses: %v (values %q)", route, err, v)
			} else if err := p.services().Check(cmd); err != nil {
				t.Errorf("%s accepted a service the catalogue refuses: %v (values %q)", route, err, v)
			}
		}
	})
}
