package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// BenchmarkCommandsOverHTTP sends commands to the JSON API from 64 clients, each with its own
// keep-alive connection, through the token check, the command service and the log, as serve
// runs them; beside the raw engine (a plain JetStream publish with the same concurrency check,
// from as many NATS clients) in the same run. The variants: with fsync always, the raw engine
// with the server's own fsync per message (testnode.ServerFsync), the commands with group commit
// by fsync (the node fsyncs once for every commit waiting, as serve runs), and the commands with
// every commit its own write and server fsync (ServerFsync); with a 1 s interval, the raw engine
// and the commands. So the three rates of the target come from one run: durable with
// group commit, the same binary with a 1 s interval, and the engine's own fsync-per-message rate.
//
//	go test ./handlers -run '^$' -bench CommandsOverHTTP -benchtime 20000x
func BenchmarkCommandsOverHTTP(b *testing.B) {
	const clients = 64
	always, interval := eventstore.FsyncAlways, eventstore.Fsync{Interval: time.Second}
	for _, tc := range []struct {
		name string
		fs   eventstore.Fsync
		opts []testnode.Option
		raw  bool
	}{
		{"fsync=always/raw", always, []testnode.Option{testnode.ServerFsync()}, true},
		{"fsync=always/commands", always, nil, false},
		{"fsync=always/commands-without-group-commit", always, []testnode.Option{testnode.ServerFsync()}, false},
		{"fsync=1s/raw", interval, nil, true},
		{"fsync=1s/commands", interval, nil, false},
	} {
		b.Run(fmt.Sprintf("%s/clients=%d", tc.name, clients), func(b *testing.B) {
			s := newBenchServer(b, tc.fs, tc.opts...)
			cs := make([]*benchClient, clients)
			for i := range cs {
				cs[i] = s.client(b)
			}
			if tc.raw {
				payload := commitPayload()
				runClients(b, cs, func(c *benchClient) error { return c.raw(payload) })
				return
			}
			api := &httpapi.API{Service: s.svc, Verifier: s.verify, Metrics: metrics.New(),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), NewID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
			srv := httptest.NewServer(api.Handler())
			b.Cleanup(srv.Close)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			b.Cleanup(hc.CloseIdleConnections)
			fsyncs := s.node.FsyncStats()
			runClients(b, cs, func(c *benchClient) error { return c.overHTTP(hc, srv.URL) })
			if f := s.node.FsyncStats(); f.Rounds > fsyncs.Rounds {
				b.ReportMetric(float64(f.Waits-fsyncs.Waits)/float64(f.Rounds-fsyncs.Rounds), "waits/fsync")
			}
		})
	}
}

// overHTTP sends the client's next command to the JSON API and waits for the answer.
func (c *benchClient) overHTTP(hc *http.Client, base string) error {
	name, data := c.next()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/commands/"+name, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set(httpapi.HeaderIdempotencyKey, uuid.Must(uuid.NewV7()).String())
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", name, resp.StatusCode, raw)
	}
	return nil
}
