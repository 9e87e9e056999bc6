package share

import (
	"sync"

	"github.com/ternmq/mqtt/packet"
)

// pushResult is what became of a message offered to a secondary's queue.
type pushResult uint8

const (
	pushed   pushResult = iota // queued
	dropped                    // a QoS 0 message over the bound, dropped and counted
	overflow                   // a QoS 1 or 2 message (or an ack) over the bound: the secondary must go
	gone                       // the queue is closed
)

// outq is the outgoing side of one secondary: the packets waiting for its
// writer goroutine and the QoS 1 and 2 messages in flight to it. Offering
// never blocks: the upstream dispatcher calls push, and a secondary that
// does not read fills its queue and is disconnected, instead of slowing
// anyone else.
type outq struct {
	maxCount, maxBytes int // bounds of the queued messages
	wake               chan struct{}

	mu       sync.Mutex // guards the fields below
	ctrl     []packet.Packet
	msgs     []*packet.Publish
	bytes    int                    // topic and payload bytes of msgs, plus 16 each
	inflight map[uint16]packet.Type // packet ID -> the ack awaited (PUBACK, PUBREC, PUBCOMP)
	recvMax  int                    // the secondary's Receive Maximum
	nextID   uint16
	closed   bool
	stats    queueStats
}

// queueStats are a queue's counters.
type queueStats struct {
	Dropped   uint64 // QoS 0 messages dropped at the bound
	Delivered uint64 // messages handed to the writer
}

func newOutq(maxCount, maxBytes, recvMax int) *outq {
	return &outq{
		maxCount: maxCount, maxBytes: maxBytes, recvMax: recvMax,
		wake:     make(chan struct{}, 1),
		inflight: map[uint16]packet.Type{},
	}
}

func msgSize(p *packet.Publish) int { return len(p.Topic) + len(p.Payload) + 16 }

func (q *outq) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push offers a message. It never blocks.
func (q *outq) push(p *packet.Publish) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return gone
	}
	n := msgSize(p)
	if len(q.msgs)+1 > q.maxCount || q.bytes+n > q.maxBytes {
		if p.QoS == 0 {
			q.stats.Dropped++
			return dropped
		}
		return overflow
	}
	q.msgs = append(q.msgs, p)
	q.bytes += n
	q.signal()
	return pushed
}

// pushCtrl queues a control packet (an ack, SUBACK, PINGRESP). The
// secondary's own traffic makes them, so a secondary that sends without
// reading would grow them without end: past maxCount of them it must go.
func (q *outq) pushCtrl(p packet.Packet) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return gone
	}
	if len(q.ctrl) >= q.maxCount {
		return overflow
	}
	q.ctrl = append(q.ctrl, p)
	q.signal()
	return pushed
}

// take moves what may be written now into dst: every control packet, and
// messages while the secondary's Receive Maximum allows, giving each QoS 1
// or 2 message a packet identifier.
func (q *outq) take(dst []packet.Packet) ([]packet.Packet, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return dst, false
	}
	dst = append(dst, q.ctrl...)
	clear(q.ctrl)
	q.ctrl = q.ctrl[:0]
	i := 0
	for ; i < len(q.msgs); i++ {
		p := q.msgs[i]
		if p.QoS > 0 {
			if len(q.inflight) >= q.recvMax {
				break
			}
			p.PacketID = q.newID()
			if p.QoS == 1 {
				q.inflight[p.PacketID] = packet.TypePuback
			} else {
				q.inflight[p.PacketID] = packet.TypePubrec
			}
		}
		q.bytes -= msgSize(p)
		q.stats.Delivered++
		dst = append(dst, p)
	}
	n := copy(q.msgs, q.msgs[i:])
	clear(q.msgs[n:])
	q.msgs = q.msgs[:n]
	return dst, true
}

// newID returns a packet identifier not in flight; q.mu is held and
// fewer than 65,535 are in flight.
func (q *outq) newID() uint16 {
	for {
		q.nextID++
		if q.nextID == 0 {
			q.nextID = 1
		}
		if _, used := q.inflight[q.nextID]; !used {
			return q.nextID
		}
	}
}

// acked handles the secondary's PUBACK, PUBREC or PUBCOMP for id. It
// reports whether id awaited that packet; a PUBREC makes the PUBREL.
func (q *outq) acked(t packet.Type, id uint16, code packet.ReasonCode) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inflight[id] != t {
		return false
	}
	if t == packet.TypePubrec && !code.IsError() {
		q.inflight[id] = packet.TypePubcomp
		q.ctrl = append(q.ctrl, &packet.Pubrel{PacketID: id})
	} else {
		delete(q.inflight, id)
	}
	q.signal()
	return true
}

// snapshot returns the counters and sizes now.
func (q *outq) snapshot() (s queueStats, queued, bytes, inflight int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats, len(q.msgs), q.bytes, len(q.inflight)
}

// close refuses everything from now on and wakes the writer to end.
func (q *outq) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// dropOne forgets a message taken for writing that may not be written
// (over the secondary's Maximum Packet Size), and counts it as dropped.
func (q *outq) dropOne(p packet.Packet) {
	pub, ok := p.(*packet.Publish)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if pub.QoS > 0 {
		delete(q.inflight, pub.PacketID)
	}
	q.stats.Delivered--
	q.stats.Dropped++
	q.signal()
}
