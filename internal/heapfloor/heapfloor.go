// Package heapfloor keeps the garbage collector's heap goal at no less than a floor.
//
// Go collects when the heap has grown by GOGC percent (100) of what the last collection left
// live. A server whose live heap is small therefore collects often: the benchmarks' is about
// 9 MB, and at 1,000 commands a second it collected twice a second. Each collection's mark
// phase takes one of the two cores for milliseconds, and the commands it overlaps were about
// the slowest one in a hundred (docs/benchmarks.md, "Command latency at 1,000 commands/s").
//
// A memory limit (GOMEMLIMIT) is a ceiling, not a floor: set low it makes a large live heap
// collect without pause (the duplicate window after a bulk import is hundreds of megabytes), set
// high it changes nothing while the heap is small. So after each collection this package sets
// GOGC so that the next goal is the floor while the live heap is under half of it, and leaves
// GOGC as configured above that: the heap grows to about the floor, or to twice its live size
// as Go lets it by default, whichever is more. A GOMEMLIMIT the operator sets still caps the
// goal, GOGC=off (or a negative GOGC) turns the floor off, and an unreadable GOGC counts as
// 100, as the runtime reads it.
package heapfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
)

// Default is serve's floor (--heap-floor).
const Default = 128 << 20

// maxPercent bounds the GOGC the floor sets, for a live heap of a few bytes at start.
const maxPercent = 100_000

// Floor is a running heap floor.
type Floor struct {
	bytes   uint64
	base    int // GOGC as configured: $GOGC, else 100
	stopped atomic.Bool
	percent atomic.Int64 // the GOGC last set
	cycles  atomic.Uint64
	mu      sync.Mutex
	sample  []metrics.Sample
}

// sentinel is what each collection frees, so that its cleanup runs once per cycle. It holds a
// pointer so that it is not a tiny allocation, whose cleanups may never run.
type sentinel struct{ _ *byte }

// Start keeps the heap goal at no less than bytes until Stop, and returns nil when there is
// nothing to keep: bytes is 0 or GOGC is off.
func Start(bytes uint64) *Floor {
	base := 100
	if v, ok := os.LookupEnv("GOGC"); ok {
		if v == "off" {
			return nil
		}
		if n, err := strconv.Atoi(v); err == nil {
			base = n
		}
	}
	if bytes == 0 || base < 0 {
		return nil
	}
	f := &Floor{bytes: bytes, base: base, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	f.percent.Store(int64(base))
	f.adjust()
	f.arm()
	return f
}

// arm makes the next collection call adjust.
func (f *Floor) arm() {
	runtime.AddCleanup(&sentinel{}, func(f *Floor) {
		if f.stopped.Load() {
			return
		}
		f.cycles.Add(1)
		f.adjust()
		f.arm()
	}, f)
}

// adjust sets GOGC for the live heap the last collection left.
func (f *Floor) adjust() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.sample)
	live, scan := f.sample[0].Value.Uint64(), f.sample[1].Value.Uint64()+f.sample[2].Value.Uint64()
	p := Percent(f.bytes, live, scan, f.base)
	if int64(p) != f.percent.Load() {
		f.percent.Store(int64(p))
		debug.SetGCPercent(p)
	}
}

// Percent is the GOGC that makes the next collection come at the floor, or base when that is
// more. Go's goal is live + (live + scan) × GOGC / 100, where scan is the stacks and globals
// the last collection scanned, but at least its minimum heap, 4 MiB × GOGC / 100: the goal
// reaches the floor at the lesser of the two.
func Percent(floor, live, scan uint64, base int) int {
	if live == 0 || floor <= live {
		return base
	}
	want := min((floor-live)*100/(live+scan), floor*100/minimumHeap)
	return int(max(uint64(base), min(want, maxPercent)))
}

// minimumHeap is the runtime's least goal at GOGC=100 (defaultHeapMinimum).
const minimumHeap = 4 << 20

// GCPercent is the GOGC the floor set last.
func (f *Floor) GCPercent() int { return int(f.percent.Load()) }

// Cycles is how many collections the floor has seen since Start.
func (f *Floor) Cycles() uint64 { return f.cycles.Load() }

// Stop gives GOGC back as it was configured.
func (f *Floor) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(f.base)
	f.percent.Store(int64(f.base))
}
