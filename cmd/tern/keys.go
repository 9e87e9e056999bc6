package main

import (
	"context"
	"errors"
	"io"
)

// Why a command was stopped from the keyboard.
var (
	errQuit      = errors.New("quit")        // q, or Ctrl-D in raw mode
	errInterrupt = errors.New("interrupted") // Ctrl-C in raw mode, where it sends no signal
)

// readKeys reads key presses from r until it ends: Enter or space presses
// the button (a send on presses, dropped when 64 are waiting), q quits; in
// raw mode, where the terminal sends no signals, Ctrl-C interrupts and
// Ctrl-D quits. A "\r\n" pair counts once. Quitting and interrupting call
// stop with errQuit or errInterrupt.
func readKeys(r io.Reader, raw bool, presses chan<- struct{}, stop context.CancelCauseFunc) {
	buf := make([]byte, 64)
	prevCR := false
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			press := false
			switch b {
			case '\r', ' ':
				press = true
			case '\n':
				press = !prevCR
			case 'q', 'Q':
				stop(errQuit)
				return
			case 0x03: // Ctrl-C
				if raw {
					stop(errInterrupt)
					return
				}
			case 0x04: // Ctrl-D
				if raw {
					stop(errQuit)
					return
				}
			}
			prevCR = b == '\r'
			if press {
				select {
				case presses <- struct{}{}:
				default:
				}
			}
		}
		if err != nil {
			return // at the end of input the demo goes on: --press-every, other demos, Ctrl-C
		}
	}
}
