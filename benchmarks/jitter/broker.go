package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
)

// broker is an in-process Mochi broker on a loopback port. It accepts the
// connections itself and hands them to Mochi, keeping each one, so that
// kill can close them all at once (as a crashed broker process would):
// no DISCONNECT is sent, the clients see their connections end.
type broker struct {
	s    *mochi.Server
	ln   net.Listener
	addr string // 127.0.0.1:port

	mu     sync.Mutex // guards conns and killed
	conns  map[net.Conn]struct{}
	killed bool

	wg sync.WaitGroup // the accept loop and one goroutine per connection
}

// startBroker starts Mochi listening on addr ("127.0.0.1:0" for a free
// port). A port that is still busy (the previous broker's sockets) is
// tried again for up to two seconds.
func startBroker(addr string) (*broker, error) {
	s := mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	if err := s.Serve(); err != nil {
		return nil, err
	}
	var ln net.Listener
	var err error
	deadline := time.Now().Add(2 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
	}
	b := &broker{s: s, ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

func (b *broker) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		if b.killed {
			b.mu.Unlock()
			c.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.wg.Done()
			_ = b.s.EstablishConnection("t", c)
			b.mu.Lock()
			delete(b.conns, c)
			b.mu.Unlock()
			c.Close()
		}()
	}
}

// kill closes the listener and every connection at once; it then stops
// Mochi and waits (up to five seconds) for the broker's goroutines. It
// reports how many connections it closed.
func (b *broker) kill() (closed int, err error) {
	b.ln.Close()
	b.mu.Lock()
	b.killed = true
	for c := range b.conns {
		c.Close()
		closed++
	}
	b.mu.Unlock()
	b.s.Close()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		err = errors.New("broker: connection goroutines still running 5 s after kill")
	}
	return closed, err
}
