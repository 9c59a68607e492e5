package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
)

// secrets collects from the log everything an evaluator must never see: person ids, names and
// free text.
func secrets(t *testing.T, natsURL string) (ids, texts []string, citizens []uuid.UUID, meetings []uuid.UUID) {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := eventstore.Attach(context.Background(), nc)
	if err != nil {
		t.Fatal(err)
	}
	seenC := map[uuid.UUID]bool{}
	services := map[string]bool{}
	add := func(s string) {
		if len([]rune(s)) >= 6 { // shorter ones are also parts of ordinary words
			texts = append(texts, s)
		}
	}
	err = store.Read(context.Background(), eventstore.ReadOptions{}, func(r eventstore.Recorded) error {
		c := r.Commit
		ids = append(ids, c.Actor.ID.String())
		if !seenC[c.CitizenID] {
			seenC[c.CitizenID] = true
			citizens = append(citizens, c.CitizenID)
			ids = append(ids, c.CitizenID.String())
		}
		for _, e := range c.Events {
			switch d := e.Data.(type) {
			case domain.MeetingConvened:
				add(d.Title)
				meetings = append(meetings, d.MeetingID)
			case domain.AgendaSet:
				for _, it := range d.Items {
					add(it)
				}
			case domain.ParticipantInvited:
				add(d.Name)
				ids = append(ids, d.ParticipantID.String())
				services[d.Service] = true
			case domain.MeetingScheduled:
				add(d.Address)
			case domain.MeetingRescheduled:
				add(d.Address)
			case domain.InvitationDeclined:
				add(d.Reason)
			case domain.MeetingCancelled:
				add(d.Reason)
			case domain.FollowUpRecorded:
				add(d.What)
				ids = append(ids, d.Responsible.String())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Services are shown by name on purpose: a text that is part of one ("Misbrug" in
	// "Misbrugscenter") cannot be told from it.
	kept := texts[:0]
	for _, x := range texts {
		inService := false
		for svc := range services {
			inService = inService || strings.Contains(svc, x)
		}
		if !inService {
			kept = append(kept, x)
		}
	}
	return ids, kept, citizens, meetings
}

func TestEvaluatorSeesNoPersonalData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	s := startServerOn(t, t.TempDir())
	if out, errs, code := cli(t, "seed", "--nats", s.nats, "--citizens", "40"); code != 0 {
		t.Fatalf("seed: %s %s", out, errs)
	}
	waitReady(t, s)
	ids, texts, citizens, meetings := secrets(t, s.nats)
	if len(texts) < 20 || len(citizens) != 40 {
		t.Fatalf("collected %d texts, %d citizens", len(texts), len(citizens))
	}
	evaluator := token(t, s.data, domain.Actor{ID: uuid.New(), Role: domain.RoleEvaluator})
	leaks := func(what, out string) {
		t.Helper()
		for _, x := range append(append([]string{}, ids...), texts...) {
			if strings.Contains(out, x) {
				t.Fatalf("%s shows %q to an evaluator", what, x)
			}
		}
	}
	outputs := map[string]string{}
	for f, want := range map[string]string{"table": "the citizen is always there", "csv": "citizen_present.share", "json": "citizen_present.share", "html": "Borgeren er altid med"} {
		out, errs, code := cli(t, "evaluate", "--server", s.http, "--token", evaluator, "--format", f)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("evaluate --format %s: %d %s %s", f, code, errs, out)
		}
		leaks("evaluate --format "+f, out)
		outputs[f] = out
	}
	if !strings.Contains(outputs["html"], "<svg") || strings.Contains(outputs["html"], "<script") || !strings.Contains(outputs["html"], `lang="da"`) {
		t.Fatalf("the HTML report is not a self-contained page with SVG charts")
	}
	// The services report names no person and no meeting to an evaluator; the meetings to
	// replay come from the log here, and citizens' pseudonyms from replays.
	out, errs, code := cli(t, "services", "--server", s.http, "--token", evaluator, "--json")
	if code != 0 {
		t.Fatalf("services for an evaluator: %d %s", code, errs)
	}
	leaks("services", out)
	for _, m := range meetings {
		if strings.Contains(out, m.String()) {
			t.Fatalf("the services report shows an evaluator meeting %s", m)
		}
	}
	if _, errs, code := cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", citizens[0].String()); code != 1 || !strings.Contains(errs, "pseudonym") {
		t.Fatalf("an evaluator asking by citizen id: %d %s", code, errs)
	}
	var pseudonym string
	for _, m := range meetings[:10] {
		out, errs, code := cli(t, "replay", "--server", s.http, "--token", evaluator, "--meeting", m.String(), "--json")
		if code != 0 {
			t.Fatalf("replay: %d %s", code, errs)
		}
		var r evaluation.Replay
		if err := json.Unmarshal([]byte(out), &r); err != nil || !r.Pseudonymed || len(r.Entries) == 0 {
			t.Fatalf("replay of meeting %s: %v %+v", m, err, r)
		}
		leaks("replay", out)
		pseudonym = r.Meetings[0].Citizen
		human, _, _ := cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", pseudonym)
		leaks("replay (human)", human)
	}
	// By pseudonym, and as of a time: fewer entries, never more.
	out, errs, code = cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", pseudonym, "--json")
	if code != 0 {
		t.Fatalf("replay by pseudonym: %d %s", code, errs)
	}
	var all, early evaluation.Replay
	json.Unmarshal([]byte(out), &all)
	// In pages of two: the same entries, and at the end the same meetings; a page's meetings are
	// as they stood at its last entry.
	var paged evaluation.Replay
	out, errs, code = cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", pseudonym, "--limit", "2", "--all", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &paged) != nil || paged.NextCursor != "" {
		t.Fatalf("replay --limit 2 --all: %d %s", code, errs)
	}
	if len(all.Entries) < 3 || len(paged.Entries) != len(all.Entries) || paged.Entries[len(paged.Entries)-1].Seq != all.Entries[len(all.Entries)-1].Seq {
		t.Fatalf("replay in pages: %d entries, want %d", len(paged.Entries), len(all.Entries))
	}
	if a, b := fmt.Sprint(paged.Meetings), fmt.Sprint(all.Meetings); a != b {
		t.Fatalf("replay in pages ends with other meetings:\n%s\nwant\n%s", a, b)
	}
	var first evaluation.Replay
	out, _, _ = cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", pseudonym, "--limit", "1", "--json")
	if json.Unmarshal([]byte(out), &first) != nil || len(first.Entries) != 1 || first.NextCursor == "" || first.Meetings[0].Status != domain.StatusConvened {
		t.Fatalf("the first page of one entry: %s", out)
	}
	mid := all.Entries[len(all.Entries)/2]
	out, _, _ = cli(t, "replay", "--server", s.http, "--token", evaluator, "--citizen", pseudonym, "--as-of", mid.At.Format(time.RFC3339Nano), "--json")
	json.Unmarshal([]byte(out), &early)
	if len(early.Entries) == 0 || len(early.Entries) >= len(all.Entries) || early.Entries[len(early.Entries)-1].At.After(mid.At) {
		t.Fatalf("as of %s: %d of %d entries", mid.At, len(early.Entries), len(all.Entries))
	}
	out, _, _ = cli(t, "replay", "--server", s.http, "--token", evaluator, "--meeting", meetings[0].String(), "--at-seq", "3", "--json")
	leaks("replay of a meeting as of a sequence", out)

	// The citizen sees their own history in full; others are refused.
	c0 := citizens[0]
	ct := token(t, s.data, domain.Actor{ID: c0, Role: domain.RoleCitizen})
	out, errs, code = cli(t, "replay", "--server", s.http, "--token", ct, "--citizen", c0.String(), "--json")
	var own evaluation.Replay
	if code != 0 || json.Unmarshal([]byte(out), &own) != nil || own.Pseudonymed || own.Meetings[0].Citizen != c0.String() {
		t.Fatalf("the citizen's own replay: %d %s %s", code, errs, out)
	}
	other := token(t, s.data, domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen})
	if _, errs, code := cli(t, "replay", "--server", s.http, "--token", other, "--citizen", c0.String()); code != 1 || !strings.Contains(errs, "may not") {
		t.Fatalf("another citizen's replay: %d %s", code, errs)
	}
	for _, path := range []string{"/api/v1/evaluation/indicators", "/api/v1/evaluation/replay?citizen=" + c0.String()} {
		req, _ := http.NewRequest("GET", s.http+path, nil)
		req.Header.Set("Authorization", "Bearer "+ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("%s for a citizen: %d, want 403", path, resp.StatusCode)
		}
	}
	if _, errs, code := cli(t, "evaluate", "--server", s.http, "--token", evaluator, "--from", "1/1/2026"); code != 1 || !strings.Contains(errs, "--from") {
		t.Fatalf("bad date: %d %s", code, errs)
	}
}
