package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// screen is where a command writes its lines, from any goroutine. On a
// terminal it keeps a status line (the LED, the connection, the keys) at
// the bottom, redrawn under each new line, and ends lines with "\r\n" so
// that they show right in raw mode; elsewhere it writes plain lines.
type screen struct {
	mu     sync.Mutex // guards the fields below and the writes to w
	w      io.Writer
	tty    bool
	color  bool
	closed bool // after close, writes are dropped

	// the status line, on a terminal
	led  bool
	conn string
	keys string
}

func newScreen(w io.Writer, tty, color bool) *screen {
	return &screen{w: w, tty: tty, color: color, conn: "connecting"}
}

// isTerminal reports whether f is an *os.File open on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// colorWanted reports whether output to a terminal may use color: unless
// NO_COLOR is set to anything (no-color.org) or TERM is "dumb".
func colorWanted() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// printf writes one line.
func (s *screen) printf(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if !s.tty {
		io.WriteString(s.w, line+"\n")
		return
	}
	line = strings.ReplaceAll(line, "\n", "\r\n")
	io.WriteString(s.w, "\r\x1b[K"+line+"\r\n"+s.statusLine())
}

// setLED, setConn and setKeys change the status line.
func (s *screen) setLED(on bool)         { s.update(func() { s.led = on }) }
func (s *screen) setConn(c string)       { s.update(func() { s.conn = c }) }
func (s *screen) setKeys(k string)       { s.update(func() { s.keys = k }) }
func (s *screen) update(f func())        { s.mu.Lock(); f(); s.redraw(); s.mu.Unlock() }
func (s *screen) ledText(on bool) string { return ledText(on, s.color) }

// redraw writes the status line again. s.mu is held.
func (s *screen) redraw() {
	if s.tty && !s.closed {
		io.WriteString(s.w, "\r\x1b[K"+s.statusLine())
	}
}

func (s *screen) statusLine() string {
	st := ledText(s.led, s.color) + "  " + s.conn
	if s.keys != "" {
		st += "  · " + s.keys
	}
	return st
}

// close erases the status line; later writes are dropped, so that
// goroutines finishing late (the client's event callbacks) write nothing
// after the command returned.
func (s *screen) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tty && !s.closed {
		io.WriteString(s.w, "\r\x1b[K")
	}
	s.closed = true
}

// ledText draws the LED: "LED [ ON ]" or "LED [ off ]", lit in color when
// color is true (the text is the same without the escapes).
func ledText(on, color bool) string {
	switch {
	case on && color:
		return "LED [\x1b[1;30;103m ON \x1b[0m]"
	case on:
		return "LED [ ON ]"
	case color:
		return "LED [\x1b[2m off \x1b[0m]"
	}
	return "LED [ off ]"
}
