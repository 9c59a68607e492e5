// Command slowcommands reads an execution trace of the paced command benchmark and says what the
// slowest commands spent their time on. Each command is a "client command" task in the
// benchmark's client, joined by its command id to the server's "command" task
// (handlers/command.TraceTask) and its regions: load, decide, append, the meeting-id claim, the
// publish, and the wait for group commit's fsync. Beside them, for each command's window: the GC
// mark phases and stop-the-world pauses it overlapped, the time its goroutines waited to run,
// and the system calls over 0.2 ms (the fsyncs) under way.
//
//	go test ./handlers -run '^$' -bench 'LatencyAt1000PerSecond/fsync=always/commands' -benchtime 4000x -trace trace.out
//	cd internal/slowcommands && go run . -top 20 ../../trace.out
//
// It is a module of its own, so that its trace reader (golang.org/x/exp/trace) is no dependency
// of the service.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	top := flag.Int("top", 20, "slowest commands to list one by one")
	stacks := flag.String("stacks", "", "print the whole stacks of the long system calls whose stack contains this")
	flag.Parse()
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	t, err := read(f)
	if err != nil {
		log.Fatal(err)
	}
	report(os.Stdout, t, *top, *stacks)
}

// span is a stretch of trace time.
type span struct{ a, b trace.Time }

func (s span) ms() float64 { return float64(s.b-s.a) / 1e6 }

func overlap(x, y span) float64 {
	a, b := max(x.a, y.a), min(x.b, y.b)
	if b <= a {
		return 0
	}
	return float64(b-a) / 1e6
}

func overlapAll(x span, ys []span) float64 {
	total := 0.0
	for _, y := range ys {
		total += overlap(x, y)
	}
	return total
}

type region struct {
	typ string
	s   span
}

type task struct {
	typ     string
	s       span
	id      string // the command id the task logged
	regions []region
	gs      map[trace.GoID]bool // the goroutines it ran on
}

type wait struct {
	g trace.GoID
	s span
}

type syscall struct {
	s     span
	stack []string
}

// traced is what the trace holds that the report needs.
type traced struct {
	length      float64
	tasks       map[trace.TaskID]*task
	gc, stw     []span
	waits       []wait
	syscalls    []syscall
	first, last trace.Time
}

func read(rd io.Reader) (*traced, error) {
	r, err := trace.NewReader(rd)
	if err != nil {
		return nil, err
	}
	t := &traced{tasks: map[trace.TaskID]*task{}}
	open := map[trace.GoID]map[string][]trace.Time{} // regions begun, by goroutine and type
	ranges := map[string]trace.Time{}
	runnable := map[trace.GoID]trace.Time{}
	insys := map[trace.GoID]syscall{}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		now := ev.Time()
		if t.first == 0 {
			t.first = now
		}
		t.last = now
		switch ev.Kind() {
		case trace.EventTaskBegin:
			tk := ev.Task()
			t.tasks[tk.ID] = &task{typ: tk.Type, s: span{a: now}, gs: map[trace.GoID]bool{ev.Goroutine(): true}}
		case trace.EventTaskEnd:
			if tk := t.tasks[ev.Task().ID]; tk != nil {
				tk.s.b = now
				tk.gs[ev.Goroutine()] = true
			}
		case trace.EventLog:
			l := ev.Log()
			if tk := t.tasks[l.Task]; tk != nil && l.Category == "command_id" {
				tk.id = l.Message
			}
		case trace.EventRegionBegin:
			g := ev.Goroutine()
			if open[g] == nil {
				open[g] = map[string][]trace.Time{}
			}
			typ := ev.Region().Type
			open[g][typ] = append(open[g][typ], now)
		case trace.EventRegionEnd:
			rg, g := ev.Region(), ev.Goroutine()
			begun := open[g][rg.Type]
			if len(begun) == 0 {
				continue
			}
			a := begun[len(begun)-1]
			open[g][rg.Type] = begun[:len(begun)-1]
			if tk := t.tasks[rg.Task]; tk != nil {
				tk.regions = append(tk.regions, region{rg.Type, span{a, now}})
				tk.gs[g] = true
			}
		case trace.EventRangeBegin, trace.EventRangeActive:
			ranges[ev.Range().Name] = now
		case trace.EventRangeEnd:
			name := ev.Range().Name
			if a, ok := ranges[name]; ok {
				switch {
				case name == "GC concurrent mark phase":
					t.gc = append(t.gc, span{a, now})
				case strings.HasPrefix(name, "stop-the-world"):
					t.stw = append(t.stw, span{a, now})
				}
				delete(ranges, name)
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			switch {
			case to == trace.GoRunnable:
				runnable[g] = now
			case from == trace.GoRunnable && to == trace.GoRunning:
				if a, ok := runnable[g]; ok {
					t.waits = append(t.waits, wait{g, span{a, now}})
					delete(runnable, g)
				}
			}
			if to == trace.GoSyscall {
				var frames []string
				for fr := range ev.Stack().Frames() {
					frames = append(frames, fr.Func)
				}
				insys[g] = syscall{s: span{a: now}, stack: frames}
			}
			if from == trace.GoSyscall {
				if sc, ok := insys[g]; ok {
					sc.s.b = now
					if sc.s.ms() > 0.2 {
						t.syscalls = append(t.syscalls, sc)
					}
					delete(insys, g)
				}
			}
		}
	}
	t.length = float64(t.last-t.first) / 1e6
	return t, nil
}

// regionTypes are the regions the report shows, in the order a command passes them.
var regionTypes = []string{"load", "decide", "claim meeting id", "publish", "group commit: fsync", "append"}

func report(w io.Writer, t *traced, top int, stacks string) {
	fmt.Fprintf(w, "trace %.0f ms; %d GC mark phases (%.1f ms), %d stop-the-world pauses (longest %.2f ms)\n",
		t.length, len(t.gc), sumMs(t.gc), len(t.stw), longest(t.stw))
	servers := map[string]*task{}
	var clients []*task
	for _, tk := range t.tasks {
		if tk.s.b == 0 || tk.id == "" {
			continue
		}
		switch tk.typ {
		case "client command":
			clients = append(clients, tk)
		case "command":
			servers[tk.id] = tk
		}
	}
	if len(clients) == 0 {
		log.Fatal("no client command tasks in the trace: was it taken of the paced benchmark?")
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i].s.ms() > clients[j].s.ms() })
	n := len(clients)
	fmt.Fprintf(w, "%d commands: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n\n", n, clients[n/2].s.ms(), clients[n/100].s.ms(), clients[0].s.ms())
	fmt.Fprintf(w, "%8s %8s %7s %7s | %-70s | %6s %6s %6s | %s\n", "client", "server", "before", "after", "server regions (ms)", "GC", "STW", "runq", "long system calls meanwhile")
	for _, c := range clients[:min(top, n)] {
		s := servers[c.id]
		if s == nil {
			fmt.Fprintf(w, "%8.2f (no server task)\n", c.s.ms())
			continue
		}
		byType := sumRegions(s)
		var parts []string
		for _, typ := range regionTypes {
			if v, ok := byType[typ]; ok && v >= 0.01 {
				parts = append(parts, fmt.Sprintf("%s %.2f", typ, v))
			}
		}
		var calls []string
		for _, sc := range t.syscalls {
			if overlap(c.s, sc.s) > 0 {
				calls = append(calls, fmt.Sprintf("%.2f %s", sc.s.ms(), short(sc.stack)))
			}
		}
		if len(calls) > 2 {
			calls = append(calls[:2], fmt.Sprintf("+%d", len(calls)-2))
		}
		fmt.Fprintf(w, "%8.2f %8.2f %7.2f %7.2f | %-70s | %6.2f %6.2f %6.2f | %s\n", c.s.ms(), s.s.ms(),
			float64(s.s.a-c.s.a)/1e6, float64(c.s.b-s.s.b)/1e6, strings.Join(parts, ", "),
			overlapAll(c.s, t.gc), overlapAll(c.s, t.stw), runQueue(t, c, s), strings.Join(calls, "; "))
	}
	for _, g := range []struct {
		name string
		list []*task
	}{{"slowest 1%", clients[:max(1, n/100)]}, {"middle (p40–p60)", clients[n*40/100 : n*60/100]}} {
		sum := map[string]float64{}
		k := 0.0
		inGC := 0
		for _, c := range g.list {
			s := servers[c.id]
			if s == nil {
				continue
			}
			k++
			sum["client"] += c.s.ms()
			sum["server"] += s.s.ms()
			for typ, v := range sumRegions(s) {
				sum[typ] += v
			}
			sum["gc"] += overlapAll(c.s, t.gc)
			sum["runq"] += runQueue(t, c, s)
			if overlapAll(c.s, t.gc) > 0 {
				inGC++
			}
		}
		fmt.Fprintf(w, "\n%s (%d), mean ms: client %.2f, server %.2f", g.name, int(k), sum["client"]/k, sum["server"]/k)
		for _, typ := range regionTypes {
			if v, ok := sum[typ]; ok {
				fmt.Fprintf(w, ", %s %.2f", typ, v/k)
			}
		}
		fmt.Fprintf(w, "; GC mark overlapped %.2f (%d%% of them), its goroutines waiting to run %.2f\n", sum["gc"]/k, int(100*float64(inGC)/k), sum["runq"]/k)
	}
	byStack := map[string][]float64{}
	for _, sc := range t.syscalls {
		byStack[short(sc.stack)] = append(byStack[short(sc.stack)], sc.s.ms())
	}
	keys := make([]string, 0, len(byStack))
	for k := range byStack {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(byStack[keys[i]]) > len(byStack[keys[j]]) })
	fmt.Fprintln(w, "\nsystem calls over 0.2 ms, by where they were made:")
	for _, k := range keys[:min(8, len(keys))] {
		d := byStack[k]
		sort.Float64s(d)
		fmt.Fprintf(w, "  %5d  p50 %.2f  max %.2f ms  %s\n", len(d), d[len(d)/2], d[len(d)-1], k)
	}
	if stacks != "" {
		seen := map[string]int{}
		for _, sc := range t.syscalls {
			if s := strings.Join(sc.stack, "\n    < "); strings.Contains(s, stacks) {
				seen[s]++
			}
		}
		for s, count := range seen {
			fmt.Fprintf(w, "\n%d ×\n    %s\n", count, s)
		}
	}
}

func sumRegions(s *task) map[string]float64 {
	m := map[string]float64{}
	for _, rg := range s.regions {
		m[rg.typ] += rg.s.ms()
	}
	return m
}

// runQueue is how long the goroutines of the command (client and server) waited to run within
// the client's window.
func runQueue(t *traced, c, s *task) float64 {
	total := 0.0
	for _, w := range t.waits {
		if s.gs[w.g] || c.gs[w.g] {
			total += overlap(c.s, w.s)
		}
	}
	return total
}

// short names a system call by its call and the first three frames above the runtime and the
// standard library's plumbing.
func short(stack []string) string {
	var out []string
	for _, f := range stack {
		plumbing := strings.HasPrefix(f, "syscall.") || strings.HasPrefix(f, "internal/") || strings.HasPrefix(f, "os.") || strings.HasPrefix(f, "runtime.")
		if plumbing {
			if len(out) == 0 {
				out = append(out, f)
			}
			continue
		}
		out = append(out, f[strings.LastIndex(f, "/")+1:])
		if len(out) == 4 {
			break
		}
	}
	return strings.Join(out, " < ")
}

func sumMs(ys []span) float64 {
	total := 0.0
	for _, y := range ys {
		total += y.ms()
	}
	return total
}

func longest(ys []span) float64 {
	m := 0.0
	for _, y := range ys {
		m = max(m, y.ms())
	}
	return m
}
