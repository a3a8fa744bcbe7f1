package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: progress bars go only there.
// A character device is not enough (/dev/null is one); term.IsTerminal asks
// the terminal driver.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws "[#####.....] 12/40 label" on one line of w, redrawn at
// most every 100 ms. A nil *progressBar draws nothing; all methods are safe
// for concurrent use.
type progressBar struct {
	w           io.Writer
	mu          sync.Mutex
	total, done int
	text        string
	drawn       time.Time
}

const barWidth = 30

func newProgressBar(w io.Writer, enabled bool) *progressBar {
	if !enabled {
		return nil
	}
	return &progressBar{w: w}
}

// label shows what is happening before the total is known.
func (p *progressBar) label(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text = s
	p.draw(true)
}

func (p *progressBar) setTotal(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done = n, 0
	p.draw(true)
}

// step counts one unit done; s names it.
func (p *progressBar) step(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.text = s
	p.draw(p.done == p.total)
}

// finish ends the bar's line.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.drawn.IsZero() {
		io.WriteString(p.w, "\r\x1b[K")
	}
}

func (p *progressBar) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = now
	if p.total == 0 {
		fmt.Fprintf(p.w, "\r\x1b[Kaudit: %s", p.text)
		return
	}
	filled := barWidth * p.done / p.total
	fmt.Fprintf(p.w, "\r\x1b[Kaudit [%s%s] %d/%d groups  %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.done, p.total, p.text)
}
