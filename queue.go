package mqtt

import (
	"errors"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
)

// ErrQueueFull: the client's queue of operations waiting to be sent (while
// it is disconnected, or while the in-flight window is full) is at
// Config.MaxQueued or Config.MaxQueuedBytes; the operation was not sent.
var ErrQueueFull = errors.New("mqtt: the queue of operations waiting to be sent is full")

// OfflinePolicy says which operations wait in the client's queue while it
// is disconnected and reconnecting (Config.Reconnect); the others fail at
// once with an error wrapping ErrNotConnected. Nothing is dropped silently:
// an operation that is not queued fails, and so does one the queue's
// bounds refuse (ErrQueueFull).
type OfflinePolicy uint8

const (
	// OfflineQueueReliable queues QoS 1 and 2 publishes, subscribes and
	// unsubscribes, and fails QoS 0 publishes. The default.
	OfflineQueueReliable OfflinePolicy = iota
	// OfflineQueueAll queues every operation, QoS 0 publishes included.
	OfflineQueueAll
	// OfflineFailAll fails every operation while disconnected.
	OfflineFailAll
)

// kindQoS0 is the op kind of a QoS 0 publish: it holds no packet
// identifier.
const kindQoS0 session.Kind = 0

func isPublish(k session.Kind) bool { return k == session.Publish1 || k == session.Publish2 }

// submit sends o, or queues it: while the client is disconnected and
// reconnecting (by the OfflinePolicy), or while the in-flight window or
// the packet identifiers are all taken. An error means o was neither sent
// nor queued.
func (c *Client) submit(o *op) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.cn == nil {
		if !c.reconnecting() {
			return c.notConnected()
		}
		switch p := c.s.Offline; {
		case p == OfflineFailAll, p == OfflineQueueReliable && o.e.Kind == kindQoS0:
			return ended(ErrNotConnected, c.lastErr)
		}
		return c.enqueue(o)
	}
	if len(c.queue) == 0 {
		sent, err := c.trySend(c.cn, o)
		if err != nil || sent {
			return err
		}
	}
	return c.enqueue(o)
}

// enqueue appends o to the queue, within its bounds. c.mu is held.
func (c *Client) enqueue(o *op) error {
	size := o.size()
	if len(c.queue) >= c.s.MaxQueued || c.queuedBytes+size > c.s.MaxQueuedBytes {
		return ErrQueueFull
	}
	c.queue = append(c.queue, o)
	c.queuedBytes += size
	return nil
}

// trySend opens o's exchange, if it needs one, and sends it, unless the
// in-flight window or the identifiers are full (false, nil). An error means
// nothing was sent and o holds no identifier. c.mu is held.
func (c *Client) trySend(cn *conn, o *op) (bool, error) {
	k := o.e.Kind
	if k != kindQoS0 {
		if isPublish(k) && c.inflight >= c.maxFlight {
			return false, nil
		}
		o.e = session.Entry{Kind: k, Data: o}
		if !c.sess.Add(&o.e) {
			return false, nil
		}
		if isPublish(k) {
			c.inflight++
		}
		if o.seq != 0 {
			// The identifier is durable before the PUBLISH is written, so
			// that a restart resends it under the same one.
			if err := c.st.state(o.seq, &o.e); err != nil {
				c.drop(&o.e)
				return false, err
			}
			cn.needSync.Store(true)
		}
	}
	if err := c.sendOp(cn, o, false); err != nil {
		if k != kindQoS0 {
			c.sess.Remove(o.e.ID)
			if isPublish(k) {
				c.inflight--
			}
		}
		return false, err
	}
	return true, nil
}

// resend sends o, an exchange of a resumed session, again. c.mu is held.
func (c *Client) resend(cn *conn, o *op) {
	o.deferred = false
	if isPublish(o.e.Kind) {
		c.inflight++
		o.resent = true
	}
	if err := c.sendOp(cn, o, true); err != nil {
		c.drop(&o.e)
		o.finish(err)
	}
}

// pump sends the resends the in-flight window held back, then what the
// queue holds, in order, as far as the in-flight window and the
// identifiers allow. c.mu is held.
func (c *Client) pump() {
	cn := c.cn
	if cn == nil {
		return
	}
	r := 0
	for ; r < len(c.resends); r++ {
		o := c.resends[r]
		if !o.deferred {
			continue // dropped meanwhile
		}
		if isPublish(o.e.Kind) && c.inflight >= c.maxFlight {
			break
		}
		c.resend(cn, o)
	}
	if r > 0 {
		rest := copy(c.resends, c.resends[r:])
		clear(c.resends[rest:])
		c.resends = c.resends[:rest]
	}
	if len(c.resends) > 0 {
		return
	}
	n := 0
	for n < len(c.queue) {
		o := c.queue[n]
		sent, err := c.trySend(cn, o)
		if !sent && err == nil {
			break
		}
		c.queuedBytes -= o.size()
		n++
		if err != nil {
			c.fail(o, err)
		}
	}
	if n > 0 {
		rest := copy(c.queue, c.queue[n:])
		clear(c.queue[rest:])
		c.queue = c.queue[:rest]
	}
}

// sendOp encodes o's packet for cn and queues it for the writer. A resend
// (MQTT 5.0 section 4.4) is a PUBLISH with DUP set, or the PUBREL of a
// QoS 2 exchange the broker already acknowledged with PUBREC; it carries
// no topic alias, as aliases do not outlive a connection. c.mu is held.
func (c *Client) sendOp(cn *conn, o *op, resend bool) error {
	switch k := o.e.Kind; {
	case k == session.Publish2 && o.e.Released:
		return c.sendEncoded(cn, &packet.Pubrel{PacketID: o.e.ID}, nil)
	case k == kindQoS0 || isPublish(k):
		m := o.msg
		p := packet.Publish{QoS: m.QoS, Retain: m.Retain, Topic: m.Topic, Payload: m.Payload,
			Properties: m.Properties, PacketID: o.e.ID}
		if resend {
			if p.Topic == "" {
				return errors.New("mqtt: cannot resend a message published by Topic Alias alone on a new connection")
			}
			p.Dup = true
			p.Properties.TopicAlias = 0
			return c.sendEncoded(cn, &p, nil)
		}
		var fin *op
		if k == kindQoS0 {
			fin = o
		}
		if err := c.sendPublish(cn, &p, fin, nil); err != nil {
			return err
		}
		c.sent.Add(1)
		return nil
	case k == session.Subscribe:
		sp := *o.sub
		sp.PacketID = o.e.ID
		return c.sendEncoded(cn, &sp, nil)
	default:
		up := *o.unsub
		up.PacketID = o.e.ID
		return c.sendEncoded(cn, &up, nil)
	}
}

// sendEncoded encodes p for cn, within the broker's limits, and queues it.
func (c *Client) sendEncoded(cn *conn, p packet.Packet, o *op) error {
	buf, err := c.encode(p, cn)
	if err != nil {
		return err
	}
	cn.send(outItem{b: buf.b, buf: buf, op: o})
	return nil
}

// resume picks the session up on a new connection (MQTT 5.0 sections 4.1
// and 4.4). When the broker kept the session, the open exchanges are sent
// again in their original order: each PUBLISH with DUP set, or its PUBREL
// once PUBREC came. When it did not, the session is cleared: publishes are
// sent again as new messages, in order, ahead of the queue (a QoS 2
// message whose PUBREC came is complete: the broker had taken it), and the
// subscriptions are restored first unless Config.NoResubscribe. Then the
// queue is sent. c.mu is held.
func (c *Client) resume(cn *conn, first bool) {
	open := c.sess.Open()
	c.clearResends()
	if cn.neg.SessionPresent {
		c.inflight = 0
		for _, e := range open {
			o := e.Data.(*op)
			if len(c.resends) > 0 || isPublish(e.Kind) && c.inflight >= c.maxFlight {
				// Over the broker's Receive Maximum (MQTT-3.3.4-9), which
				// may be smaller than the last connection's: this one and
				// all after it wait for acknowledgements, in order.
				o.deferred = true
				c.resends = append(c.resends, o)
				continue
			}
			c.resend(cn, o)
		}
	} else {
		if c.st != nil {
			c.sess.EachInboundQoS2(func(id uint16) { c.st.s.Delete(keyInbound | uint64(id)) })
		}
		c.sess.Clear() // MQTT-3.2.2-5
		c.inflight = 0
		var again []*op
		if !first && !c.s.NoResubscribe {
			again = c.routes.resubscribe(cn.v == packet.V5 && cn.neg.SubIDAvailable)
		}
		for _, e := range open {
			o := e.Data.(*op)
			if e.Kind == session.Publish2 && e.Released {
				if o.seq != 0 {
					c.st.forget(o.seq)
				}
				o.finish(nil)
				continue
			}
			if o.seq != 0 {
				c.st.s.Delete(keyState(o.seq)) // its identifier is void
			}
			again = append(again, o)
		}
		if len(again) > 0 {
			for _, o := range again {
				c.queuedBytes += o.size()
			}
			c.queue = append(again, c.queue...)
		}
	}
	// Our Receive Maximum counts this connection's unacknowledged
	// messages: the inbound QoS 2 exchanges the session still holds.
	c.inUnacked = c.sess.InboundQoS2()
	c.pump()
}

// fail finishes o, which will not be sent, with err, and deletes its
// records from the Store. c.mu is held.
func (c *Client) fail(o *op, err error) {
	if o.seq != 0 {
		c.st.forget(o.seq)
	}
	o.finish(err)
}

// clearResends empties c.resends. c.mu is held.
func (c *Client) clearResends() {
	for i, o := range c.resends {
		o.deferred = false
		c.resends[i] = nil
	}
	c.resends = c.resends[:0]
}

// failAll fails every open exchange and queued operation with err: the
// client will not connect again. Their records stay in the Store, for the
// next Client opened on it. c.mu is held.
func (c *Client) failAll(err error) {
	c.clearResends()
	for _, e := range c.sess.Open() {
		e.Data.(*op).finish(err)
	}
	for i, o := range c.queue {
		o.finish(err)
		c.queue[i] = nil
	}
	c.queue = c.queue[:0]
	c.queuedBytes = 0
}
