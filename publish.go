package mqtt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// op is one operation awaiting the broker's answer. The Completion of an
// asynchronous operation is its op.
type op struct {
	fin  atomic.Bool
	done chan struct{} // if not nil, closed when the op finishes
	w    *waiter       // if not nil, receives the result: a synchronous caller waits on it
	err  error

	// e is the op's exchange in the session, when it holds a packet
	// identifier; e.Data is the op.
	e session.Entry

	msg    *Message // a publish: kept for resending
	seq    uint64   // its sequence number in Config.Store; 0 if not stored
	tries  int      // connections that ended while it was on the wire; guarded by c.mu
	resent bool     // sent again with DUP after a reconnection; guarded by c.mu
	// deferred: in a resumed session, waiting in c.resends for room in
	// the in-flight window; guarded by c.mu
	deferred bool

	// a subscribe or unsubscribe: the packet, whose identifier is set when
	// it is sent, and the results
	sub     *packet.Subscribe
	unsub   *packet.Unsubscribe
	results []SubResult
}

// size is what o counts for in the queue's byte bound.
func (o *op) size() int {
	if o.msg != nil {
		return len(o.msg.Topic) + len(o.msg.Payload) + 16
	}
	return 64
}

func newOp() *op { return &op{done: make(chan struct{})} }

// finish completes o with err; only the first call counts.
func (o *op) finish(err error) {
	if !o.fin.CompareAndSwap(false, true) {
		return
	}
	o.err = err
	if o.w != nil {
		o.w.ch <- err
	} else {
		close(o.done)
	}
}

// wait waits for o, or for ctx. A context that expires fails the wait but
// not the operation: an exchange on the wire keeps its packet identifier
// until the broker answers.
func (o *op) wait(ctx context.Context) error {
	if o.w != nil {
		select {
		case err := <-o.w.ch:
			waiterPool.Put(o.w)
			return err
		case <-ctx.Done():
			return ctx.Err() // o.w is finish's to fill; it is not reused
		}
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Completion is the result of an asynchronous operation.
type Completion op

// Done returns a channel closed when the operation completes.
func (c *Completion) Done() <-chan struct{} { return c.done }

// Err returns the operation's error once Done is closed; before, nil.
func (c *Completion) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Wait waits for the operation, or for ctx to expire.
func (c *Completion) Wait(ctx context.Context) error { return (*op)(c).wait(ctx) }

// Publish publishes m and waits: for QoS 0 until it is written to the
// network, for QoS 1 until PUBACK, for QoS 2 until PUBCOMP. A broker's
// refusal (MQTT 5.0 PUBACK or PUBREC with an error code) is a
// *ReasonCodeError.
//
// m is checked first against the specification and the broker's limits
// (Negotiated): an invalid topic, a QoS above the broker's maximum, a
// retained message the broker cannot keep, a packet over its maximum size
// are refused before anything is sent. When as many QoS 1 and 2 messages as
// allowed are in flight, the message waits in the client's queue, and
// while the client reconnects (Config.Reconnect) too, by the
// Config.Offline policy; see Config.MaxQueued for the queue's bounds.
//
// If ctx expires, Publish returns ctx.Err(). A QoS 1 or 2 message already
// written stays in the session with its packet identifier, and its
// exchange completes when the broker answers; whether it arrived is then
// unknown to the caller. m must not change until Publish returns.
func (c *Client) Publish(ctx context.Context, m *Message) error {
	if m == nil {
		return errors.New("mqtt: nil message")
	}
	if m.QoS == QoS0 {
		if err := c.publish0(ctx, m); err != errQueueIt {
			return err
		}
	}
	w := waiterPool.Get().(*waiter)
	o := &op{w: w}
	if err := c.publish(m, o, false); err != nil {
		waiterPool.Put(w)
		return err
	}
	return o.wait(ctx)
}

// errQueueIt tells Publish that publish0 found no connection: the message
// takes the queue's path.
var errQueueIt = errors.New("queue it")

// publish0 is a synchronous QoS 0 Publish on a connection: it waits for
// the write through a pooled waiter, and allocates nothing.
func (c *Client) publish0(ctx context.Context, m *Message) error {
	c.mu.Lock()
	cn := c.cn
	c.mu.Unlock()
	if cn == nil {
		return errQueueIt
	}
	if err := c.checkMessage(m, &cn.neg); err != nil {
		return err
	}
	p := packet.Publish{Retain: m.Retain, Topic: m.Topic, Payload: m.Payload, Properties: m.Properties}
	w := waiterPool.Get().(*waiter)
	if err := c.sendPublish(cn, &p, nil, w); err != nil {
		waiterPool.Put(w)
		return err
	}
	c.sent.Add(1)
	select {
	case err := <-w.ch:
		waiterPool.Put(w)
		return err
	case <-ctx.Done():
		return ctx.Err() // w is the writer's to fill; it is not reused
	}
}

// PublishAsync starts publishing m and returns at once; the Completion
// reports the outcome as Publish would. A message the in-flight window
// has no room for, or one published while the client reconnects, waits in
// the client's queue (see Config.MaxQueued). m must not change until the
// Completion is done. With Config.Store, a QoS 1 or 2 message is durable
// in the Store when PublishAsync returns (unless the Completion already
// failed), so PublishAsync waits for the Store's Sync.
func (c *Client) PublishAsync(m *Message) *Completion {
	o := newOp()
	if m == nil {
		o.finish(errors.New("mqtt: nil message"))
	} else if err := c.publish(m, o, true); err != nil {
		o.finish(err)
	}
	return (*Completion)(o)
}

// publish checks m, records it in the Store if there is one (durably if
// durable), and submits it; o finishes with the outcome. An error means
// nothing was sent or queued.
func (c *Client) publish(m *Message, o *op, durable bool) error {
	c.mu.Lock()
	var neg *Negotiated
	if c.cn != nil {
		neg = &c.cn.neg
	} else if c.neg.Version != 0 {
		// While reconnecting, the last connection's settings are the best
		// guess of the next one's.
		n := c.neg
		neg = &n
	}
	c.mu.Unlock()
	if neg != nil {
		if err := c.checkMessage(m, neg); err != nil {
			return err
		}
	} else if err := topic.CheckName(m.Topic); err != nil {
		return err
	} else if l := c.s.Limits; l != nil {
		if err := l.checkMessage("message", m); err != nil {
			return err
		}
	}
	o.msg = m
	switch m.QoS {
	case QoS0:
		o.e.Kind = kindQoS0
	case QoS1:
		o.e.Kind = session.Publish1
	default:
		o.e.Kind = session.Publish2
	}
	if c.st != nil && m.QoS > QoS0 {
		seq, err := c.st.accept(m)
		if err != nil {
			return err
		}
		if durable {
			if err := c.st.s.Sync(); err != nil {
				c.st.forget(seq)
				return fmt.Errorf("%w: sync: %w", ErrStore, err)
			}
		}
		o.seq = seq
	}
	err := c.submit(o)
	if err != nil && o.seq != 0 {
		c.st.forget(o.seq)
		o.seq = 0
	}
	return err
}

// sendPublish encodes p, with a topic alias when the client gives them,
// and queues it; o or w, if not nil, learns when it is written.
func (c *Client) sendPublish(cn *conn, p *packet.Publish, o *op, w *waiter) error {
	t := cn.aliases
	if t == nil {
		buf, err := c.encodePublish(p, cn)
		if err != nil {
			return err
		}
		cn.send(outItem{b: buf.b, buf: buf, op: o, w: w})
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	topic := p.Topic
	record := t.choose(p)
	buf, err := c.encodePublish(p, cn)
	if err != nil {
		return err
	}
	cn.send(outItem{b: buf.b, buf: buf, op: o, w: w})
	if record != 0 {
		t.record(record, topic)
	}
	return nil
}

// checkMessage refuses what the broker would refuse, before anything is
// sent, by the settings neg of the connection it goes out on.
func (c *Client) checkMessage(m *Message, neg *Negotiated) error {
	if l := c.s.Limits; l != nil {
		if err := l.checkMessage("message", m); err != nil {
			return err
		}
	}
	if m.Topic != "" || neg.Version != packet.V5 || m.Properties.TopicAlias == 0 {
		if err := topic.CheckName(m.Topic); err != nil {
			return err
		}
	}
	switch {
	case !m.QoS.Valid():
		return fmt.Errorf("mqtt: %v is not a QoS", m.QoS)
	case m.QoS > neg.MaximumQoS:
		return fmt.Errorf("mqtt: %v is above the broker's Maximum QoS %d (MQTT-3.2.2-11)", m.QoS, neg.MaximumQoS)
	case m.Retain && !neg.RetainAvailable:
		return errors.New("mqtt: the broker does not keep retained messages (MQTT-3.2.2-14)")
	case m.Properties.TopicAlias != 0 && c.s.AutoTopicAlias:
		return errors.New("mqtt: a Topic Alias set by hand while Config.AutoTopicAlias is on")
	case m.Properties.TopicAlias > neg.TopicAliasMaximum:
		return fmt.Errorf("mqtt: Topic Alias %d over the broker's maximum %d (MQTT-3.3.2-9)", m.Properties.TopicAlias, neg.TopicAliasMaximum)
	}
	return nil
}

// encode encodes p for cn into a pooled buffer and checks it against the
// broker's Maximum Packet Size (MQTT-3.2.2-15).
func (c *Client) encode(p packet.Packet, cn *conn) (*buffer, error) {
	buf := getBuf()
	b, err := p.Append(buf.b, cn.v)
	return checkSize(buf, b, err, p.Type(), cn)
}

// encodePublish is encode for a PUBLISH, without the interface call that
// would move p to the heap.
func (c *Client) encodePublish(p *packet.Publish, cn *conn) (*buffer, error) {
	buf := getBuf()
	b, err := p.Append(buf.b, cn.v)
	return checkSize(buf, b, err, packet.TypePublish, cn)
}

func checkSize(buf *buffer, b []byte, err error, t packet.Type, cn *conn) (*buffer, error) {
	buf.b = b
	if err != nil {
		putBuf(buf)
		return nil, err
	}
	if max := cn.neg.MaximumPacketSize; max > 0 && len(b) > int(max) {
		putBuf(buf)
		return nil, fmt.Errorf("mqtt: %v of %d bytes is over the broker's Maximum Packet Size %d", t, len(b), max)
	}
	return buf, nil
}
