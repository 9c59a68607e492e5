package eventstore

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
)

// benchNode starts a single embedded node with the given fsync setting.
func benchNode(b *testing.B, fs Fsync) (*Node, *Store) {
	b.Helper()
	nd, err := StartNode(NodeConfig{DataDir: b.TempDir(), Port: -1, Fsync: fs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nd.Shutdown)
	nc, err := nd.Connect()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	s, err := Open(context.Background(), nc, Config{})
	if err != nil {
		b.Fatal(err)
	}
	return nd, s
}

// BenchmarkAppend compares Store.Append with a raw JetStream publish carrying the same headers
// (expected last subject sequence and message id) and the same payload size, in the same run.
// Each parallel client appends to its own meeting, one commit after another, and moves to a new
// meeting every 20 commits (a meeting's life is a dozen or so commands); the store's first commit
// of a meeting also claims the meeting id, which the raw publish does not.
//
//	go test ./eventstore -run '^$' -bench Append -benchtime 3s
func BenchmarkAppend(b *testing.B) {
	for _, fs := range []Fsync{FsyncAlways, {Interval: time.Second}} {
		for _, clients := range []int{1, 16} {
			name := fmt.Sprintf("fsync=%s/clients=%d", fs, clients)
			b.Run(name+"/raw", func(b *testing.B) { benchAppend(b, fs, clients, true) })
			b.Run(name+"/store", func(b *testing.B) { benchAppend(b, fs, clients, false) })
		}
	}
}

const commitsPerMeeting = 20

func benchAppend(b *testing.B, fs Fsync, clients int, raw bool) {
	_, s := benchNode(b, fs)
	ctx := context.Background()
	sample := agendaCommit(uuid.New(), uuid.New(), "Min bolig og min økonomi", "Hvem gør hvad")
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
				subject, expected = MeetingSubject(citizen, meeting), 0
			}
			var seq uint64
			if raw {
				msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
				msg.Header.Set(jetstream.MsgIDHeader, uuid.NewString())
				msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expected, 10))
				ack, err := s.js.PublishMsg(ctx, msg)
				if err != nil {
					b.Error(err)
					return
				}
				seq = ack.Sequence
			} else {
				c := agendaCommit(citizen, meeting, "Min bolig og min økonomi", "Hvem gør hvad")
				if expected == 0 {
					c = conveneCommit(citizen, meeting)
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
	node     *Node
	store    *Store
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
		nd, err := StartNode(NodeConfig{DataDir: dir, Port: -1, Fsync: Fsync{Interval: time.Minute}})
		if err != nil {
			bigErr = err
			return
		}
		nc, err := nd.Connect()
		if err != nil {
			bigErr = err
			return
		}
		ctx := context.Background()
		s, err := Open(ctx, nc, Config{})
		if err != nil {
			bigErr = err
			return
		}
		big = &bigLog{node: nd, store: s}
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
				c := agendaCommit(cits[i], ids[i], "punkt", fmt.Sprintf("runde %d", round))
				if round == 0 {
					c = conveneCommit(cits[i], ids[i])
					if _, err := s.js.PublishAsync(indexSubject(ids[i]), []byte(cits[i].String())); err != nil {
						bigErr = err
						return
					}
				}
				data, _ := domain.EncodeCommit(c)
				if _, err := s.js.PublishAsync(MeetingSubject(cits[i], ids[i]), data); err != nil {
					bigErr = err
					return
				}
				if pending.Add(1)%4096 == 0 {
					<-s.js.PublishAsyncComplete()
				}
			}
		}
		<-s.js.PublishAsyncComplete()
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
			s.cache = newMeetingCache(s.cfg.MaxMeetings) // forget every state
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
			err = s.ReadRaw(ctx, ReadOptions{Filter: l.Subject}, func(RawRecorded) error { n++; return nil })
			d = append(d, time.Since(t0))
			if err != nil || n != 12 {
				b.Fatalf("read %d commits: %v", n, err)
			}
		}
		report(b, d)
	})
}

// BenchmarkLoadWarmCluster measures a warm load on a 3-node cluster with replicas 3. There the
// freshness check goes to the stream leader through the JetStream API instead of a direct get,
// because a follower may answer a direct get from behind (see Open). The single-node figure in
// the same run is the yardstick.
//
//	go test ./eventstore -run '^$' -bench LoadWarmCluster -benchtime 2000x
func BenchmarkLoadWarmCluster(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.start(b).open(b, be.replicas)
			ctx := context.Background()
			meetings := make([]uuid.UUID, 200)
			for i := range meetings {
				cit := uuid.New()
				meetings[i] = uuid.New()
				a, err := s.Append(ctx, conveneCommit(cit, meetings[i]), 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Append(ctx, agendaCommit(cit, meetings[i], "punkt"), a.Seq); err != nil {
					b.Fatal(err)
				}
			}
			d := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				l, err := s.Load(ctx, meetings[i%len(meetings)])
				d = append(d, time.Since(t0))
				if err != nil || l.Seq == 0 {
					b.Fatal(err)
				}
			}
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}
