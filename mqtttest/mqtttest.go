// Package mqtttest plays an MQTT broker from a script, for tests of what
// real brokers rarely do: refusals with any CONNACK code, acknowledgements
// with error codes, malformed packets, a broker that goes silent or sends
// half a packet.
//
// The script is the test's own code: accept a connection, expect a packet,
// send packets or raw bytes, stall, close.
//
//	b := mqtttest.NewBroker(t)
//	go client(b.URL)
//	c := b.Accept()
//	c.ExpectConnect()
//	c.Send(&packet.Connack{})
//	pub := c.Expect(packet.TypePublish).(*packet.Publish)
//	c.Send(&packet.Puback{PacketID: pub.PacketID, ReasonCode: packet.ReasonQuotaExceeded})
//
// A method fails the test with t.Fatal when the client does not do what the
// script expects within the timeout, so a script runs on the test's
// goroutine and the client under test on another.
package mqtttest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// DefaultTimeout bounds each wait of a script.
const DefaultTimeout = 10 * time.Second

// Broker listens on a free port of 127.0.0.1 for the client under test.
type Broker struct {
	t     testing.TB
	ln    net.Listener
	URL   string // mqtt://127.0.0.1:port
	conns chan net.Conn
}

// NewBroker starts listening; the listener and every connection close when
// the test ends.
func NewBroker(t testing.TB) *Broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, ln: ln, URL: "mqtt://" + ln.Addr().String(), conns: make(chan net.Conn, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(b.conns)
				return
			}
			b.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range b.conns {
			c.Close()
		}
	})
	return b
}

// Accept waits for the client's next connection.
func (b *Broker) Accept() *Conn {
	b.t.Helper()
	select {
	case nc, ok := <-b.conns:
		if !ok {
			b.t.Fatal("mqtttest: listener closed")
		}
		c := &Conn{t: b.t, nc: nc, br: bufio.NewReader(nc), Timeout: DefaultTimeout}
		b.t.Cleanup(func() { nc.Close() })
		return c
	case <-time.After(DefaultTimeout):
		b.t.Fatal("mqtttest: no connection from the client")
	}
	return nil
}

// Conn is one client connection, driven by the script.
type Conn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
	// Version is the protocol version of the CONNECT read by ExpectConnect;
	// Send and Expect use it.
	Version packet.Version
	// Timeout bounds each Expect. If zero, DefaultTimeout.
	Timeout time.Duration
}

// ExpectConnect reads the CONNECT and records its protocol version.
func (c *Conn) ExpectConnect() *packet.Connect {
	c.t.Helper()
	p, err := c.read(0)
	if err != nil {
		c.t.Fatalf("mqtttest: reading CONNECT: %v", err)
	}
	cp, ok := p.(*packet.Connect)
	if !ok {
		c.t.Fatalf("mqtttest: got %v, want CONNECT", p.Type())
	}
	c.Version = cp.Version
	return cp
}

// Expect reads the next packet and fails the test unless it is of type t.
func (c *Conn) Expect(t packet.Type) packet.Packet {
	c.t.Helper()
	p, err := c.Next()
	if err != nil {
		c.t.Fatalf("mqtttest: waiting for %v: %v", t, err)
	}
	if p.Type() != t {
		c.t.Fatalf("mqtttest: got %v %+v, want %v", p.Type(), p, t)
	}
	return p
}

// Next reads the next packet, whatever it is.
func (c *Conn) Next() (packet.Packet, error) {
	return c.read(c.Version)
}

func (c *Conn) read(v packet.Version) (packet.Packet, error) {
	to := c.Timeout
	if to == 0 {
		to = DefaultTimeout
	}
	c.nc.SetReadDeadline(time.Now().Add(to))
	return packet.NewReader(c.br, 0).ReadPacket(v)
}

// ExpectClosed waits for the client to close the connection, reading and
// returning whatever packets come first.
func (c *Conn) ExpectClosed() []packet.Packet {
	c.t.Helper()
	var got []packet.Packet
	for {
		p, err := c.Next()
		if err == nil {
			got = append(got, p)
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("mqtttest: the client did not close the connection (got %d packets)", len(got))
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) {
			var oe *net.OpError
			if !errors.As(err, &oe) {
				c.t.Fatalf("mqtttest: waiting for close: %v", err)
			}
		}
		return got
	}
}

// Send encodes and writes packets with the connection's version.
func (c *Conn) Send(ps ...packet.Packet) {
	c.t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.Append(b, c.Version); err != nil {
			c.t.Fatalf("mqtttest: encoding %v: %v", p.Type(), err)
		}
	}
	c.SendBytes(b)
}

// SendBytes writes raw bytes: a malformed packet, half of one.
func (c *Conn) SendBytes(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(DefaultTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("mqtttest: writing: %v", err)
	}
}

// AcceptConnect reads the CONNECT and answers with a successful CONNACK carrying
// props (MQTT 5.0 only), returning the CONNECT.
func (c *Conn) AcceptConnect(props packet.Properties) *packet.Connect {
	c.t.Helper()
	cp := c.ExpectConnect()
	c.Send(&packet.Connack{Properties: props})
	return cp
}

// Close closes the connection.
func (c *Conn) Close() { c.nc.Close() }
