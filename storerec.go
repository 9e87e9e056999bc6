package mqtt

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ternmq/mqtt/internal/session"
	"github.com/ternmq/mqtt/packet"
)

// The client's records in a Store. An accepted QoS 1 or 2 publish gets a
// sequence number s, from 1, and two keys: 2s holds the message, and
// 2s+1, once the message has a packet identifier, its exchange's state.
// Keys from 1<<63 hold the inbound QoS 2 identifiers awaiting PUBREL. Key
// order is therefore acceptance order, which is the order to send again.
//
// A message record is a tag byte and the message encoded as an MQTT 5.0
// PUBLISH (packet identifier 1 stands in; the state record has the real
// one). A state record is a tag byte, a flags byte (bit 0: PUBREC came
// and PUBREL is owed) and the packet identifier, big-endian. An inbound
// record is its tag byte.
const (
	recMessage byte = 'M'
	recState   byte = 'S'
	recInbound byte = 'I'

	keyInbound = uint64(1) << 63
)

func keyMessage(seq uint64) uint64 { return seq << 1 }
func keyState(seq uint64) uint64   { return seq<<1 | 1 }

// stored is a client's link to its Store; nil without one.
type stored struct {
	s   Store
	seq atomic.Uint64 // the last sequence number given
}

// accept records m, a QoS 1 or 2 message the caller publishes, and
// returns its sequence number.
func (st *stored) accept(m *Message) (uint64, error) {
	if m.Topic == "" {
		return 0, errors.New("mqtt: a message published by Topic Alias alone cannot be kept in the Store")
	}
	p := packet.Publish{QoS: m.QoS, Retain: m.Retain, Topic: m.Topic, Payload: m.Payload,
		Properties: m.Properties, PacketID: 1}
	p.Properties.TopicAlias = 0
	buf := getBuf()
	defer putBuf(buf)
	b, err := p.Append(append(buf.b[:0], recMessage), packet.V5)
	if err != nil {
		return 0, err
	}
	buf.b = b[:0]
	seq := st.seq.Add(1)
	if err := st.s.Put(keyMessage(seq), b); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return seq, nil
}

// state records the exchange e of the message seq.
func (st *stored) state(seq uint64, e *session.Entry) error {
	var flags byte
	if e.Released {
		flags = 1
	}
	rec := [4]byte{recState, flags, byte(e.ID >> 8), byte(e.ID)}
	if err := st.s.Put(keyState(seq), rec[:]); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if e.Released {
		// PUBREL is all that is left to send: the message is not needed.
		st.s.Delete(keyMessage(seq))
	}
	return nil
}

// forget deletes the records of the message seq.
func (st *stored) forget(seq uint64) {
	st.s.Delete(keyMessage(seq))
	st.s.Delete(keyState(seq))
}

// loaded is what a Store held: the ops of the outgoing messages in order,
// and the inbound QoS 2 identifiers.
type loaded struct {
	ops     []*op
	inbound []uint16
	bad     int // records that could not be read, deleted
}

// load reads the store's records.
func (st *stored) load() (*loaded, error) {
	l := &loaded{}
	var last *op
	var maxSeq uint64
	err := st.s.Load(func(key uint64, data []byte) error {
		if key >= keyInbound {
			if len(data) == 1 && data[0] == recInbound && key-keyInbound <= 0xffff && key != keyInbound {
				l.inbound = append(l.inbound, uint16(key-keyInbound))
				return nil
			}
			l.bad++
			return st.s.Delete(key)
		}
		seq := key >> 1
		maxSeq = max(maxSeq, seq)
		if key&1 == 0 {
			m, err := decodeStored(data)
			if err != nil {
				l.bad++
				return st.s.Delete(key)
			}
			last = &op{done: make(chan struct{}), msg: m, seq: seq}
			last.e.Kind = session.Publish1
			if m.QoS == QoS2 {
				last.e.Kind = session.Publish2
			}
			l.ops = append(l.ops, last)
			return nil
		}
		if len(data) != 4 || data[0] != recState || data[1] > 1 {
			l.bad++
			return st.s.Delete(key)
		}
		id := uint16(data[2])<<8 | uint16(data[3])
		released := data[1] == 1
		switch {
		case last != nil && last.seq == seq:
			last.e.ID, last.e.Released = id, released && last.e.Kind == session.Publish2
		case released:
			// PUBREL owed for a message whose record is gone, as it should be.
			o := &op{done: make(chan struct{}), seq: seq}
			o.e = session.Entry{Kind: session.Publish2, ID: id, Released: true}
			l.ops = append(l.ops, o)
		default:
			l.bad++
			return st.s.Delete(key)
		}
		return nil
	})
	st.seq.Store(maxSeq)
	return l, err
}

// decodeStored decodes a message record.
func decodeStored(data []byte) (*Message, error) {
	if len(data) < 1 || data[0] != recMessage {
		return nil, errors.New("not a message record")
	}
	var p packet.Publish
	n, err := p.Decode(data[1:], packet.V5)
	if err != nil {
		return nil, err
	}
	if n != len(data)-1 || p.QoS == QoS0 {
		return nil, errors.New("not a message record")
	}
	// Decode aliases data, which is the store's only during Load.
	payload := append([]byte(nil), p.Payload...)
	m := &Message{Topic: p.Topic, Payload: payload, QoS: p.QoS, Retain: p.Retain, Properties: p.Properties}
	m.Properties.CorrelationData = append([]byte(nil), p.Properties.CorrelationData...)
	return m, nil
}

// restore loads Config.Store into the session and the queue, before the
// first connection: exchanges that had a packet identifier go back into
// the session, in order, to be resent if the broker kept the session;
// messages that had none wait in the queue.
func (c *Client) restore() error {
	c.st = &stored{s: c.s.Store}
	l, err := c.st.load()
	if err != nil {
		return fmt.Errorf("%w: load: %w", ErrStore, err)
	}
	if l.bad > 0 {
		c.s.Logger.Warn("mqtt: deleted unreadable records from the Store", "records", l.bad)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range l.ops {
		o.e.Data = o
		if o.e.ID != 0 && c.sess.Restore(&o.e) {
			continue
		}
		if o.msg == nil {
			c.st.forget(o.seq) // a PUBREL owed under an identifier taken twice: unreadable
			continue
		}
		o.e.ID, o.e.Released = 0, false
		c.st.s.Delete(keyState(o.seq))
		c.queue = append(c.queue, o)
		c.queuedBytes += o.size()
	}
	for _, id := range l.inbound {
		c.sess.ReceiveQoS2(id)
		c.sess.Recorded(id)
	}
	if n := len(l.ops) + len(l.inbound); n > 0 {
		c.s.Logger.Info("mqtt: session loaded from the Store", "outgoing", len(l.ops), "inbound_qos2", len(l.inbound))
	}
	return nil
}

// syncStore makes the Store's records durable before cn writes what
// depends on them: the writer calls it before each batch. It reports the
// error that must end the connection.
func (cn *conn) syncStore() error {
	st := cn.c.st
	if st == nil || !cn.needSync.Swap(false) {
		return nil
	}
	if err := st.s.Sync(); err != nil {
		cn.c.s.Logger.Error("mqtt: the Store failed", "err", err)
		return fmt.Errorf("%w: sync: %w", ErrStore, err)
	}
	return nil
}
