package brokertest

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Front is a TLS server in front of a broker: it completes each TLS
// handshake with its own configuration and hands the plain stream to the
// broker. Tests use it for what Mosquitto does not do or show: a maximum
// TLS version, ALPN, the ClientHello (SNI, ALPN offered), a check of the
// client certificate.
type Front struct {
	Addr string // host:port of its listener on 127.0.0.1

	mu     sync.Mutex
	hellos []*tls.ClientHelloInfo
}

// TLSFront starts a Front with cfg for the broker at brokerURL
// (mqtt://host:port) and stops it when the test ends.
func TLSFront(t testing.TB, cfg *tls.Config, brokerURL string) *Front {
	t.Helper()
	f := &Front{}
	cfg = cfg.Clone()
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		f.mu.Lock()
		f.hellos = append(f.hellos, h)
		f.mu.Unlock()
		return nil, nil
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = ln.Addr().String()
	backend := strings.TrimPrefix(brokerURL, "mqtt://")
	wait := acceptLoop(ln, func(c net.Conn) {
		defer c.Close()
		if c.(*tls.Conn).Handshake() != nil {
			return
		}
		up, err := net.Dial("tcp", backend)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{})
		go func() { io.Copy(up, c); up.Close(); close(done) }()
		io.Copy(c, up)
		c.Close()
		<-done
	})
	t.Cleanup(func() { ln.Close(); wait() })
	return f
}

// Hellos returns the ClientHellos seen so far, in order.
func (f *Front) Hellos() []*tls.ClientHelloInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*tls.ClientHelloInfo(nil), f.hellos...)
}
