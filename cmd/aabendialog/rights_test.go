package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
)

// TestMandatesAndAccessLogEndToEnd runs the contract verbs against the real program: a support
// person is refused until the citizen runs grant-mandate, and again after revoke-mandate; a
// professional cannot grant one without a written power of attorney; the citizen's access-log
// shows the professional's and the support person's reads, newest first, and no one else's
// question about it is answered; an administrator asks by reader. The access log's stream
// keeps entries for --access-log-retention.
func TestMandatesAndAccessLogEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	srv := startServerOn(t, t.TempDir(), "--access-log-retention", "30d")
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	support := domain.Actor{ID: uuid.New(), Role: domain.RoleSupport, OnBehalfOf: citizen.ID}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	admin := domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin}
	other := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	cit, sup, pro := token(t, srv.data, citizen), token(t, srv.data, support), token(t, srv.data, job)
	run := func(tok string, args ...string) (string, string, int) {
		t.Helper()
		return cli(t, append(append([]string{args[0]}, "--server", srv.http, "--token", tok), args[1:]...)...)
	}
	mustFail := func(what, want string, out, errs string, code int) {
		t.Helper()
		if code != 1 || !strings.Contains(errs, want) {
			t.Fatalf("%s: exit %d, %q %q; want refused saying %q", what, code, out, errs, want)
		}
	}

	out, errs, code := run(sup, "history")
	mustFail("history without a mandate", "have not given you a mandate", out, errs, code)

	out, errs, code = run(cit, "grant-mandate", "--person", support.ID.String(), "--kind", "boss")
	if code != 1 || !strings.Contains(errs, "--kind") {
		t.Fatalf("an unknown kind: exit %d %q", code, errs)
	}
	out, errs, code = run(pro, "grant-mandate", "--citizen", citizen.ID.String(), "--person", support.ID.String(), "--kind", "support")
	mustFail("a professional without a power of attorney", "written power of attorney", out, errs, code)

	out, errs, code = run(cit, "grant-mandate", "--person", support.ID.String(), "--kind", "support", "--name", "Bo", "--until", "2099-12-31")
	if code != 0 || !strings.Contains(errs, "Mandate given. Citizen "+citizen.ID.String()) {
		t.Fatalf("grant-mandate: exit %d %q %q", code, out, errs)
	}
	out, errs, code = run(cit, "convene-meeting", "--citizen", citizen.ID.String(), "--title", "Mit møde")
	if code != 0 {
		t.Fatalf("convene: %d %s", code, errs)
	}
	meeting := strings.TrimSpace(out)
	var reply struct{ Sequence uint64 }
	out, errs, code = run(cit, "invite-participant", "--meeting", meeting, "--participant", job.ID.String(), "--name", "Karin", "--kind", "professional", "--service", "Jobcenter", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &reply) != nil {
		t.Fatalf("invite: %d %s %s", code, out, errs)
	}
	after := []string{"--after", strings.TrimSpace(jsonString(reply.Sequence))}
	if out, errs, code = run(pro, append([]string{"history", "--citizen", citizen.ID.String()}, after...)...); code != 0 || !strings.Contains(out, "Mit møde") {
		t.Fatalf("the professional's history: %d %q %q", code, out, errs)
	}
	if out, errs, code = run(sup, append([]string{"history"}, after...)...); code != 0 || !strings.Contains(out, "Mit møde") {
		t.Fatalf("the support person's history with a mandate: %d %q %q", code, out, errs)
	}

	out, errs, code = run(cit, "access-log", "--json")
	var page struct {
		Items []struct {
			At       time.Time         `json:"at"`
			Role     domain.Role       `json:"role"`
			Service  string            `json:"service"`
			What     string            `json:"what"`
			Purpose  accesslog.Purpose `json:"purpose"`
			ReaderID string            `json:"reader_id"`
		} `json:"items"`
		Next string `json:"next_cursor"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || page.Next != "" {
		t.Fatalf("access-log --json: %d %q %q", code, out, errs)
	}
	entries := page.Items
	if len(entries) != 2 || entries[0].Role != domain.RoleSupport || entries[0].Purpose != accesslog.PurposeSupport ||
		entries[1].Role != domain.RoleProfessional || entries[1].Service != "Jobcenter" || entries[1].What != "history" ||
		entries[0].At.Before(entries[1].At) || entries[0].ReaderID != "" {
		t.Fatalf("the citizen's access log, newest first: %+v", entries)
	}
	// One entry a page, newest first; the cursor gives the older one.
	out, errs, code = run(cit, "access-log", "--json", "--limit", "1")
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 || page.Items[0].Role != domain.RoleSupport || page.Next == "" {
		t.Fatalf("access-log --limit 1: %d %q %q", code, out, errs)
	}
	out, errs, code = run(cit, "access-log", "--json", "--limit", "1", "--cursor", page.Next)
	page.Items, page.Next = nil, ""
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 || page.Items[0].Role != domain.RoleProfessional || page.Next != "" {
		t.Fatalf("access-log --cursor: %d %q %q", code, out, errs)
	}
	if out, _, code = run(cit, "access-log"); code != 0 || !strings.Contains(out, "Jobcenter") || !strings.Contains(out, "support on your behalf") || strings.Contains(out, job.ID.String()) {
		t.Fatalf("access-log: %d %q", code, out)
	}
	out, errs, code = run(token(t, srv.data, other), "access-log", "--citizen", citizen.ID.String())
	mustFail("another citizen's access log", "only who has read your own data", out, errs, code)
	out, errs, code = run(pro, "access-log", "--citizen", citizen.ID.String())
	mustFail("a professional reading the access log", "only the citizen", out, errs, code)
	if out, errs, code = run(token(t, srv.data, admin), "access-log", "--actor", job.ID.String(), "--json"); code != 0 || !strings.Contains(out, `"reader_id": "`+job.ID.String()) {
		t.Fatalf("an administrator by reader: %d %q %q", code, out, errs)
	}

	// Limited to the one meeting: the bisidder acts there, not on another, and cannot give the
	// citizen's consent to share with the region.
	out, errs, code = run(cit, "grant-mandate", "--person", support.ID.String(), "--kind", "support", "--meeting", "not-an-id")
	if code != 1 || !strings.Contains(errs, "--meeting") {
		t.Fatalf("a malformed --meeting: exit %d %q", code, errs)
	}
	if out, errs, code = run(cit, "grant-mandate", "--person", support.ID.String(), "--kind", "support", "--meeting", meeting); code != 0 {
		t.Fatalf("grant-mandate --meeting: %d %q %q", code, out, errs)
	}
	out, errs, code = run(cit, "convene-meeting", "--citizen", citizen.ID.String(), "--title", "Et andet møde")
	if code != 0 {
		t.Fatalf("convene: %d %s", code, errs)
	}
	second := strings.TrimSpace(out)
	if out, errs, code = run(sup, "citizen-sets-agenda", "--meeting", meeting, "--item", "Bolig"); code != 0 {
		t.Fatalf("the bisidder on the meeting the mandate covers: %d %q %q", code, out, errs)
	}
	out, errs, code = run(sup, "citizen-sets-agenda", "--meeting", second, "--item", "Bolig")
	mustFail("the bisidder on another meeting", "does not cover meeting", out, errs, code)
	out, errs, code = run(sup, "invite-participant", "--meeting", meeting, "--participant", uuid.NewString(), "--name", "Lene", "--kind", "region",
		"--service", "Regionspsykiatrien", "--consent", domain.ConsentTextVersion)
	mustFail("the bisidder consenting to share", "a bisidder cannot give the citizen's consent", out, errs, code)

	out, errs, code = run(cit, "revoke-mandate", "--person", support.ID.String())
	if code != 0 || !strings.Contains(errs, "Mandate taken back.") {
		t.Fatalf("revoke-mandate: %d %q %q", code, out, errs)
	}
	out, errs, code = run(sup, "history")
	mustFail("history after revocation", "have not given you a mandate", out, errs, code)

	nc, err := nats.Connect(srv.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), accesslog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.MaxAge; got != 30*24*time.Hour {
		t.Fatalf("the access log keeps entries for %s, want 30 days", got)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
