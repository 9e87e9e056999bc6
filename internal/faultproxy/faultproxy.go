// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a broker, on 127.0.0.1: it cuts every connection at
// once (Cut), black-holes them so that nothing passes and nothing closes
// (Blackhole, until Restore), and refuses new ones (Refuse).
package faultproxy

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from its own address to a target.
type Proxy struct {
	Addr   string // host:port to dial instead of the target
	target string
	ln     net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]bool
	refuse  bool
	hole    bool
	restore chan struct{} // closed by Restore: black-holed copies go on
	wg      sync.WaitGroup
}

// New starts a proxy to target and stops it when the test ends.
func New(t testing.TB, target string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}, restore: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL returns the proxy's address as an mqtt:// URL.
func (p *Proxy) URL() string { return "mqtt://" + p.Addr }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies from src to dst, holding the bytes while black-holed.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.hold() // the bytes are held, as a dead path would
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// A black hole does not pass a close on either: the other side
			// learns of it only once the path is restored (or cut).
			p.hold()
			return
		}
	}
}

// hold waits while the proxy is a black hole.
func (p *Proxy) hold() {
	p.mu.Lock()
	hole, restore := p.hole, p.restore
	p.mu.Unlock()
	if hole {
		<-restore
	}
}

// Cut closes every proxied connection at once, as a network failure or a
// broker crash would (the client sees EOF or a reset).
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Blackhole stops every byte in both directions without closing anything,
// until Restore: only the client's keep-alive can notice.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hole = true
}

// Restore lets bytes through again after Blackhole.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hole = false
	close(p.restore)
	p.restore = make(chan struct{})
}

// Refuse makes the proxy close new connections at once (true) or forward
// them again (false).
func (p *Proxy) Refuse(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuse
}

// Close stops the proxy and its connections.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.mu.Lock()
	if p.hole {
		p.hole = false
		close(p.restore)
		p.restore = make(chan struct{})
	}
	p.mu.Unlock()
	p.wg.Wait()
}
