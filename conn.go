package mqtt

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// conn is one network connection of a Client. Three goroutines own it: the
// writer (the only code that writes to nc), the reader (the only code that
// reads) and the keep-alive timer.
type conn struct {
	c   *Client
	nc  net.Conn
	br  *bufio.Reader
	r   *packet.Reader
	v   packet.Version
	neg Negotiated
	// aliases gives outgoing topics aliases; nil unless Config.AutoTopicAlias
	// and the broker allows aliases.
	aliases *aliasTable

	qmu    sync.Mutex // guards queue and ended
	queue  []outItem
	ended  bool
	wakeup chan struct{} // capacity 1: the writer has work

	done chan struct{} // closed when the connection ends
	once sync.Once
	err  error // why it ended; written before done is closed

	// closing is set once we send DISCONNECT: the broker closing the
	// connection is then the expected end, not a loss.
	closing  atomic.Bool
	lastSend atomic.Int64 // UnixNano of the last write
	lastRecv atomic.Int64 // UnixNano of the last packet read
	wg       sync.WaitGroup
}

// outItem is an encoded packet waiting for the writer.
type outItem struct {
	b   []byte
	buf *buffer // if not nil, b is buf.b, which goes back to the pool after the write
	op  *op     // if not nil, completes with the result of writing b
	w   *waiter // if not nil, receives the result of writing b
	// close, if not nil, ends the connection with this error once b is
	// written: a DISCONNECT.
	close error
}

func newConn(c *Client, nc net.Conn, br *bufio.Reader, r *packet.Reader, v packet.Version, neg Negotiated) *conn {
	cn := &conn{c: c, nc: nc, br: br, r: r, v: v, neg: neg,
		wakeup: make(chan struct{}, 1), done: make(chan struct{})}
	if c.s.AutoTopicAlias && v == packet.V5 && neg.TopicAliasMaximum > 0 {
		cn.aliases = newAliasTable(neg.TopicAliasMaximum)
	}
	now := time.Now().UnixNano()
	cn.lastSend.Store(now)
	cn.lastRecv.Store(now)
	return cn
}

func (cn *conn) start() {
	cn.wg.Add(3)
	go cn.writeLoop()
	go cn.readLoop()
	go cn.keepAlive()
}

// wait waits for the connection's goroutines to finish.
func (cn *conn) wait() { cn.wg.Wait() }

func (cn *conn) endErr() error {
	<-cn.done
	return cn.err
}

// end ends the connection with err, once: it closes the socket, fails what
// waits to be written, and tells the client.
func (cn *conn) end(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.done)
		cn.nc.Close()
		cn.qmu.Lock()
		cn.ended = true
		q := cn.queue
		cn.queue = nil
		cn.qmu.Unlock()
		for _, it := range q {
			it.finish(err)
		}
		cn.c.connEnded(cn, err)
	})
}

// send queues an encoded packet for the writer. If the connection has
// ended, the item fails at once.
func (cn *conn) send(it outItem) {
	cn.qmu.Lock()
	if cn.ended {
		cn.qmu.Unlock()
		it.finish(cn.err)
		return
	}
	cn.queue = append(cn.queue, it)
	cn.qmu.Unlock()
	select {
	case cn.wakeup <- struct{}{}:
	default:
	}
}

// sendPacket encodes p and queues it.
func (cn *conn) sendPacket(p packet.Packet) {
	buf := getBuf()
	b, err := p.Append(buf.b, cn.v)
	buf.b = b
	if err != nil {
		putBuf(buf)
		cn.fail(err)
		return
	}
	cn.send(outItem{b: b, buf: buf})
}

func (it *outItem) finish(err error) {
	if it.buf != nil {
		putBuf(it.buf)
	}
	if it.op != nil {
		it.op.finish(err)
	}
	if it.w != nil {
		it.w.ch <- err
	}
}

// writeLoop drains the queue into a buffered writer and flushes when the
// queue is empty, so that bursts coalesce into few system calls.
func (cn *conn) writeLoop() {
	defer cn.wg.Done()
	bw := bufio.NewWriterSize(cn.nc, 32<<10)
	var batch []outItem
	for {
		select {
		case <-cn.wakeup:
		case <-cn.done:
			return
		}
		for {
			cn.qmu.Lock()
			batch, cn.queue = cn.queue, batch[:0]
			cn.qmu.Unlock()
			if len(batch) == 0 {
				break
			}
			var closeErr error
			cn.nc.SetWriteDeadline(time.Now().Add(cn.c.s.WriteTimeout))
			var err error
			for i := range batch {
				if err == nil {
					_, err = bw.Write(batch[i].b)
				}
				if batch[i].close != nil && closeErr == nil {
					closeErr = batch[i].close
				}
			}
			if err == nil {
				err = bw.Flush()
			}
			if err == nil {
				cn.lastSend.Store(time.Now().UnixNano())
			} else {
				err = writeErr(err)
			}
			for i := range batch {
				batch[i].finish(err)
				batch[i] = outItem{}
			}
			if err != nil {
				cn.end(err)
				return
			}
			if closeErr != nil {
				cn.end(closeErr)
				return
			}
		}
	}
}

func writeErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ended(ErrWriteTimeout, err)
	}
	return ended(ErrConnectionLost, err)
}

// fail ends the connection because of a bad packet from the broker: in
// MQTT 5.0 it first sends DISCONNECT with the reason code (0x81, 0x82, 0x93,
// 0x94, 0x95; section 4.13).
func (cn *conn) fail(err error) {
	code := packet.ReasonProtocolError
	var pe *packet.Error
	if errors.As(err, &pe) {
		code = pe.Code
	}
	cn.c.s.Logger.Warn("mqtt: bad packet from the broker", "err", err)
	end := ended(ErrBadPacket, err)
	if cn.v != packet.V5 || !code.ValidFor(packet.TypeDisconnect) {
		cn.end(end)
		return
	}
	b, _ := (&packet.Disconnect{ReasonCode: code}).Append(nil, cn.v)
	cn.send(outItem{b: b, close: end})
	// Should the writer be stuck, the connection ends all the same.
	time.AfterFunc(cn.c.s.WriteTimeout, func() { cn.end(end) })
}

// keepAlive sends PINGREQ when nothing was sent for the keep-alive
// interval (MQTT-3.1.2-20), and ends the connection when nothing at all
// arrives within the ping timeout after it (ErrPingTimeout).
func (cn *conn) keepAlive() {
	defer cn.wg.Done()
	ka := cn.neg.KeepAlive
	if ka <= 0 {
		<-cn.done
		return
	}
	timer := time.NewTimer(ka)
	defer timer.Stop()
	var pingSent int64 // UnixNano of the outstanding PINGREQ; 0 if none
	for {
		select {
		case <-cn.done:
			return
		case <-timer.C:
		}
		now := time.Now()
		if pingSent != 0 {
			if cn.lastRecv.Load() < pingSent {
				if now.Sub(time.Unix(0, pingSent)) >= cn.c.s.PingTimeout {
					cn.end(ended(ErrPingTimeout, nil))
					return
				}
			} else {
				pingSent = 0
			}
		}
		idle := now.Sub(time.Unix(0, cn.lastSend.Load()))
		if pingSent == 0 && idle >= ka {
			pingSent = now.UnixNano()
			cn.sendPacket(&packet.Pingreq{})
			idle = 0
		}
		next := ka - idle
		if pingSent != 0 {
			next = min(next, time.Until(time.Unix(0, pingSent).Add(cn.c.s.PingTimeout)))
		}
		timer.Reset(max(next, time.Millisecond))
	}
}

// waiter carries one result to a synchronous caller; pooled, so that a
// synchronous QoS 0 publish allocates nothing.
type waiter struct{ ch chan error }

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan error, 1)} }}

// buffer is an encoding buffer from bufPool.
type buffer struct{ b []byte }

// bufPool holds encoding buffers; large ones are not kept.
var bufPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 512)} }}

// getBuf returns an empty buffer.
func getBuf() *buffer {
	buf := bufPool.Get().(*buffer)
	buf.b = buf.b[:0]
	return buf
}

func putBuf(buf *buffer) {
	if cap(buf.b) > 64<<10 {
		return
	}
	bufPool.Put(buf)
}
