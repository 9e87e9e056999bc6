package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// tracer prints, for -d, every packet a connection sends and receives, in
// the manner of mosquitto_pub -d, with the properties spelled out. It
// never prints a password or authentication data.
type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "debug: "+format+"\n", args...)
}

// dialer wraps d so that each connection it opens is traced.
func (t *tracer) dialer(d mqtt.Dialer) mqtt.Dialer {
	return mqtt.DialerFunc(func(ctx context.Context, u *url.URL) (net.Conn, error) {
		c, err := d.Dial(ctx, u)
		if err != nil {
			return nil, err
		}
		t.printf("connected to %s (%s)", c.RemoteAddr(), u.Scheme)
		return &traceConn{Conn: c, t: t}, nil
	})
}

// traceConn decodes the bytes that pass through it, each way, into
// packets and prints them. It takes the protocol version from the
// CONNECT it sends.
type traceConn struct {
	net.Conn
	t       *tracer
	version atomic.Uint32
	in, out traceBuf // owned by Read and Write, which one goroutine each calls
}

// traceBuf holds the bytes of a packet not yet whole.
type traceBuf struct {
	buf  []byte
	dead bool // the stream could not be followed: stop decoding it
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.feed(&c.in, p[:n], "received")
	}
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	c.feed(&c.out, p, "sending")
	return c.Conn.Write(p)
}

// feed adds data to b and prints each packet it completes.
func (c *traceConn) feed(b *traceBuf, data []byte, dir string) {
	if b.dead {
		return
	}
	b.buf = append(b.buf, data...)
	for len(b.buf) >= 2 {
		size, n := 0, 0
		for i := 1; ; i++ {
			if i >= len(b.buf) {
				return // the length is not whole yet
			}
			if i > 4 {
				b.dead = true
				return
			}
			size |= int(b.buf[i]&0x7f) << (7 * (i - 1))
			if b.buf[i]&0x80 == 0 {
				n = i + 1
				break
			}
		}
		total := n + size
		if len(b.buf) < total {
			return
		}
		c.describe(b.buf[:total], dir)
		b.buf = append(b.buf[:0], b.buf[total:]...)
	}
}

// describe decodes one whole packet and prints it.
func (c *traceConn) describe(raw []byte, dir string) {
	v := packet.Version(c.version.Load())
	if dir == "sending" && raw[0]>>4 == byte(packet.TypeConnect) {
		v = 0
	}
	if v == 0 && raw[0]>>4 != byte(packet.TypeConnect) {
		v = packet.V5
	}
	p, err := packet.NewReader(bytes.NewReader(raw), len(raw)+1).ReadPacket(v)
	if err != nil {
		c.t.printf("%s %v packet (%d bytes) that does not decode: %v", dir, packet.Type(raw[0]>>4), len(raw), err)
		return
	}
	if cp, ok := p.(*packet.Connect); ok {
		c.version.Store(uint32(cp.Version))
	}
	if v == 0 {
		v = packet.Version(c.version.Load())
	}
	c.t.printf("%s %s", dir, describePacket(p, v))
}

// describePacket returns a packet's type and its fields, as
// "PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))", for protocol version
// v: in 3.x, acknowledgements and DISCONNECT carry no reason code.
func describePacket(p packet.Packet, v packet.Version) string {
	v5 := v == packet.V5
	var f []string
	var props packet.Properties
	switch p := p.(type) {
	case *packet.Connect:
		f = append(f, "MQTT "+p.Version.String(), fmt.Sprintf("client ID %q", p.ClientID), "clean "+strconv.FormatBool(p.CleanStart),
			fmt.Sprintf("keep-alive %ds", p.KeepAlive))
		if p.Username != "" || p.UsernameFlag {
			f = append(f, fmt.Sprintf("username %q", p.Username))
		}
		if p.Password != nil {
			f = append(f, "password (not shown)")
		}
		if w := p.Will; w != nil {
			f = append(f, fmt.Sprintf("will '%s' q%d r%d (%d bytes)%s", w.Topic, w.QoS, b2i(w.Retain), len(w.Payload), propsSuffix(w.Properties)))
		}
		props = p.Properties
	case *packet.Connack:
		f = append(f, reasonText(p.ReasonCode, packet.TypeConnack), "session present "+strconv.FormatBool(p.SessionPresent))
		props = p.Properties
	case *packet.Publish:
		f = append(f, fmt.Sprintf("d%d, q%d, r%d, m%d, '%s', ... (%d bytes)", b2i(p.Dup), p.QoS, b2i(p.Retain), p.PacketID, p.Topic, len(p.Payload)))
		props = p.Properties
	case *packet.Puback:
		f, props = ackFields(p.PacketID, p.ReasonCode, packet.TypePuback, v5), p.Properties
	case *packet.Pubrec:
		f, props = ackFields(p.PacketID, p.ReasonCode, packet.TypePubrec, v5), p.Properties
	case *packet.Pubrel:
		f, props = ackFields(p.PacketID, p.ReasonCode, packet.TypePubrel, v5), p.Properties
	case *packet.Pubcomp:
		f, props = ackFields(p.PacketID, p.ReasonCode, packet.TypePubcomp, v5), p.Properties
	case *packet.Subscribe:
		f = append(f, fmt.Sprintf("m%d", p.PacketID))
		for _, s := range p.Subscriptions {
			o := fmt.Sprintf("'%s' q%d", s.Filter, s.QoS)
			if s.NoLocal {
				o += " no-local"
			}
			if s.RetainAsPublished {
				o += " retain-as-published"
			}
			if s.RetainHandling != 0 {
				o += fmt.Sprintf(" retain-handling %d", s.RetainHandling)
			}
			f = append(f, o)
		}
		props = p.Properties
	case *packet.Suback:
		f = append(f, fmt.Sprintf("m%d", p.PacketID))
		for _, rc := range p.ReasonCodes {
			f = append(f, reasonText(rc, packet.TypeSuback))
		}
		props = p.Properties
	case *packet.Unsubscribe:
		f = append(f, fmt.Sprintf("m%d", p.PacketID))
		for _, s := range p.Filters {
			f = append(f, "'"+s+"'")
		}
		props = p.Properties
	case *packet.Unsuback:
		f = append(f, fmt.Sprintf("m%d", p.PacketID))
		for _, rc := range p.ReasonCodes {
			f = append(f, reasonText(rc, packet.TypeUnsuback))
		}
		props = p.Properties
	case *packet.Disconnect:
		if v5 {
			f = append(f, reasonText(p.ReasonCode, packet.TypeDisconnect))
		}
		props = p.Properties
	case *packet.Auth:
		f = append(f, reasonText(p.ReasonCode, packet.TypeAuth))
		props = p.Properties
	}
	s := p.Type().String()
	if len(f) > 0 {
		s += " (" + strings.Join(f, ", ") + ")"
	}
	return s + propsSuffix(props)
}

func ackFields(id uint16, rc packet.ReasonCode, t packet.Type, v5 bool) []string {
	if !v5 {
		return []string{fmt.Sprintf("m%d", id)}
	}
	return []string{fmt.Sprintf("m%d", id), reasonText(rc, t)}
}

func reasonText(rc packet.ReasonCode, t packet.Type) string {
	return fmt.Sprintf("%s 0x%02x", rc.Name(t), byte(rc))
}

// propsSuffix returns the properties set in p as " [name: value, ...]",
// "" when there are none. Authentication data is never shown.
func propsSuffix(p packet.Properties) string {
	var f []string
	add := func(name string, v any) { f = append(f, fmt.Sprintf("%s: %v", name, v)) }
	if p.PayloadFormat != 0 {
		add("payload-format-indicator", p.PayloadFormat)
	}
	if p.MessageExpiryInterval != nil {
		add("message-expiry-interval", *p.MessageExpiryInterval)
	}
	if p.ContentType != "" {
		add("content-type", strconv.Quote(p.ContentType))
	}
	if p.ResponseTopic != "" {
		add("response-topic", strconv.Quote(p.ResponseTopic))
	}
	if p.CorrelationData != nil {
		add("correlation-data", strconv.Quote(string(p.CorrelationData)))
	}
	for _, id := range p.SubscriptionIDs {
		add("subscription-identifier", id)
	}
	if p.SessionExpiryInterval != nil {
		add("session-expiry-interval", *p.SessionExpiryInterval)
	}
	if p.AssignedClientID != "" {
		add("assigned-client-identifier", strconv.Quote(p.AssignedClientID))
	}
	if p.ServerKeepAlive != nil {
		add("server-keep-alive", *p.ServerKeepAlive)
	}
	if p.AuthMethod != "" {
		add("authentication-method", strconv.Quote(p.AuthMethod))
	}
	if p.AuthData != nil {
		add("authentication-data", fmt.Sprintf("(%d bytes, not shown)", len(p.AuthData)))
	}
	if p.RequestProblemInfo != nil {
		add("request-problem-information", b2i(*p.RequestProblemInfo))
	}
	if p.WillDelayInterval != 0 {
		add("will-delay-interval", p.WillDelayInterval)
	}
	if p.RequestResponseInfo {
		add("request-response-information", 1)
	}
	if p.ResponseInfo != "" {
		add("response-information", strconv.Quote(p.ResponseInfo))
	}
	if p.ServerReference != "" {
		add("server-reference", strconv.Quote(p.ServerReference))
	}
	if p.ReasonString != "" {
		add("reason-string", strconv.Quote(p.ReasonString))
	}
	if p.ReceiveMaximum != 0 {
		add("receive-maximum", p.ReceiveMaximum)
	}
	if p.TopicAliasMaximum != 0 {
		add("topic-alias-maximum", p.TopicAliasMaximum)
	}
	if p.TopicAlias != 0 {
		add("topic-alias", p.TopicAlias)
	}
	if p.MaximumQoS != nil {
		add("maximum-qos", byte(*p.MaximumQoS))
	}
	if p.RetainAvailable != nil {
		add("retain-available", b2i(*p.RetainAvailable))
	}
	for _, u := range p.User {
		add("user-property", strconv.Quote(u.Key)+"="+strconv.Quote(u.Value))
	}
	if p.MaximumPacketSize != 0 {
		add("maximum-packet-size", p.MaximumPacketSize)
	}
	if p.WildcardSubAvailable != nil {
		add("wildcard-subscription-available", b2i(*p.WildcardSubAvailable))
	}
	if p.SubIDAvailable != nil {
		add("subscription-identifier-available", b2i(*p.SubIDAvailable))
	}
	if p.SharedSubAvailable != nil {
		add("shared-subscription-available", b2i(*p.SharedSubAvailable))
	}
	if len(f) == 0 {
		return ""
	}
	return " [" + strings.Join(f, ", ") + "]"
}
