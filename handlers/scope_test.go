package handlers_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// TestMandateLimitedToOneMeeting: a bisidder whose mandate names one meeting sees that meeting
// alone (its page, the history, the access log) and acts on it alone; another meeting of the
// citizen answers as one that does not exist, and a new meeting cannot be convened. A mandate
// cannot name another citizen's meeting.
func TestMandateLimitedToOneMeeting(t *testing.T) {
	w := newQueryEnv(t, 5)
	p := newCast()
	cit, sup := w.token(p.citizen), w.token(p.support)
	mine, other := uuid.New(), uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": mine, "citizen_id": p.citizen.ID, "title": "Med bisidder"})
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": other, "citizen_id": p.citizen.ID, "title": "Uden bisidder"})
	w.ok(cit, "invite-participant", map[string]any{"meeting_id": mine, "participant_id": p.job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	last := w.ok(cit, "invite-participant", map[string]any{"meeting_id": other, "participant_id": p.job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	// Two reads by a professional, one of each meeting's page, for the access log.
	reads := w.reads(w.queries)
	for _, m := range []uuid.UUID{mine, other} {
		if _, err := reads.Meeting(t.Context(), p.job, m, last.Sequence); err != nil {
			t.Fatalf("the professional's read: %v", err)
		}
	}

	// Another citizen's meeting, or one never convened, cannot be named.
	strangers := uuid.New()
	stranger := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	w.ok(w.token(stranger), "convene-meeting", map[string]any{"meeting_id": strangers, "citizen_id": stranger.ID})
	for _, m := range []uuid.UUID{strangers, uuid.New()} {
		a := w.post(cit, "grant-mandate", uuid.New(), map[string]any{"person_id": p.support.ID, "kind": "support", "meeting_ids": []uuid.UUID{m}})
		if a.status != 400 || a.err.Field != "meeting_ids" {
			t.Fatalf("a mandate for meeting %s, not the citizen's: %d %+v, want 400 naming meeting_ids", m, a.status, a.err)
		}
	}
	g := w.ok(cit, "grant-mandate", map[string]any{"person_id": p.support.ID, "kind": "support", "meeting_ids": []uuid.UUID{mine}})
	if !strings.Contains(string(g.Events[0].Data), `"meeting_ids":["`+mine.String()+`"]`) {
		t.Fatalf("the grant does not record its meeting: %s", g.Events[0].Data)
	}

	// Reads: the covered meeting only.
	after := "?after=" + itoa(g.Sequence)
	if v, err := reads.Meeting(t.Context(), p.support, mine, g.Sequence); err != nil || v.Title != "Med bisidder" {
		t.Fatalf("the covered meeting: %+v %v", v, err)
	}
	var de *domain.Error
	if v, err := reads.Meeting(t.Context(), p.support, other, g.Sequence); !errors.As(err, &de) || de.Kind != domain.NotFound || v.Title != "" {
		t.Fatalf("the meeting the mandate leaves out: %+v %v, want not found and nothing shown", v, err)
	}
	st, raw := w.getAPI(p.support, "/api/v1/history"+after)
	var h projections.Paged[projections.MeetingView]
	if err := json.Unmarshal(raw, &h); st != 200 || err != nil || len(h.Items) != 1 || h.Items[0].MeetingID != mine {
		t.Fatalf("history for the bisidder of one meeting: %d %s %v", st, raw, err)
	}
	st, raw = w.getAPI(p.support, "/api/v1/access-log")
	var al projections.Paged[query.AccessView]
	if err := json.Unmarshal(raw, &al); st != 200 || err != nil {
		t.Fatalf("access log: %d %s %v", st, raw, err)
	}
	// Their own read of the meeting and the professional's; not the professional's read of the
	// other meeting, nor the history read, which names no meeting.
	if len(al.Items) != 2 || al.Items[0].MeetingID != mine || al.Items[1].MeetingID != mine || al.Items[1].Role != domain.RoleProfessional {
		t.Fatalf("the bisidder of one meeting sees the reads %+v, want those of that meeting", al.Items)
	}
	// The citizen sees them all: both reads, the bisidder's and their look at the log.
	st, raw = w.getAPI(p.citizen, "/api/v1/access-log")
	if err := json.Unmarshal(raw, &al); st != 200 || err != nil || len(al.Items) < 4 {
		t.Fatalf("the citizen's access log: %d %s %v", st, raw, err)
	}

	// The replay, by citizen and by meeting, keeps to the covered meeting too.
	rp := &evaluation.Replayer{Store: w.store, Pseudonyms: evaluation.NewPseudonyms(make([]byte, 32))}
	api := httptest.NewServer((&httpapi.API{Service: w.service, Verifier: w.verify, Metrics: w.metrics, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Replayer: rp, Access: reads, NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}).Handler())
	defer api.Close()
	replay := func(params string) (int, evaluation.Replay) {
		t.Helper()
		req, _ := http.NewRequest("GET", api.URL+"/api/v1/replay?"+params, nil)
		req.Header.Set("Authorization", "Bearer "+sup)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out evaluation.Replay
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, rep := replay("citizen=" + p.citizen.ID.String())
	if st != 200 || len(rep.Entries) == 0 || len(rep.Meetings) != 1 || rep.Meetings[0].MeetingID != mine {
		t.Fatalf("the bisidder's replay of the citizen: %d %+v", st, rep.Meetings)
	}
	for _, e := range rep.Entries {
		if e.MeetingID != mine {
			t.Fatalf("the replay shows meeting %s, outside the mandate", e.MeetingID)
		}
	}
	if st, rep := replay("meeting=" + other.String()); st != 404 || len(rep.Entries) != 0 {
		t.Fatalf("the bisidder's replay of the meeting left out: %d %+v", st, rep)
	}

	// Commands: the covered meeting only, and no new meeting.
	w.ok(sup, "citizen-sets-agenda", map[string]any{"meeting_id": mine, "items": []string{"Bolig"}})
	for _, tc := range []struct {
		name, msg string
		body      map[string]any
	}{
		{"citizen-sets-agenda", "does not cover meeting", map[string]any{"meeting_id": other, "items": []string{"Bolig"}}},
		{"convene-meeting", "does not let you convene", map[string]any{"meeting_id": uuid.New(), "citizen_id": p.citizen.ID}},
	} {
		if a := w.post(sup, tc.name, uuid.New(), tc.body); a.status != 403 || !strings.Contains(a.err.Message, tc.msg) {
			t.Fatalf("%s outside the mandate: %d %+v, want 403 saying %q", tc.name, a.status, a.err, tc.msg)
		}
	}
	if l, err := w.store.Load(t.Context(), other); err != nil || len(l.Meeting.Agenda()) != 0 {
		t.Fatalf("the refused command wrote to the other meeting: %v %v", l.Meeting.Agenda(), err)
	}

	// Given again without the limit, the mandate reaches every meeting.
	g = w.ok(cit, "grant-mandate", map[string]any{"person_id": p.support.ID, "kind": "support"})
	if _, err := reads.Meeting(t.Context(), p.support, other, g.Sequence); err != nil {
		t.Fatalf("after a mandate for all meetings: %v", err)
	}
}

// TestBisidderCannotConsentToShare: inviting someone from the region records the citizen's
// consent to share (forvaltningsloven § 28), which a bisidder cannot give and a representative
// can; a bisidder may still invite from the municipality's own services and withdraw a consent.
func TestBisidderCannotConsentToShare(t *testing.T) {
	w := newQueryEnv(t, 5)
	w.startRouter(metrics.New())
	p := newCast()
	rep := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: p.citizen.ID}
	cit, sup := w.token(p.citizen), w.token(p.support)
	m := uuid.New()
	w.ok(cit, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": p.citizen.ID})
	w.ok(cit, "grant-mandate", map[string]any{"person_id": p.support.ID, "kind": "support"})
	w.ok(cit, "grant-mandate", map[string]any{"person_id": rep.ID, "kind": "representative"})
	region := func(id uuid.UUID) map[string]any {
		return map[string]any{"meeting_id": m, "participant_id": id, "name": "Lene", "kind": "region", "service": "Regionspsykiatrien",
			"consent_version": domain.ConsentTextVersion}
	}
	psychiatrist := uuid.New()
	a := w.post(sup, "invite-participant", uuid.New(), region(psychiatrist))
	const bisidder = "a bisidder cannot give the citizen's consent"
	if a.status != 403 || !strings.Contains(a.err.Message, bisidder) {
		t.Fatalf("a bisidder consenting to share: %d %+v, want 403 saying %q", a.status, a.err, bisidder)
	}
	if st, body := w.natsCommand(p.support, "invite-participant", region(psychiatrist)); st != 403 || !strings.Contains(string(body), bisidder) {
		t.Fatalf("over NATS: %d %s", st, body)
	}
	if l, err := w.store.Load(t.Context(), m); err != nil || len(l.Meeting.Participants()) != 0 {
		t.Fatalf("the refused invitation was written: %v", err)
	}
	w.ok(sup, "invite-participant", map[string]any{"meeting_id": m, "participant_id": p.job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	w.ok(w.token(rep), "invite-participant", region(psychiatrist))
	w.ok(sup, "withdraw-consent", map[string]any{"meeting_id": m, "participant_id": psychiatrist})
}
