// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a broker, on 127.0.0.1: it cuts every connection at
// once (Cut) or after so many more bytes from the client, mid-packet
// (CutAfter), black-holes them so that nothing passes and nothing closes
// (Blackhole, until Restore), refuses new ones (Refuse), adds latency
// (Latency) and limits bandwidth (Throttle).
package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards connections from its own address to a target.
type Proxy struct {
	Addr   string // host:port to dial instead of the target
	target string
	ln     net.Listener

	mu       sync.Mutex
	conns    map[net.Conn]bool
	refuse   bool
	hole     bool
	restore  chan struct{} // closed by Restore: black-holed copies go on
	latency  time.Duration
	rate     int // bytes per second per direction; 0: no limit
	cutAfter int // bytes to pass upstream before cutting; -1: no cut
	wg       sync.WaitGroup
}

// New starts a proxy to target and stops it when the test ends.
func New(t testing.TB, target string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}, restore: make(chan struct{}), cutAfter: -1}
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
		go p.pipe(c, s, false)
		go p.pipe(s, c, true)
	}
}

// chunk is bytes read from one side, and when.
type chunk struct {
	b  []byte
	at time.Time
}

// pipe copies from src to dst: up is the client-to-broker direction. A
// reader and a writer goroutine pass chunks through a channel, so that
// latency delays each chunk without slowing the stream; the writer holds
// them while black-holed, throttles, and cuts after CutAfter's count.
func (p *Proxy) pipe(dst, src net.Conn, up bool) {
	defer p.wg.Done()
	ch := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			dst.Close()
			src.Close()
			for range ch {
			}
		}()
		for ck := range ch {
			p.hold() // the bytes are held, as a dead path would
			lat, rate := p.shape()
			if lat > 0 {
				time.Sleep(time.Until(ck.at.Add(lat)))
			}
			b, cut := ck.b, false
			if up {
				b, cut = p.take(b)
			}
			for len(b) > 0 {
				n := len(b)
				if rate > 0 {
					n = min(n, 1024)
					time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
				}
				if _, err := dst.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
			if cut {
				p.Cut()
				return
			}
		}
		// A black hole does not pass a close on either: the other side
		// learns of it only once the path is restored (or cut).
		p.hold()
	}()
	defer func() {
		<-done
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{b: buf[:n], at: time.Now()}
		}
		if err != nil {
			close(ch)
			return
		}
	}
}

// shape returns the latency and the rate limit now.
func (p *Proxy) shape() (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency, p.rate
}

// take counts b against CutAfter: it returns the part of b to write, and
// whether to cut the connections after it.
func (p *Proxy) take(b []byte) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutAfter < 0 {
		return b, false
	}
	if len(b) < p.cutAfter {
		p.cutAfter -= len(b)
		return b, false
	}
	b = b[:p.cutAfter]
	p.cutAfter = -1
	return b, true
}

// Latency delays every chunk of bytes by d in each direction (0: none).
func (p *Proxy) Latency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Throttle limits each direction of each connection to bytesPerSecond
// (0: no limit).
func (p *Proxy) Throttle(bytesPerSecond int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSecond
}

// CutAfter lets n more bytes pass from the client to the broker and then
// cuts every connection: with n inside a packet, the broker gets half of
// it.
func (p *Proxy) CutAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter = n
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
