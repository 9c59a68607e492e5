package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressBar draws "label [#####.....] 45% 450/1000" on one line of stderr, at most ten times
// a second, and a final line when done.
type progressBar struct {
	w     io.Writer
	label string
	mu    sync.Mutex
	last  time.Time
	start time.Time
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

func (p *progressBar) Set(done, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	frac := 0.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d/%d", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, done, total)
}

func (p *progressBar) Done(note string) {
	fmt.Fprintf(p.w, "\r%s done in %s. %s\n", p.label, time.Since(p.start).Round(time.Millisecond), note)
}
