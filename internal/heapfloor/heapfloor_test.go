package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, live, scan uint64
		base, want        int
	}{
		{128 * mib, 8 * mib, 0, 100, 1500},       // the goal is the floor: 8 + 8 × 15 = 128
		{128 * mib, 6 * mib, 2 * mib, 100, 1525}, // stacks and globals count: 6 + 8 × 15.25 = 128
		{128 * mib, 64 * mib, 0, 100, 100},       // half the floor live: Go's own goal is the floor
		{128 * mib, 100 * mib, 0, 100, 100},      // above half: as configured
		{128 * mib, 200 * mib, 0, 100, 100},      // above the floor
		{128 * mib, 100 * mib, 0, 50, 50},        // a GOGC of the operator's is kept
		{128 * mib, 1, 0, 100, 3200},             // a few bytes live: Go's minimum heap, 4 MiB × 32
		{1 << 40, 1, 0, 100, maxPercent},         // a floor beyond reason
		{128 * mib, 0, 0, 100, 100},              // no collection yet
		{128 * mib, 8 * mib, 0, 2000, 2000},      // GOGC above what the floor needs
	} {
		if got := Percent(c.floor, c.live, c.scan, c.base); got != c.want {
			t.Errorf("Percent(%d MiB, %d B live, %d B scanned, GOGC %d) = %d, want %d",
				c.floor/mib, c.live, c.scan, c.base, got, c.want)
		}
	}
}

// garbage allocates n bytes that die at once, in small objects as a server's requests do, and
// returns how many collections ran meanwhile.
func garbage(n int) uint32 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n / 1024 {
		sink = make([]byte, 1024)
	}
	runtime.ReadMemStats(&after)
	return after.NumGC - before.NumGC
}

var sink []byte

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// collect runs a collection and waits for the floor to have seen it: a collection while the
// test allocates counts what it allocates meanwhile as live, so the goals are read after
// quiet ones.
func collect(t *testing.T, f *Floor) {
	t.Helper()
	n := f.Cycles()
	runtime.GC()
	for deadline := time.Now().Add(5 * time.Second); f.Cycles() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the floor saw no collection")
		}
	}
}

// TestFloorMakesASmallHeapCollectSeldom runs the real collector: with a live heap of well under
// a MiB, Go collects every 4 MiB allocated; with a floor of 64 MiB, about every 64.
func TestFloorMakesASmallHeapCollectSeldom(t *testing.T) {
	const floor = 64 << 20
	t.Setenv("GOGC", "100")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	without := garbage(256 << 20)

	f := Start(floor)
	if f == nil {
		t.Fatal("Start(64 MiB) = nil")
	}
	collect(t, f)
	if goal := heapGoal(); goal < floor*9/10 || goal > floor*11/10 {
		t.Errorf("heap goal with the floor = %d MiB, want about %d MiB (GOGC %d)", goal>>20, floor>>20, f.GCPercent())
	}
	with := garbage(256 << 20)
	f.Stop()
	runtime.GC()
	if goal := heapGoal(); goal > 16<<20 {
		t.Errorf("heap goal after Stop = %d MiB, want Go's own again", goal>>20)
	}
	after := garbage(256 << 20)
	t.Logf("collections for 256 MiB of garbage: %d without the floor, %d with it, %d after Stop", without, with, after)
	// Without the floor the count is about 64 on a quiet machine, but fewer on a busy one,
	// where what is allocated during a long mark phase counts as live: the goals above are the
	// exact test, this one that the floor held while the garbage came and still let Go collect.
	if with < 1 || with > 10 {
		t.Errorf("%d collections with a 64 MiB floor, want 1 to 10", with)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after Stop = %d, want 100 back", got)
	}
}

func TestNoFloor(t *testing.T) {
	t.Setenv("GOGC", "off")
	if f := Start(64 << 20); f != nil {
		f.Stop()
		t.Error("Start with GOGC=off: a floor, want none")
	}
	t.Setenv("GOGC", "100")
	if f := Start(0); f != nil {
		f.Stop()
		t.Error("Start(0): a floor, want none")
	}
}
