package eventstore

import (
	"reflect"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

// TestOpenTurnsOffAtomicPublishOfAnOlderLog: a log written by a version that group committed by
// JetStream atomic batches has atomic publish on in both streams. Open turns it off and keeps
// what was written: the meeting loads, its next commit and a new meeting's claim are written,
// and opening it again changes the streams no further.
func TestOpenTurnsOffAtomicPublishOfAnOlderLog(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if testing.Short() && b.replicas > 1 {
				t.Skip("cluster in -short mode")
			}
			c := b.start(t)
			ctx := ctxT(t)
			older := c.open(t, b.replicas)
			js, err := jetstream.New(c.connect(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{StreamName, IndexStreamName} {
				st, err := js.Stream(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				sc := st.CachedInfo().Config
				sc.AllowAtomicPublish = true // as the older version created it
				if _, err := js.UpdateStream(ctx, sc); err != nil {
					t.Fatalf("turn atomic publish on for %s: %v", name, err)
				}
			}
			citizen, meeting := uuid.New(), uuid.New()
			first, err := older.Append(ctx, conveneCommit(citizen, meeting), 0)
			if err != nil {
				t.Fatal(err)
			}

			s := c.open(t, b.replicas)
			configs := map[string]jetstream.StreamConfig{}
			for name, st := range map[string]jetstream.Stream{StreamName: s.stream, IndexStreamName: s.index} {
				info, err := st.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if info.Config.AllowAtomicPublish {
					t.Errorf("%s after Open: atomic publish still on", name)
				}
				configs[name] = info.Config
			}
			l, err := s.Load(ctx, meeting)
			if err != nil || l.Seq != first.Seq {
				t.Fatalf("the older log's meeting: seq %d, %v; want %d", l.Seq, err, first.Seq)
			}
			if _, err := s.Append(ctx, agendaCommit(citizen, meeting, "Min bolig"), first.Seq); err != nil {
				t.Fatalf("next commit on the older log: %v", err)
			}
			if _, err := s.Append(ctx, conveneCommit(uuid.New(), uuid.New()), 0); err != nil {
				t.Fatalf("new meeting on the older log: %v", err)
			}
			if _, err := s.Append(ctx, conveneCommit(uuid.New(), meeting), 0); err == nil {
				t.Fatal("the older log's meeting id was claimed again for another citizen")
			}

			again := c.open(t, b.replicas)
			for name, st := range map[string]jetstream.Stream{StreamName: again.stream, IndexStreamName: again.index} {
				info, err := st.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(info.Config, configs[name]) {
					t.Errorf("%s changed on the second Open:\n%+v\nwant\n%+v", name, info.Config, configs[name])
				}
			}
		})
	}
}
