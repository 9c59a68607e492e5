package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
)

func httpGet(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsHaveTheirOwnAddress: the HTTP port of the pages and the API no longer answers
// /metrics; the metrics answer on --metrics-listen, a loopback address by default.
func TestMetricsHaveTheirOwnAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	httpPort, metricsPort := freePort(t), freePort(t)
	srv := startServerOn(t, t.TempDir(), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort), "--metrics-listen", fmt.Sprintf("127.0.0.1:%d", metricsPort))
	if want := fmt.Sprintf("http://127.0.0.1:%d", httpPort); srv.http != want {
		t.Fatalf("HTTP at %s, want %s", srv.http, want)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort); srv.metrics != want {
		t.Fatalf("metrics at %s, want %s", srv.metrics, want)
	}
	if code, body := httpGet(t, srv.http+"/metrics", ""); code != http.StatusNotFound || strings.Contains(body, "aabendialog_") {
		t.Fatalf("/metrics on the HTTP port: %d, want 404 without metrics:\n%.300s", code, body)
	}
	code, body := httpGet(t, srv.metrics, "")
	if code != http.StatusOK || !strings.Contains(body, `aabendialog_read_model_up{projection="meetings"}`) {
		t.Fatalf("%s: %d\n%.300s", srv.metrics, code, body)
	}
	var help bytes.Buffer
	_ = run(t.Context(), []string{"serve", "-h"}, &help, &help)
	if !strings.Contains(help.String(), "-metrics-listen") || !strings.Contains(help.String(), `(default "127.0.0.1:9464")`) {
		t.Fatalf("serve -h does not give --metrics-listen a loopback default:\n%s", help.String())
	}
}

// natsAs connects to serve's node as a client user, with that user's inbox prefix, and
// collects the errors the server sends.
func natsAs(t *testing.T, srv *server, user string) (*nats.Conn, chan error) {
	t.Helper()
	file := auth.NATSClientPasswordFile(srv.data, user)
	pw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("client user %s: %v", user, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", file, fi.Mode().Perm())
	}
	errs := make(chan error, 100)
	nc, err := nats.Connect(srv.natsAddr, nats.UserInfo(user, strings.TrimSpace(string(pw))), nats.CustomInboxPrefix(natsrpc.ClientInboxPrefix(user)),
		nats.NoReconnect(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func wantViolation(t *testing.T, nc *nats.Conn, errs chan error, what string) {
	t.Helper()
	_ = nc.Flush()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), what) {
				return
			}
		case <-timeout:
			t.Fatalf("the client user was allowed %s", what)
		}
	}
}

// TestClientUsersOverNATS: serve makes a password file for each client user it is given; each
// sends commands and queries and gets its replies, and is refused the log (reading or writing)
// and other people's commands. The log names the password files, never the passwords.
func TestClientUsersOverNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	data := t.TempDir()
	srv := startServerOn(t, data, "--nats-clients", "client,kiosk", "--log-level", "info")
	waitReady(t, srv)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	tok := token(t, data, citizen)
	before := lastSeq(t, srv.nats)
	for i, user := range []string{"client", "kiosk"} {
		nc, errs := natsAs(t, srv, user)
		m := uuid.New()
		body, _ := json.Marshal(map[string]any{"meeting_id": m, "citizen_id": citizen.ID})
		msg := &nats.Msg{Subject: natsrpc.CommandSubjectPrefix + domain.CmdConveneMeeting, Data: body, Header: nats.Header{}}
		msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+tok)
		resp, err := nc.RequestMsg(msg, 10*time.Second)
		if err != nil || resp.Header.Get(natsrpc.HeaderStatus) != "200" {
			t.Fatalf("%s: convene: %v %v %s", user, err, resp, respData(resp))
		}
		var r struct{ Sequence uint64 }
		_ = json.Unmarshal(resp.Data, &r)
		q := &nats.Msg{Subject: natsrpc.QuerySubjectPrefix + "history", Data: fmt.Appendf(nil, `{"after":%d}`, r.Sequence), Header: nats.Header{}}
		q.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+tok)
		resp, err = nc.RequestMsg(q, 10*time.Second)
		if err != nil || resp.Header.Get(natsrpc.HeaderStatus) != "200" || !strings.Contains(string(resp.Data), m.String()) {
			t.Fatalf("%s: history: %v %s", user, err, respData(resp))
		}
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := js.Stream(ctx, eventstore.StreamName); err == nil {
			t.Errorf("%s read the log's stream", user)
		}
		cancel()
		wantViolation(t, nc, errs, "$JS.API.STREAM.INFO."+eventstore.StreamName)
		forged := fmt.Sprintf("%s.%s.%s", eventstore.SubjectPrefix, citizen.ID, uuid.New())
		_ = nc.Publish(forged, []byte(`{}`))
		wantViolation(t, nc, errs, forged)
		if _, err := nc.SubscribeSync(natsrpc.CommandSubjectPrefix + ">"); err != nil {
			t.Fatal(err)
		}
		wantViolation(t, nc, errs, natsrpc.CommandSubjectPrefix+">")
		if got := lastSeq(t, srv.nats); got != before+uint64(i)+1 {
			t.Fatalf("after %s: the log is at %d, want %d", user, got, before+uint64(i)+1)
		}
	}
	out := srv.p.stderr.String()
	for _, user := range []string{"client", "kiosk"} {
		pw, _ := os.ReadFile(auth.NATSClientPasswordFile(data, user))
		if !strings.Contains(out, "nats-"+user+".password") || strings.Contains(out, strings.TrimSpace(string(pw))) {
			t.Fatalf("serve's log should name %s's password file and not hold the password:\n%s", user, out)
		}
	}
	// The service's own password is no client's.
	u, _ := url.Parse(srv.natsAddr)
	svcPW, _ := os.ReadFile(auth.NATSPasswordFile(data))
	u.User = url.UserPassword("client", string(svcPW))
	if nc, err := nats.Connect(u.String(), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("the client user connected with the service's password")
	}
}

func respData(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return string(m.Data)
}

// TestUnreadableCommitOverTheBinary: a data directory others can read is tightened; a message
// in the log that is not a commit stops the read models and is reported with its sequence in
// /readyz (to an administrator; anyone else learns only "not ready"), in the metrics and in the
// log; restarted with --skip-unreadable, serve passes over it, counts it and is ready. The
// read models' files are the owner's alone.
func TestUnreadableCommitOverTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program")
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServerOn(t, data)
	waitReady(t, srv)
	if fi, _ := os.Stat(data); fi.Mode().Perm() != 0o700 {
		t.Fatalf("the data directory is %04o, want 0700", fi.Mode().Perm())
	}
	if !strings.Contains(srv.p.stderr.String(), "the data directory could be read by others") {
		t.Fatalf("no warning that the data directory was tightened:\n%s", srv.p.stderr.String())
	}
	nc, err := nats.Connect(srv.nats) // the service's own user: only it can write such a thing
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ack, err := js.Publish(t.Context(), fmt.Sprintf("%s.%s.%s", eventstore.SubjectPrefix, uuid.New(), uuid.New()), []byte("not a commit"))
	nc.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad := ack.Sequence
	admin := token(t, data, domain.Actor{ID: uuid.New(), Role: domain.RoleAdmin})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := httpGet(t, srv.http+"/readyz", admin)
		if code == http.StatusServiceUnavailable && strings.Contains(body, fmt.Sprintf("sequence %d", bad)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz for an administrator: %d %s, want 503 naming sequence %d", code, body, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := httpGet(t, srv.http+"/readyz", ""); code != http.StatusServiceUnavailable || strings.Contains(body, "sequence") {
		t.Fatalf("anonymous readyz: %d %s", code, body)
	}
	_, metrics := httpGet(t, srv.metrics, "")
	for _, proj := range []string{"meetings", "services"} {
		if want := fmt.Sprintf(`aabendialog_read_model_stopped_at_seq{projection=%q} %d`, proj, bad); !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
		if want := fmt.Sprintf("projection=%s seq=%d", proj, bad); !strings.Contains(srv.p.stderr.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, srv.p.stderr.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(data, "readmodels", "*"))
	if len(files) < 4 {
		t.Fatalf("read-model files: %v", files)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}

	srv.p.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.p.done
	srv = startServerOn(t, data, "--skip-unreadable", fmt.Sprint(bad))
	waitReady(t, srv)
	_, metrics = httpGet(t, srv.metrics, "")
	for _, proj := range []string{"meetings", "services"} {
		for _, want := range []string{fmt.Sprintf(`aabendialog_read_model_skipped_commits_total{projection=%q} 1`, proj),
			fmt.Sprintf(`aabendialog_read_model_stopped_at_seq{projection=%q} 0`, proj)} {
			if !strings.Contains(metrics, want) {
				t.Errorf("after --skip-unreadable, metrics lack %s", want)
			}
		}
	}
}
