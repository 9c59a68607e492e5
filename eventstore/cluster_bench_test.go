package eventstore

// This benchmark stays inside the package: it runs on the conformance suite's backends (a single
// node and a three-node cluster), which are built from unexported test helpers.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

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
