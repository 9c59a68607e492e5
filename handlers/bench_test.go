package handlers_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/internal/heapfloor"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// benchServer is what "serve" runs: an embedded node, and the log and the command router on an
// in-process connection to it. Clients connect over TCP, raw publishers as well.
type benchServer struct {
	node   *eventstore.Node
	signer *auth.Signer
	svc    *command.Service
	verify *auth.Verifier
}

func newBenchServer(b *testing.B, fs eventstore.Fsync, opts ...testnode.Option) *benchServer {
	b.Helper()
	asServe()
	tn := testnode.Start(b, append([]testnode.Option{testnode.Fsync(fs)}, opts...)...)
	nd, nc, store := tn.Node, tn.Conn, tn.Store
	_, key, _ := ed25519.GenerateKey(nil)
	svc := command.New(store, time.Now, metrics.New())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	verify := auth.NewVerifier(key.Public(), auth.TokenIssuer, auth.TokenAudience, time.Now)
	r, err := natsrpc.NewCommandRouter(nc, svc, verify,
		func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, log, natsrpc.RouterConfig{})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(context.Background()) }()
	<-r.Running()
	b.Cleanup(func() { _ = r.Close(); <-done })
	return &benchServer{node: nd, signer: auth.NewSigner(key, time.Now), svc: svc, verify: verify}
}

// asServe gives the benchmarks' process the garbage collector's setting serve runs with: its
// default heap floor (internal/heapfloor).
var asServe = sync.OnceFunc(func() { heapfloor.Start(heapfloor.Default) })

// benchClient is one client: its own connection and citizen, moving to a new meeting every 20
// commands (a convene, then agenda changes), as in the log's append benchmark.
type benchClient struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	token   string
	citizen uuid.UUID
	meeting uuid.UUID
	n       int
	last    uint64 // raw: the expected sequence
}

const commandsPerMeeting = 20

func (s *benchServer) client(b *testing.B) *benchClient {
	nc, err := nats.Connect(s.node.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	c := &benchClient{nc: nc, js: js, citizen: uuid.New()}
	if c.token, err = s.signer.Issue(domain.Actor{ID: c.citizen, Role: domain.RoleCitizen}, time.Hour); err != nil {
		b.Fatal(err)
	}
	return c
}

var agendaItems = []string{"Min bolig og min økonomi", "Hvem gør hvad"}

// next is the client's next command, its name and JSON body: a convene every
// commandsPerMeeting commands, an agenda otherwise.
func (c *benchClient) next() (string, []byte) {
	var name string
	var body any
	if c.n%commandsPerMeeting == 0 {
		c.meeting = uuid.New()
		name, body = domain.CmdConveneMeeting, map[string]any{"meeting_id": c.meeting, "citizen_id": c.citizen}
	} else {
		name, body = domain.CmdCitizenSetsAgenda, map[string]any{"meeting_id": c.meeting, "items": agendaItems}
	}
	c.n++
	data, _ := json.Marshal(body)
	return name, data
}

// command sends the client's next command over NATS and waits for the reply.
func (c *benchClient) command() error {
	name, data := c.next()
	id := uuid.Must(uuid.NewV7()).String()
	if trace.IsEnabled() {
		// The client's view of the command, joined to the server's task by the command id.
		ctx, task := trace.NewTask(context.Background(), "client command")
		trace.Log(ctx, "command_id", id)
		defer task.End()
	}
	msg := &nats.Msg{Subject: natsrpc.CommandSubjectPrefix + name, Data: data, Header: nats.Header{}}
	msg.Header.Set(natsrpc.HeaderAuthorization, "Bearer "+c.token)
	msg.Header.Set(natsrpc.HeaderCommandID, id)
	resp, err := c.nc.RequestMsg(msg, 30*time.Second)
	if err != nil {
		return err
	}
	if st := resp.Header.Get(natsrpc.HeaderStatus); st != "200" {
		return fmt.Errorf("%s: %s %s", name, st, resp.Data)
	}
	return nil
}

// raw publishes a commit-sized message straight to JetStream with the same concurrency check
// (expected last subject sequence) and a message id: the engine's own rate.
func (c *benchClient) raw(payload []byte) error {
	if c.n%commandsPerMeeting == 0 {
		c.meeting, c.last = uuid.New(), 0
	}
	c.n++
	msg := &nats.Msg{Subject: eventstore.MeetingSubject(c.citizen, c.meeting), Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, uuid.NewString())
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(c.last, 10))
	ack, err := c.js.PublishMsg(context.Background(), msg)
	if err != nil {
		return err
	}
	c.last = ack.Sequence
	return nil
}

func commitPayload() []byte {
	cit, m := uuid.New(), uuid.New()
	b, _ := domain.EncodeCommit(domain.Commit{CommandID: uuid.New(), Command: domain.CmdCitizenSetsAgenda, MeetingID: m, CitizenID: cit,
		Actor: domain.Actor{ID: cit, Role: domain.RoleCitizen}, At: time.Now(),
		Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: agendaItems})}})
	return b
}

// run has clients goroutines share b.N operations and reports the rate and latency.
func runClients(b *testing.B, clients []*benchClient, op func(*benchClient) error) {
	var (
		mu  sync.Mutex
		lat = make([]time.Duration, 0, b.N)
		wg  sync.WaitGroup
		ch  = make(chan struct{}, b.N)
	)
	for range b.N {
		ch <- struct{}{}
	}
	close(ch)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/len(clients)+1)
			for range ch {
				t0 := time.Now()
				if err := op(c); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, lat, elapsed)
	// The machine is shared, so the rate moves with other work; the CPU the process (server and
	// clients) spent per operation moves much less, and says where a change helped.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(len(lat)), "cpu-µs/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
}

// BenchmarkCommandsOverNATS sends commands as NATS requests through the watermill router, the
// command service (load, decide, append) and back, beside a raw JetStream publish with the same
// concurrency check from the same number of clients, in the same run.
//
//	go test ./handlers -run '^$' -bench CommandsOverNATS -benchtime 4000x
func BenchmarkCommandsOverNATS(b *testing.B) {
	for _, fs := range []eventstore.Fsync{eventstore.FsyncAlways, {Interval: time.Second}} {
		for _, n := range []int{1, 16, 64} {
			for _, kind := range []string{"raw", "commands"} {
				b.Run(fmt.Sprintf("fsync=%s/clients=%d/%s", fs, n, kind), func(b *testing.B) {
					var opts []testnode.Option
					if kind == "raw" {
						opts = append(opts, testnode.ServerFsync()) // the engine as it comes: its own fsync
					}
					s := newBenchServer(b, fs, opts...)
					clients := make([]*benchClient, n)
					for i := range clients {
						clients[i] = s.client(b)
					}
					if kind == "raw" {
						payload := commitPayload()
						runClients(b, clients, func(c *benchClient) error { return c.raw(payload) })
						return
					}
					runClients(b, clients, (*benchClient).command)
				})
			}
		}
	}
}

// BenchmarkCommandLatencyAt1000PerSecond paces 16 clients to 1,000 commands per second in all
// and reports the latency each command saw, beside raw JetStream publishes at the same pace.
//
//	go test ./handlers -run '^$' -bench LatencyAt1000 -benchtime 4000x
//
// With fsync always it also measures the disk itself: a commit-sized write and fsync of a file
// in the same temporary directory, paced the same way. That is the floor under both.
func BenchmarkCommandLatencyAt1000PerSecond(b *testing.B) {
	for _, fs := range []eventstore.Fsync{eventstore.FsyncAlways, {Interval: time.Second}} {
		if fs == eventstore.FsyncAlways {
			b.Run("fsync=always/disk", pacedFsync)
		}
		for _, kind := range []string{"raw", "commands"} {
			b.Run("fsync="+fs.String()+"/"+kind, func(b *testing.B) { paced(b, fs, kind) })
		}
	}
}

// pacedFsync appends a commit-sized record to a file and fsyncs it, 1,000 times a second, one at
// a time as JetStream's file store does with fsync always, and reports the latency of each.
func pacedFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	payload := commitPayload()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	next := start
	for range b.N {
		time.Sleep(time.Until(next))
		t0 := time.Now()
		if _, err := f.Write(payload); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		next = next.Add(time.Millisecond)
	}
	reportLatency(b, lat, time.Since(start))
}

func paced(b *testing.B, fs eventstore.Fsync, kind string) {
	payload := commitPayload()
	op := (*benchClient).command
	var opts []testnode.Option
	if kind == "raw" {
		op = func(c *benchClient) error { return c.raw(payload) }
		opts = append(opts, testnode.ServerFsync()) // the engine as it comes: its own fsync
	}
	s := newBenchServer(b, fs, opts...)
	const n = 16
	const rate = 1000.0
	clients := make([]*benchClient, n)
	for i := range clients {
		clients[i] = s.client(b)
	}
	var (
		mu     sync.Mutex
		lat    []time.Duration
		wg     sync.WaitGroup
		firsts []time.Duration // each client's first command on a meeting
		rest   []time.Duration
	)
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count := b.N / n
			if i < b.N%n {
				count++
			}
			interval := time.Duration(float64(time.Second) * n / rate)
			next := start.Add(time.Duration(i) * interval / n)
			for range count {
				time.Sleep(time.Until(next))
				first := c.n%commandsPerMeeting == 0
				t0 := time.Now()
				if err := op(c); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if first {
					firsts = append(firsts, d)
				} else {
					rest = append(rest, d)
				}
				mu.Unlock()
				next = next.Add(interval)
			}
		}()
	}
	wg.Wait()
	reportLatency(b, lat, time.Since(start))
	slices.Sort(firsts)
	slices.Sort(rest)
	if len(firsts) > 0 && len(rest) > 0 {
		// Is the tail the convenes (two writes: the meeting-id claim, then the commit) or
		// everyone? On this disk it is everyone: the fsync stalls.
		b.ReportMetric(float64(firsts[len(firsts)/2].Microseconds())/1e3, "convene-p50-ms")
		b.ReportMetric(float64(rest[len(rest)*99/100].Microseconds())/1e3, "others-p99-ms")
	}
}
