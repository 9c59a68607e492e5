package projections

import (
	"testing"
	"time"
)

func TestTSIsFormat(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Date(2026, 11, 25, 21, 4, 17, 999999999, time.UTC),
		time.Date(2026, 3, 29, 2, 30, 0, 1000000, time.FixedZone("CEST", 7200)),
		time.Date(999, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -3600)),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1<<40, 123456789),
	} {
		if got, want := ts(tm), tm.UTC().Format(tsLayout); got != want {
			t.Errorf("ts(%v) = %s, want %s", tm, got, want)
		}
	}
}

func FuzzTSIsFormat(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(1795000000), int64(999999999))
	f.Add(int64(-62135596800), int64(1))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec)
		if got, want := ts(tm), tm.UTC().Format(tsLayout); got != want {
			t.Fatalf("ts(%v) = %s, want %s", tm, got, want)
		}
	})
}

// BenchmarkTS compares ts with the time.Format it stands in for.
func BenchmarkTS(b *testing.B) {
	tm := time.Date(2026, 11, 25, 21, 4, 17, 999999999, time.UTC)
	b.Run("ts", func(b *testing.B) {
		for b.Loop() {
			_ = ts(tm)
		}
	})
	b.Run("Format", func(b *testing.B) {
		for b.Loop() {
			_ = tm.Format(tsLayout)
		}
	})
}
