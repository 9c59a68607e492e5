package eventstore_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// BenchmarkAppend compares Store.Append with a raw JetStream publish carrying the same headers
// (expected last subject sequence and message id) and the same payload size, in the same run.
// Each parallel client appends to its own meeting, one commit after another, and moves to a new
// meeting every 20 commits (a meeting's life is a dozen or so commands); the store's first commit
// of a meeting also claims the meeting id, which the raw publish does not.
//
//	go test ./eventstore -run '^$' -bench Append -benchtime 3s
func BenchmarkAppend(b *testing.B) {
	for _, fs := range []eventstore.Fsync{eventstore.FsyncAlways, {Interval: time.Second}} {
		for _, clients := range []int{1, 16} {
			name := fmt.Sprintf("fsync=%s/clients=%d", fs, clients)
			b.Run(name+"/raw", func(b *testing.B) { benchAppend(b, fs, clients, true) })
			b.Run(name+"/store", func(b *testing.B) { benchAppend(b, fs, clients, false) })
		}
	}
}

const commitsPerMeeting = 20

func benchAppend(b *testing.B, fs eventstore.Fsync, clients int, raw bool) {
	s := testnode.Start(b, testnode.Fsync(fs)).Store
	ctx := context.Background()
	sample := eventstore.AgendaCommit(uuid.New(), uuid.New(), "Min bolig og min økonomi", "Hvem gør hvad")
	payload, _ := domain.EncodeCommit(sample)
	b.SetParallelism(max(1, clients/2)) // RunParallel starts GOMAXPROCS × parallelism goroutines
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var (
			citizen, meeting uuid.UUID
			subject          string
			expected         uint64
		)
		for i := 0; pb.Next(); i++ {
			if i%commitsPerMeeting == 0 {
				citizen, meeting = uuid.New(), uuid.New()
				subject, expected = eventstore.MeetingSubject(citizen, meeting), 0
			}
			var seq uint64
			if raw {
				msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
				msg.Header.Set(jetstream.MsgIDHeader, uuid.NewString())
				msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expected, 10))
				ack, err := s.JetStream().PublishMsg(ctx, msg)
				if err != nil {
					b.Error(err)
					return
				}
				seq = ack.Sequence
			} else {
				c := eventstore.AgendaCommit(citizen, meeting, "Min bolig og min økonomi", "Hvem gør hvad")
				if expected == 0 {
					c = eventstore.ConveneCommit(citizen, meeting)
				}
				a, err := s.Append(ctx, c, expected)
				if err != nil {
					b.Error(err)
					return
				}
				seq = a.Seq
			}
			expected = seq
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// bigLog is a stream of at least 400k commits over many meetings, built once per run.
type bigLog struct {
	env      *testnode.Env
	store    *eventstore.Store
	meetings []uuid.UUID // meetings with 12 commits each, spread through the log
}

var (
	bigOnce sync.Once
	big     *bigLog
	bigErr  error
)

const bigSize = 400_000

func loadBigLog(b *testing.B) *bigLog {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aabendialog-bench-")
		if err != nil {
			bigErr = err
			return
		}
		// The big log is built with an interval fsync: it measures reads, not durability.
		e, err := testnode.StartIn(dir, testnode.Fsync(eventstore.Fsync{Interval: time.Minute}))
		if err != nil {
			bigErr = err
			return
		}
		s := e.Store
		js := s.JetStream()
		big = &bigLog{env: e, store: s}
		const commitsPerMeeting = 12
		meetings := bigSize / commitsPerMeeting
		ids := make([]uuid.UUID, meetings)
		cits := make([]uuid.UUID, meetings)
		for i := range ids {
			ids[i], cits[i] = uuid.New(), uuid.New()
		}
		var pending atomic.Int64
		// Round-robin over meetings so each meeting's commits are spread through the whole log.
		for round := 0; round < commitsPerMeeting; round++ {
			for i := range ids {
				c := eventstore.AgendaCommit(cits[i], ids[i], "punkt", fmt.Sprintf("runde %d", round))
				if round == 0 {
					c = eventstore.ConveneCommit(cits[i], ids[i])
					if _, err := js.PublishAsync(eventstore.IndexSubject(ids[i]), []byte(cits[i].String())); err != nil {
						bigErr = err
						return
					}
				}
				data, _ := domain.EncodeCommit(c)
				if _, err := js.PublishAsync(eventstore.MeetingSubject(cits[i], ids[i]), data); err != nil {
					bigErr = err
					return
				}
				if pending.Add(1)%4096 == 0 {
					<-js.PublishAsyncComplete()
				}
			}
		}
		<-js.PublishAsyncComplete()
		big.meetings = ids
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return big
}

// BenchmarkLoad loads a meeting of 12 commits from a log of 400k: warm (cached state, freshness
// checked with one last-message lookup), cold (empty cache: direct gets of the meeting's commits),
// and, as the raw engine's yardstick, re-reading the meeting's subject with an ordered consumer.
//
//	go test ./eventstore -run '^$' -bench Load -benchtime 2000x
func BenchmarkLoad(b *testing.B) {
	bl := loadBigLog(b)
	ctx := context.Background()
	last, _ := bl.store.LastSeq(ctx)
	b.Logf("log holds %d commits over %d meetings", last, len(bl.meetings))
	report := func(b *testing.B, d []time.Duration) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
	b.Run("warm", func(b *testing.B) {
		s := bl.store
		for _, m := range bl.meetings[:1000] {
			if _, err := s.Load(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		d := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			l, err := s.Load(ctx, bl.meetings[i%1000])
			d = append(d, time.Since(t0))
			if err != nil || l.Seq == 0 {
				b.Fatal(err)
			}
		}
		report(b, d)
	})
	b.Run("cold", func(b *testing.B) {
		s := bl.store
		d := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m := bl.meetings[(i*7919)%len(bl.meetings)]
			s.ForgetCachedStates()
			t0 := time.Now()
			l, err := s.Load(ctx, m)
			d = append(d, time.Since(t0))
			if err != nil || l.Seq == 0 {
				b.Fatal(err)
			}
		}
		report(b, d)
	})
	b.Run("raw-ordered-consumer-reread", func(b *testing.B) {
		s := bl.store
		d := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m := bl.meetings[(i*7919)%len(bl.meetings)]
			l, err := s.Load(ctx, m) // warm: only to know the subject
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			n := 0
			err = s.ReadRaw(ctx, eventstore.ReadOptions{Filter: l.Subject}, func(eventstore.RawRecorded) error { n++; return nil })
			d = append(d, time.Since(t0))
			if err != nil || n != 12 {
				b.Fatalf("read %d commits: %v", n, err)
			}
		}
		report(b, d)
	})
}

// BenchmarkFindMeeting finds the subject of a meeting that a command names only by its id, in the
// log of 400k commits over 33,333 meetings: by the index stream (one last-message lookup of
// dialog.meetings.<meeting-id>), as Store does, or by a last-message lookup of the wildcard
// subject dialog.events.*.<meeting-id> in the log itself, which the index saves.
//
//	go test ./eventstore -run '^$' -bench FindMeeting -benchtime 2000x
func BenchmarkFindMeeting(b *testing.B) {
	bl := loadBigLog(b)
	ctx := context.Background()
	log, err := bl.store.JetStream().Stream(ctx, eventstore.StreamName)
	if err != nil {
		b.Fatal(err)
	}
	for _, find := range []struct {
		name string
		find func(m uuid.UUID) error
	}{
		{"index", func(m uuid.UUID) error {
			c, err := bl.store.Owner(ctx, m)
			if err == nil && c == uuid.Nil {
				err = fmt.Errorf("meeting %s not found", m)
			}
			return err
		}},
		{"wildcard", func(m uuid.UUID) error {
			_, err := log.GetLastMsgForSubject(ctx, eventstore.SubjectPrefix+".*."+m.String())
			return err
		}},
	} {
		b.Run(find.name, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				m := bl.meetings[(i*7919)%len(bl.meetings)]
				t0 := time.Now()
				if err := find.find(m); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(t0))
			}
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkGroupCommitAt1000 asks whether group commit by JetStream atomic batches (commits of
// different meetings that arrive together written as one atomic batch, one fsync for all) would
// lower the latency of commits paced at 1,000/s from 16 clients with the server's fsync always
// (ServerFsync). The log does not allow atomic publish; the benchmark turns it on for its own
// stream. "single" is one publish per commit; "atomic" gives every commit to one batcher, which
// sends whatever has queued while its previous batch was being written as the next atomic batch
// (Nats-Batch-Id, Nats-Batch-Sequence, Nats-Batch-Commit on the last), each message with its own
// expected subject sequence and message id. It reports the batches' mean size too.
//
// Measured here (nats-server 2.15.2, two runs on a shared machine, the second with a busy disk):
// single p50 0.5 / 12 ms, p99 13–28 / 51–60 ms; atomic p50 13 / 29–40 ms, p99 49–76 / 86–104 ms,
// about 8 commits a batch, and in the second run it fell behind the pace. On a single node with
// file storage the server stages each atomic batch in a file store of its own, created, synced
// and removed per batch, before the commit's one fsync (server/jetstream_batching.go,
// newBatchStore); and a duplicate message id anywhere rejects the whole batch (error 10201)
// instead of answering that message as a duplicate. At this pace group commit by atomic batches
// costs more than the fsyncs it saves; the store group commits by fsync instead (durable.go).
//
//	go test ./eventstore -run '^$' -bench GroupCommitAt1000 -benchtime 4000x
func BenchmarkGroupCommitAt1000(b *testing.B) {
	for _, mode := range []string{"single", "atomic"} {
		b.Run("fsync=always/"+mode, func(b *testing.B) { benchGroupCommit(b, mode == "atomic") })
	}
}

// pendingCommit is one commit waiting for the batcher, and where its answer goes.
type pendingCommit struct {
	msg  *nats.Msg
	done chan uint64 // the commit's sequence; 0 when its batch failed
}

func benchGroupCommit(b *testing.B, atomicBatch bool) {
	e := testnode.Start(b, testnode.Fsync(eventstore.FsyncAlways), testnode.ServerFsync())
	s := e.Store
	payload, _ := domain.EncodeCommit(eventstore.AgendaCommit(uuid.New(), uuid.New(), "Min bolig og min økonomi", "Hvem gør hvad"))
	queue := make(chan pendingCommit, 1024)
	var batches, batched atomic.Int64
	if atomicBatch {
		nc, err := e.Node.Connect()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		allowAtomicPublish(b, nc)
		stop := make(chan struct{})
		b.Cleanup(func() { close(stop) })
		go func() {
			for {
				var batch []pendingCommit
				select {
				case p := <-queue:
					batch = append(batch, p)
				case <-stop:
					return
				}
			more:
				for len(batch) < 1000 {
					select {
					case p := <-queue:
						batch = append(batch, p)
					default:
						break more
					}
				}
				id := uuid.NewString()
				var last uint64
				for i, p := range batch {
					p.msg.Header.Set("Nats-Batch-Id", id)
					p.msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
					if i < len(batch)-1 {
						if err := nc.PublishMsg(p.msg); err != nil {
							b.Error(err)
						}
						continue
					}
					p.msg.Header.Set("Nats-Batch-Commit", "1")
					resp, err := nc.RequestMsg(p.msg, 10*time.Second)
					if err == nil {
						last, err = eventstore.ReadPubAckSeq(resp.Data)
					}
					if err != nil {
						b.Errorf("batch of %d: %v", len(batch), err)
					}
				}
				batches.Add(1)
				batched.Add(int64(len(batch)))
				for i, p := range batch {
					if last == 0 {
						p.done <- 0
						continue
					}
					p.done <- last - uint64(len(batch)-1-i)
				}
			}
		}()
	}
	const clients, rate = 16, 1000.0
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count := b.N / clients
			if i < b.N%clients {
				count++
			}
			interval := time.Duration(float64(time.Second) * clients / rate)
			next := start.Add(time.Duration(i) * interval / clients)
			citizen := uuid.New()
			var subject string
			var expected uint64
			done := make(chan uint64, 1)
			for n := range count {
				if n%commitsPerMeeting == 0 {
					subject, expected = eventstore.MeetingSubject(citizen, uuid.New()), 0
				}
				time.Sleep(time.Until(next))
				next = next.Add(interval)
				t0 := time.Now()
				msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{
					jetstream.MsgIDHeader:               {uuid.NewString()},
					jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(expected, 10)},
				}}
				var seq uint64
				if atomicBatch {
					queue <- pendingCommit{msg: msg, done: done}
					seq = <-done
				} else {
					var err error
					if seq, err = s.PublishSeq(context.Background(), msg); err != nil {
						b.Error(err)
						return
					}
				}
				if seq == 0 {
					b.Error("commit not written")
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				expected = seq
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	}
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(batched.Load())/float64(n), "commits/batch")
	}
}

// allowAtomicPublish turns atomic batch publish on for the log's stream.
func allowAtomicPublish(b *testing.B, nc *nats.Conn) {
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	st, err := js.Stream(context.Background(), eventstore.StreamName)
	if err != nil {
		b.Fatal(err)
	}
	sc := st.CachedInfo().Config
	sc.AllowAtomicPublish = true
	if _, err := js.UpdateStream(context.Background(), sc); err != nil {
		b.Fatal(err)
	}
}

// TestMain removes the benchmarks' shared log of 400k commits when the run ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if big != nil {
		big.env.Close()
		_ = os.RemoveAll(big.env.Dir)
	}
	os.Exit(code)
}
