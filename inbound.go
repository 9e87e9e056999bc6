package mqtt

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
)

// readLoop reads packets until the connection ends. It never waits for a
// handler: messages go to the dispatcher's queue, so acknowledgements of
// our own publishes and PINGRESP are always read.
func (cn *conn) readLoop() {
	defer cn.wg.Done()
	defer cn.br.release()
	for {
		p, err := cn.r.ReadPacket(cn.v)
		if err != nil {
			select {
			case <-cn.done: // we closed it
				return
			default:
			}
			if cn.closing.Load() {
				cn.end(ErrClosed)
				return
			}
			var pe *packet.Error
			switch {
			case errors.As(err, &pe):
				cn.fail(err)
			case errors.Is(err, io.EOF):
				cn.end(ended(ErrConnectionLost, io.EOF))
			default:
				cn.end(ended(ErrConnectionLost, err))
			}
			return
		}
		cn.lastRecv.Store(time.Now().UnixNano())
		if err := cn.handle(p); err != nil {
			cn.fail(err)
			return
		}
		if _, ok := p.(*packet.Disconnect); ok {
			return
		}
	}
}

// handle acts on one packet from the broker. An error is a protocol error
// that ends the connection.
func (cn *conn) handle(p packet.Packet) error {
	c := cn.c
	switch p := p.(type) {
	case *packet.Publish:
		return cn.receive(p)
	case *packet.Puback:
		c.acked(cn, p.PacketID, packet.TypePuback, p.ReasonCode, &p.Properties, nil)
	case *packet.Pubrec:
		c.pubrec(cn, p)
	case *packet.Pubcomp:
		c.pubcomp(cn, p)
	case *packet.Pubrel:
		c.pubrel(cn, p)
	case *packet.Suback:
		c.acked(cn, p.PacketID, packet.TypeSuback, 0, &p.Properties, p.ReasonCodes)
	case *packet.Unsuback:
		c.acked(cn, p.PacketID, packet.TypeUnsuback, 0, &p.Properties, p.ReasonCodes)
	case *packet.Pingresp:
	case *packet.Auth:
		return cn.auth(p)
	case *packet.Disconnect:
		cn.end(&DisconnectError{Remote: true, Code: p.ReasonCode, ReasonString: p.Properties.ReasonString,
			ServerReference: p.Properties.ServerReference, UserProperties: p.Properties.User})
	default:
		// CONNECT, CONNACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ: not for a
		// connected client.
		return &packet.Error{Code: packet.ReasonProtocolError, Packet: p.Type(), Reason: "unexpected from the server"}
	}
	return nil
}

// receive handles an inbound PUBLISH: it resolves a topic alias, enforces
// our Receive Maximum, keeps QoS 2 exactly-once, and queues the message for
// its handlers. The acknowledgement is sent when the handlers return.
func (cn *conn) receive(p *packet.Publish) error {
	c := cn.c
	topic := p.Topic
	if a := p.Properties.TopicAlias; a != 0 {
		if a > c.s.TopicAliasMaximum {
			return &packet.Error{Code: packet.ReasonTopicAliasInvalid, Packet: packet.TypePublish,
				Reason: "Topic Alias " + itoa(int(a)) + " over our Topic Alias Maximum " + itoa(int(c.s.TopicAliasMaximum))}
		}
		c.mu.Lock()
		if topic != "" {
			if c.inAliases == nil {
				c.inAliases = make(map[uint16]string)
			}
			c.inAliases[a] = topic
		} else {
			topic = c.inAliases[a]
		}
		c.mu.Unlock()
		if topic == "" {
			return &packet.Error{Code: packet.ReasonTopicAliasInvalid, Packet: packet.TypePublish,
				Reason: "Topic Alias " + itoa(int(a)) + " was never set"}
		}
	}
	if p.QoS > QoS0 {
		c.mu.Lock()
		if p.QoS == QoS2 && !c.sess.ReceiveQoS2(p.PacketID) {
			// A resend before PUBREL: delivered already, or being delivered.
			// Answer again if PUBREC went out; otherwise it will.
			recorded := c.sess.HasRecorded(p.PacketID)
			c.mu.Unlock()
			if recorded {
				cn.sendPacket(&packet.Pubrec{PacketID: p.PacketID})
			}
			return nil
		}
		c.inUnacked++
		over := c.inUnacked > int(c.receiveMaximum())
		c.mu.Unlock()
		if over {
			return &packet.Error{Code: packet.ReasonReceiveMaximumExceeded, Packet: packet.TypePublish,
				Reason: "more unacknowledged QoS 1 and 2 messages than our Receive Maximum"}
		}
	}
	m := cn.msg
	cn.msg = nil
	if m == nil {
		m = new(Message)
	}
	*m = Message{Topic: topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain,
		Properties: p.Properties, Dup: p.Dup, PacketID: p.PacketID}
	c.received.Add(1)
	if !c.disp.deliver(delivery{msg: m, cn: cn}) && m.QoS == QoS0 {
		if c.dropped.Add(1) == 1 {
			c.s.Logger.Warn("mqtt: dropping QoS 0 messages: handlers are behind by Config.MaxUndelivered bytes")
		}
	}
	return nil
}

// body gives the reader the buffer for a packet body. For a PUBLISH, room
// in the same allocation as the Message it becomes, so that a received
// message costs one allocation.
// An acknowledgement without properties (4 bytes at most) is read into a
// buffer the reader reuses: nothing refers to its body once it is handled.
func (cn *conn) body(t packet.Type, n int) []byte {
	switch t {
	case packet.TypePublish:
		m, b := newMessage(n)
		cn.msg = m
		return b
	case packet.TypePuback, packet.TypePubrec, packet.TypePubrel, packet.TypePubcomp:
		if n <= len(cn.ackBody) {
			return cn.ackBody[:n]
		}
	}
	return nil
}

// newMessage allocates a Message and n bytes in one piece for n up to
// 4 KiB, in size classes.
func newMessage(n int) (*Message, []byte) {
	switch {
	case n <= 64:
		x := new(struct {
			m Message
			b [64]byte
		})
		return &x.m, x.b[:n]
	case n <= 256:
		x := new(struct {
			m Message
			b [256]byte
		})
		return &x.m, x.b[:n]
	case n <= 1024:
		x := new(struct {
			m Message
			b [1024]byte
		})
		return &x.m, x.b[:n]
	case n <= 4096:
		x := new(struct {
			m Message
			b [4096]byte
		})
		return &x.m, x.b[:n]
	}
	return new(Message), make([]byte, n)
}

func (c *Client) receiveMaximum() uint16 {
	if c.s.ReceiveMaximum == 0 {
		return 65535
	}
	return c.s.ReceiveMaximum
}

// delivered sends the acknowledgement of a message whose handlers have
// returned: PUBACK for QoS 1, PUBREC for QoS 2. If its connection has
// ended, nothing is sent: the broker resends it.
func (c *Client) delivered(cn *conn, m *Message) {
	switch m.QoS {
	case QoS1:
		c.mu.Lock()
		c.inUnacked--
		c.mu.Unlock()
		cn.sendPacket(&packet.Puback{PacketID: m.PacketID})
	case QoS2:
		c.mu.Lock()
		if c.sess.Recorded(m.PacketID) && c.st != nil {
			// Durable before PUBREC: after a restart, the broker's resend
			// is known as one (MQTT-4.3.3-9).
			if err := c.st.s.Put(keyInbound|uint64(m.PacketID), []byte{recInbound}); err != nil {
				c.mu.Unlock()
				cn.end(fmt.Errorf("%w: %w", ErrStore, err))
				return
			}
			cn.needSync.Store(true)
		}
		c.mu.Unlock()
		cn.sendPacket(&packet.Pubrec{PacketID: m.PacketID})
	}
}

// pubrel completes an inbound QoS 2 exchange (MQTT 5.0 section 4.3.3).
func (c *Client) pubrel(cn *conn, p *packet.Pubrel) {
	c.mu.Lock()
	held := c.sess.ReleaseQoS2(p.PacketID)
	if held {
		c.inUnacked--
		if c.st != nil {
			// Durable before PUBCOMP: the broker may then use the
			// identifier for a new message.
			c.st.s.Delete(keyInbound | uint64(p.PacketID))
			cn.needSync.Store(true)
		}
	}
	c.mu.Unlock()
	comp := &packet.Pubcomp{PacketID: p.PacketID}
	if !held && cn.v == packet.V5 {
		comp.ReasonCode = packet.ReasonPacketIDNotFound
	}
	cn.sendPacket(comp)
}

// pubrec handles the broker's PUBREC to our QoS 2 PUBLISH: an error code
// ends the exchange; success is answered with PUBREL.
//
// A PUBREC "Packet Identifier in use" (0x91) to a PUBLISH resent with DUP
// after a reconnection means that the broker holds a PUBREC for that
// identifier from the first sending (Mochi 2.7.9 answers so where
// MQTT-4.3.3-10 asks for a plain PUBREC): it is answered with PUBREL, which
// completes the exchange, exactly once. (Mochi has usually resent its own
// PUBREC right after CONNACK, so this PUBREL is a second one, and its
// PUBCOMP, 0x92, finds no exchange.)
func (c *Client) pubrec(cn *conn, p *packet.Pubrec) {
	if p.ReasonCode == packet.ReasonPacketIDInUse {
		c.mu.Lock()
		e := c.sess.Get(p.PacketID)
		resent := e != nil && e.Kind == session.Publish2 && e.Data.(*op).resent
		c.mu.Unlock()
		if resent {
			p.ReasonCode = packet.ReasonSuccess
		}
	}
	if p.ReasonCode.IsError() {
		c.acked(cn, p.PacketID, packet.TypePubrec, p.ReasonCode, &p.Properties, nil)
		return
	}
	c.mu.Lock()
	e := c.sess.Get(p.PacketID)
	known := e != nil && e.Kind == session.Publish2
	if known && !e.Released {
		e.Released = true
		if o := e.Data.(*op); o.seq != 0 {
			// Durable before PUBREL: after it, the PUBLISH must not be
			// sent again (MQTT-4.3.3-5).
			if err := c.st.state(o.seq, e); err != nil {
				c.mu.Unlock()
				cn.end(err)
				return
			}
			cn.needSync.Store(true)
		}
	}
	c.mu.Unlock()
	rel := &packet.Pubrel{PacketID: p.PacketID}
	if !known && cn.v == packet.V5 {
		rel.ReasonCode = packet.ReasonPacketIDNotFound
	}
	cn.sendPacket(rel)
}

// pubcomp completes our QoS 2 exchange on the broker's PUBCOMP. Once the
// broker's PUBREC succeeded it owned the message (MQTT-4.3.3-8), so the
// exchange succeeds whatever the PUBCOMP's code. The only other code,
// "Packet Identifier not found" (0x92), answers a PUBREL resent on a
// resumed session (MQTT-4.4.0-1) for an exchange the broker completed
// before the connection broke, its PUBCOMP lost; MQTT 5.0 section 3.7.2.1
// (Table 3-7) says it "is not an error during recovery".
func (c *Client) pubcomp(cn *conn, p *packet.Pubcomp) {
	code := p.ReasonCode
	c.mu.Lock()
	if e := c.sess.Get(p.PacketID); e != nil && e.Kind == session.Publish2 && e.Released {
		code = packet.ReasonSuccess
	}
	c.mu.Unlock()
	c.acked(cn, p.PacketID, packet.TypePubcomp, code, &p.Properties, nil)
}

// ackKind returns the kind of exchange an acknowledgement of type t answers.
func ackKind(t packet.Type) session.Kind {
	switch t {
	case packet.TypePuback:
		return session.Publish1
	case packet.TypePubrec, packet.TypePubcomp:
		return session.Publish2
	case packet.TypeSuback:
		return session.Subscribe
	}
	return session.Unsubscribe
}

// acked completes the outgoing exchange id with the broker's answer, a
// packet of type t.
func (c *Client) acked(cn *conn, id uint16, t packet.Type, code packet.ReasonCode, props *packet.Properties, codes []packet.ReasonCode) {
	kind := ackKind(t)
	c.mu.Lock()
	e := c.sess.Get(id)
	if e == nil || e.Kind != kind {
		c.mu.Unlock()
		c.s.Logger.Debug("mqtt: acknowledgement for no exchange", "packet_id", id)
		return
	}
	o := e.Data.(*op)
	c.release(e)
	var err error
	switch {
	case kind == session.Subscribe || kind == session.Unsubscribe:
		err = c.subscribed(o, kind, codes, props)
		if errors.Is(err, ErrBadPacket) {
			defer cn.fail(&packet.Error{Code: packet.ReasonProtocolError, Packet: t, Reason: "reason codes do not match the filters"})
		}
	case code.IsError():
		err = &ReasonCodeError{Packet: t, Code: code, ReasonString: props.ReasonString, UserProperties: props.User}
	}
	c.mu.Unlock()
	o.finish(err)
}

// release frees e's packet identifier and in-flight slot, and sends what
// the queue holds that now fits. c.mu is held.
func (c *Client) release(e *session.Entry) {
	c.drop(e)
	c.pump()
}

// drop ends e's exchange: it frees its packet identifier and in-flight
// slot, and deletes its records from the Store. c.mu is held.
func (c *Client) drop(e *session.Entry) {
	c.sess.Remove(e.ID)
	o := e.Data.(*op)
	if isPublish(e.Kind) && !o.deferred {
		c.inflight--
	}
	o.deferred = false // pump skips it
	if o.seq != 0 {
		c.st.forget(o.seq)
	}
}
