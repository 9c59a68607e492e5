package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
)

// startServerOn runs serve on a data directory with a flush interval (these tests are about the
// read models, not durability) and returns its addresses.
func startServerOn(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--fsync", "1s", "--log-level", "warn"}, extra...)
	p := startProcess(t, "aabendialog serving", args...)
	var httpURL, natsURL, metricsURL string
	if _, err := fmt.Sscanf(strings.ReplaceAll(p.ready, ",", " "), "aabendialog serving; HTTP at %s NATS at %s metrics at %s", &httpURL, &natsURL, &metricsURL); err != nil {
		t.Fatalf("ready line %q: %v", p.ready, err)
	}
	return &server{p: p, data: data, http: httpURL, nats: withPassword(t, data, natsURL), natsAddr: natsURL,
		metrics: strings.TrimSuffix(metricsURL, ".")}
}

// withPassword adds the user and password of the serve on data to its NATS address.
func withPassword(t *testing.T, data, natsURL string) string {
	t.Helper()
	pw, err := os.ReadFile(auth.NATSPasswordFile(data))
	if err != nil {
		t.Fatalf("serve on %s is ready without a NATS password: %v", data, err)
	}
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(auth.NATSUser, string(pw))
	return u.String()
}

func waitReady(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not ready in time")
}

// truth counts what the read models must hold, from the log itself through the domain.
type truth struct {
	Meetings, Participants, Present, FollowUps, Completed, Agenda int
	Status                                                        map[string]int
	ServiceRows, ServiceAccepted, ServiceAttended                 int
}

func truthFromLog(t *testing.T, natsURL string) truth {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	store, err := eventstore.Attach(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	meetings := map[uuid.UUID]*domain.Meeting{}
	if err := store.Read(ctx, eventstore.ReadOptions{}, func(r eventstore.Recorded) error {
		m := meetings[r.Commit.MeetingID]
		if m == nil {
			m = &domain.Meeting{}
			meetings[r.Commit.MeetingID] = m
		}
		m.Apply(r.Commit)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tr := truth{Status: map[string]int{}}
	for _, m := range meetings {
		tr.Meetings++
		tr.Status[string(m.Status())]++
		tr.Agenda += len(m.Agenda())
		for _, p := range m.Participants() {
			tr.Participants++
			if p.Present {
				tr.Present++
			}
			if p.Service != "" && (p.Kind == domain.KindProfessional || p.Kind == domain.KindRegion) {
				tr.ServiceRows++
				if p.Answer == domain.AnswerAccepted && !p.Withdrawn {
					tr.ServiceAccepted++
				}
				if p.Present {
					tr.ServiceAttended++
				}
			}
		}
		for _, f := range m.FollowUps() {
			tr.FollowUps++
			if f.Completed {
				tr.Completed++
			}
		}
	}
	return tr
}

// openReadModel opens the current file of a read model in data, read-only, until the test ends.
func openReadModel(t *testing.T, data, name string) *sql.DB {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "readmodels", name+".current"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(data, "readmodels", strings.TrimSpace(string(b)))+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// truthFromFiles counts what the read models' SQLite files hold.
func truthFromFiles(t *testing.T, data string) truth {
	t.Helper()
	m, s := openReadModel(t, data, "meetings"), openReadModel(t, data, "services")
	tr := truth{Status: map[string]int{}}
	one := func(db *sql.DB, q string, dst *int) {
		if err := db.QueryRow(q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	one(m, `SELECT count(*) FROM meetings`, &tr.Meetings)
	one(m, `SELECT count(*) FROM participants`, &tr.Participants)
	one(m, `SELECT count(*) FROM participants WHERE present = 1`, &tr.Present)
	one(m, `SELECT count(*) FROM follow_ups`, &tr.FollowUps)
	one(m, `SELECT count(*) FROM follow_ups WHERE completed_at IS NOT NULL`, &tr.Completed)
	one(m, `SELECT count(*) FROM agenda_items`, &tr.Agenda)
	one(s, `SELECT count(*) FROM service_participants`, &tr.ServiceRows)
	one(s, `SELECT coalesce(sum(accepted * invited), 0) FROM service_participants`, &tr.ServiceAccepted)
	one(s, `SELECT coalesce(sum(attended), 0) FROM service_participants`, &tr.ServiceAttended)
	rows, err := m.Query(`SELECT status, count(*) FROM meetings GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		rows.Scan(&st, &n)
		tr.Status[st] = n
	}
	return tr
}

func adminStatus(t *testing.T, s *server, token string) []httpapi.ReadModelStatus {
	c := &httpapi.Client{Server: s.http, Token: token}
	var st []httpapi.ReadModelStatus
	if err := c.Get(context.Background(), "/api/v1/read-models", nil, &st); err != nil {
		return nil
	}
	return st
}

// TestReadModelsExactAfterSIGKILL kills a server with SIGKILL twice: once while its projectors
// follow a stream of commands commit by commit, once while it loads empty read models from the
// log in bulk. After each restart every count in every read model equals what the log says.
func TestReadModelsExactAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, seeds and kills the real program")
	}
	data := t.TempDir()
	s := startServerOn(t, data)
	if out, errs, code := cli(t, "seed", "--nats", s.nats, "--citizens", "800"); code != 0 {
		t.Fatalf("seed: %d %s %s", code, out, errs)
	}
	waitReady(t, s)
	admin := token(t, data, domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin})
	before := adminStatus(t, s, admin)[0].Seq
	check := func(phase string) {
		t.Helper()
		s = startServerOn(t, data)
		waitReady(t, s)
		want := truthFromLog(t, s.nats)
		s.p.cmd.Process.Signal(syscall.SIGTERM)
		<-s.p.done
		got := truthFromFiles(t, data)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: read models after SIGKILL and restart:\n got %+v\nwant %+v", phase, got, want)
		}
		t.Logf("%s: %d meetings, %d participants, %d follow-ups: exact", phase, got.Meetings, got.Participants, got.FollowUps)
	}

	// 1. While commands stream in and the projectors follow them.
	seed := exec.Command(binary(t), "seed", "--nats", s.nats, "--citizens", "600")
	if err := seed.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if st := adminStatus(t, s, admin); len(st) == 2 && st[0].Seq > before+2000 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.p.cmd.Process.Signal(syscall.SIGKILL)
	<-s.p.done
	seed.Wait() // it fails: its server went away mid-stream
	check("killed while following")

	// 2. While empty read models are loaded from the log in bulk.
	if err := os.RemoveAll(filepath.Join(data, "readmodels")); err != nil {
		t.Fatal(err)
	}
	s = startServerOn(t, data)
	loading := false
	for i := 0; i < 2000 && !loading; i++ {
		st := adminStatus(t, s, admin)
		loading = len(st) == 2 && st[0].Seq == 0
		if !loading {
			time.Sleep(time.Millisecond)
		}
	}
	s.p.cmd.Process.Signal(syscall.SIGKILL)
	<-s.p.done
	if !loading {
		t.Fatal("could not kill the server while it was loading its read models")
	}
	check("killed while loading in bulk")
}

// TestQueriesEndToEnd runs a meeting through the real program and asks the read models over
// HTTP (the CLI) and NATS, reading its own writes; then rebuilds them through the CLI and gets
// the same answers.
func TestQueriesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	s := startServerOn(t, t.TempDir(), "--min-group", "2", "--fsync", "always") // always: its metrics show the fsync rounds
	waitReady(t, s)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	job := domain.Actor{ID: uuid.New(), Role: domain.RoleProfessional, Service: "Jobcenter"}
	ct, jt := token(t, s.data, citizen), token(t, s.data, job)
	admin := token(t, s.data, domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin})
	c := &httpapi.Client{Server: s.http, Token: ct}
	ctx := context.Background()
	m := uuid.New()
	send := func(tok, name string, body map[string]any) command.Reply {
		t.Helper()
		r, err := (&httpapi.Client{Server: s.http, Token: tok}).Send(ctx, name, uuid.New(), body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	send(ct, "convene-meeting", map[string]any{"meeting_id": m, "citizen_id": citizen.ID, "title": "Mit møde"})
	send(ct, "citizen-sets-agenda", map[string]any{"meeting_id": m, "items": []string{"Min bolig"}})
	send(ct, "invite-participant", map[string]any{"meeting_id": m, "participant_id": job.ID, "name": "Karin", "kind": "professional", "service": "Jobcenter"})
	last := send(ct, "schedule-meeting", map[string]any{"meeting_id": m, "at": time.Now().Add(30 * time.Minute).Format(time.RFC3339), "place": "home"})
	_ = c

	// The CLI, reading its own write.
	after := fmt.Sprint(last.Sequence)
	out, errs, code := cli(t, "history", "--server", s.http, "--token", ct, "--after", after, "--json")
	if code != 0 {
		t.Fatalf("history: %d %s", code, errs)
	}
	var hp struct {
		Items []map[string]any `json:"items"`
		Next  string           `json:"next_cursor"`
	}
	json.Unmarshal([]byte(out), &hp)
	h := hp.Items
	if len(h) != 1 || h[0]["status"] != "scheduled" || h[0]["agenda"].([]any)[0] != "Min bolig" || hp.Next != "" {
		t.Fatalf("history: %s", out)
	}
	// Pages: a second meeting, one per page, by cursor and all at once.
	m2 := uuid.New()
	last2 := send(ct, "convene-meeting", map[string]any{"meeting_id": m2, "citizen_id": citizen.ID, "title": "Mit andet møde"})
	out, errs, code = cli(t, "history", "--server", s.http, "--token", ct, "--after", fmt.Sprint(last2.Sequence), "--limit", "1")
	if code != 0 || !strings.Contains(out, "Mit møde") || strings.Contains(out, "Mit andet møde") || !strings.Contains(errs, "--cursor ") {
		t.Fatalf("history --limit 1: %d %s %s", code, out, errs)
	}
	cursor := strings.Fields(errs[strings.Index(errs, "--cursor ")+len("--cursor "):])[0]
	if out, errs, code := cli(t, "history", "--server", s.http, "--token", ct, "--limit", "1", "--cursor", cursor); code != 0 || !strings.Contains(out, "Mit andet møde") || strings.Contains(errs, "--cursor") {
		t.Fatalf("history --cursor: %d %s %s", code, out, errs)
	}
	if out, errs, code := cli(t, "history", "--server", s.http, "--token", ct, "--limit", "1", "--all", "--json"); code != 0 || json.Unmarshal([]byte(out), &hp) != nil || len(hp.Items) != 2 || hp.Next != "" || !strings.Contains(errs, "2 pages") {
		t.Fatalf("history --all: %d %s %s", code, out, errs)
	}
	if _, errs, code := cli(t, "history", "--server", s.http, "--token", ct, "--limit", "1000"); code != 1 || !strings.Contains(errs, "--limit") {
		t.Fatalf("history --limit 1000: %d %s", code, errs)
	}
	if out, _, code := cli(t, "history", "--server", s.http, "--token", ct); code != 0 || !strings.Contains(out, "Karin (Jobcenter): pending") {
		t.Fatalf("history for a person: %d %s", code, out)
	}
	if out, _, code := cli(t, "inbox", "--server", s.http, "--token", jt, "--after", after); code != 0 || !strings.Contains(out, "Invitations to answer (1)") || !strings.Contains(out, "Min bolig") {
		t.Fatalf("inbox: %d %s", code, out)
	}
	if _, errs, code := cli(t, "services", "--server", s.http, "--token", ct); code != 1 || !strings.Contains(errs, "for professionals") {
		t.Fatalf("services for a citizen: %d %s", code, errs)
	}
	// k = 2 from serve --min-group: the one citizen's service is suppressed; the professional
	// sees the meeting they are invited to.
	if out, _, code := cli(t, "services", "--server", s.http, "--token", jt, "--after", after); code != 0 || !strings.Contains(out, "Jobcenter  (skjult: færre end 2 borgere)") ||
		!strings.Contains(out, "YOUR MEETINGS") || !strings.Contains(out, m.String()) {
		t.Fatalf("services: %d %s", code, out)
	}
	if _, errs, code := cli(t, "services", "--server", s.http, "--token", jt, "--period", "2026-01-01"); code != 1 || !strings.Contains(errs, "--period") {
		t.Fatalf("services for a day: %d %s", code, errs)
	}
	if _, errs, code := cli(t, "history", "--server", s.http, "--token", jt, "--citizen", "nope"); code != 1 || !strings.Contains(errs, "--citizen") {
		t.Fatalf("bad citizen id: %d %s", code, errs)
	}
	// Over NATS.
	nc, err := nats.Connect(s.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg := &nats.Msg{Subject: natsrpc.QuerySubjectPrefix + "history", Data: []byte(`{"after":` + after + `}`), Header: nats.Header{}}
	msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+ct)
	resp, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil || resp.Header.Get(natsrpc.HeaderStatus) != "200" || !strings.Contains(string(resp.Data), "Min bolig") {
		t.Fatalf("history over NATS: %v %s", err, resp.Data)
	}
	msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+admin)
	if resp, err := nc.RequestMsg(msg, 10*time.Second); err != nil || resp.Header.Get(natsrpc.HeaderStatus) != "403" {
		t.Fatalf("history over NATS for an admin: %v %s", err, resp.Data)
	}
	before, _, _ := cli(t, "history", "--server", s.http, "--token", ct, "--json")
	// Rebuild through the CLI: an admin only.
	if _, errs, code := cli(t, "rebuild", "--server", s.http, "--token", ct); code != 1 || !strings.Contains(errs, "administrators") {
		t.Fatalf("rebuild by a citizen: %d %s", code, errs)
	}
	if _, errs, code := cli(t, "rebuild", "--server", s.http, "--token", admin); code != 0 || !strings.Contains(errs, "rebuilding meetings done") || !strings.Contains(errs, "rebuilding services done") {
		t.Fatalf("rebuild: %d %s", code, errs)
	}
	if after, _, _ := cli(t, "history", "--server", s.http, "--token", ct, "--json"); after != before {
		t.Fatalf("history changed with the rebuild:\n%s\n%s", before, after)
	}
	// A second rebuild of the same read model (this once crashed the server).
	if _, errs, code := cli(t, "rebuild", "--server", s.http, "--token", admin, "--projection", "meetings"); code != 0 {
		t.Fatalf("second rebuild: %d %s", code, errs)
	}
	if after, _, _ := cli(t, "history", "--server", s.http, "--token", ct, "--json"); after != before {
		t.Fatalf("history changed with the second rebuild")
	}
	metrics, err := http.Get(s.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Body.Close()
	b := new(strings.Builder)
	buf := make([]byte, 1<<16)
	for {
		n, err := metrics.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, want := range []string{`aabendialog_read_model_lag_events{projection="meetings"} 0`, `aabendialog_read_model_up{projection="services"} 1`, "aabendialog_log_fsync_failed 0"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The commands above were answered after fsync rounds of the node.
	if !regexp.MustCompile(`(?m)^aabendialog_log_fsyncs_total [1-9]`).MatchString(b.String()) ||
		!regexp.MustCompile(`(?m)^aabendialog_log_fsync_waits_total [1-9]`).MatchString(b.String()) {
		t.Errorf("/metrics shows no fsync rounds:\n%s", b.String())
	}
	// The heap floor (128 MiB by default) set the collector's next goal, far above what this
	// small server's live heap would give (a few tens of MB at GOGC=100).
	next := regexp.MustCompile(`(?m)^go_memstats_next_gc_bytes (\S+)`).FindStringSubmatch(b.String())
	if next == nil {
		t.Fatalf("/metrics lacks go_memstats_next_gc_bytes")
	}
	if goal, err := strconv.ParseFloat(next[1], 64); err != nil || goal < 120<<20 {
		t.Errorf("the collector's next goal is %s bytes, want the heap floor's 128 MiB", next[1])
	}
}

func lastSeq(t *testing.T, natsURL string) uint64 {
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
	last, err := store.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return last
}
