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

// conn is one network connection of a Client. The reader goroutine is the
// only code that reads nc; the writer goroutine, the only code that writes
// it, runs while there is something to write and exits when its queue is
// empty; the keep-alive check is a timer. An idle connection thus holds
// one goroutine and a small read buffer.
type conn struct {
	c  *Client
	nc net.Conn
	br *readBuffer
	r  *packet.Reader
	// msg is the received message whose body the reader read last (see
	// body); owned by the reader goroutine.
	msg *Message
	// reauth is the re-authentication in progress; guarded by c.mu.
	reauth  *reauth
	ackBody [4]byte // see body
	v       packet.Version
	neg     Negotiated
	// aliases gives outgoing topics aliases; nil unless Config.AutoTopicAlias
	// and the broker allows aliases.
	aliases *aliasTable

	qmu    sync.Mutex // guards queue, spare, writer.running and ended
	queue  []outItem
	spare  []outItem // the writer's last batch, emptied, for reuse
	writer worker
	ended  bool
	// needSync is set after a change to Config.Store that a packet about
	// to be queued depends on: the writer syncs the Store first.
	needSync atomic.Bool

	ka       atomic.Pointer[time.Timer] // the keep-alive check; nil without keep alive
	pingSent atomic.Int64               // UnixNano of the outstanding PINGREQ; 0 if none

	done chan struct{} // closed when the connection ends
	over chan struct{} // closed once its end is reported (Client.connEnded)
	once sync.Once
	err  error // why it ended; written before done is closed

	// closing is set once we send DISCONNECT: the broker closing the
	// connection is then the expected end, not a loss.
	closing  atomic.Bool
	lastSend atomic.Int64   // UnixNano of the last write
	lastRecv atomic.Int64   // UnixNano of the last packet read
	wg       sync.WaitGroup // the reader and the writer
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

func newConn(c *Client, nc net.Conn, br *readBuffer, r *packet.Reader, v packet.Version, neg Negotiated) *conn {
	cn := &conn{c: c, nc: nc, br: br, r: r, v: v, neg: neg, done: make(chan struct{}), over: make(chan struct{}), writer: newWorker()}
	r.ReusePackets = true
	r.Body = cn.body
	if c.s.AutoTopicAlias && v == packet.V5 && neg.TopicAliasMaximum > 0 {
		cn.aliases = newAliasTable(neg.TopicAliasMaximum)
	}
	now := time.Now().UnixNano()
	cn.lastSend.Store(now)
	cn.lastRecv.Store(now)
	return cn
}

func (cn *conn) start() {
	if cn.neg.KeepAlive > 0 {
		// Stored before it can fire: the callback resets it.
		t := time.AfterFunc(time.Hour, cn.keepAlive)
		cn.ka.Store(t)
		t.Reset(cn.neg.KeepAlive)
	}
	cn.wg.Add(1)
	go cn.readLoop()
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
		if t := cn.ka.Load(); t != nil {
			t.Stop()
		}
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
		close(cn.over)
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
	start := cn.writer.kick()
	if start {
		cn.wg.Add(1) // before end sets ended, so before any wait
	}
	cn.qmu.Unlock()
	if start {
		go cn.writeLoop()
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

// writeLoop drains the queue, and exits once it has stayed empty for
// linger. Each batch goes out through a buffered writer from a pool,
// flushed at the end of the batch, so that bursts coalesce into few system
// calls while an idle connection holds no write buffer.
func (cn *conn) writeLoop() {
	defer cn.wg.Done()
	var batch []outItem
	for {
		cn.qmu.Lock()
		if len(cn.queue) == 0 && !cn.ended {
			cn.qmu.Unlock()
			if cn.writer.idle(cn.done) {
				continue
			}
			cn.qmu.Lock()
		}
		if len(cn.queue) == 0 || cn.ended {
			cn.writer.exit()
			cn.spare = batch[:0]
			cn.qmu.Unlock()
			return
		}
		if batch == nil {
			batch = cn.spare
		}
		batch, cn.queue = cn.queue, batch[:0]
		cn.qmu.Unlock()
		err := cn.syncStore()
		if err != nil {
			for i := range batch {
				batch[i].finish(err)
				batch[i] = outItem{}
			}
		} else {
			err = cn.write(batch)
		}
		if err != nil {
			cn.end(err)
			cn.qmu.Lock()
			cn.writer.exit()
			cn.qmu.Unlock()
			return
		}
	}
}

// write writes a batch and finishes its items. An error, or a DISCONNECT
// among them, ends the connection.
func (cn *conn) write(batch []outItem) error {
	cn.nc.SetWriteDeadline(time.Now().Add(cn.c.s.WriteTimeout))
	var err, closeErr error
	if len(batch) == 1 {
		_, err = cn.nc.Write(batch[0].b)
		closeErr = batch[0].close
	} else {
		bw := writerPool.Get().(*bufio.Writer)
		bw.Reset(cn.nc)
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
		bw.Reset(nil)
		writerPool.Put(bw)
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
		return err
	}
	return closeErr
}

// writerPool holds the writers' buffers.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

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
	cn.disconnect(code, ended(ErrBadPacket, err))
}

// disconnect ends the connection with end: in MQTT 5.0 it first sends
// DISCONNECT with code, if the client may send that code.
func (cn *conn) disconnect(code packet.ReasonCode, end error) {
	if cn.v != packet.V5 || !code.ValidFor(packet.TypeDisconnect) {
		cn.end(end)
		return
	}
	b, _ := (&packet.Disconnect{ReasonCode: code}).Append(nil, cn.v)
	cn.send(outItem{b: b, close: end})
	// Should the writer be stuck, the connection ends all the same.
	time.AfterFunc(cn.c.s.WriteTimeout, func() { cn.end(end) })
}

// keepAlive runs on the keep-alive timer: it sends PINGREQ when nothing
// was sent for the keep-alive interval (MQTT-3.1.2-20), ends the
// connection when nothing at all arrived within the ping timeout after it
// (ErrPingTimeout), and sets the timer for the next check.
func (cn *conn) keepAlive() {
	select {
	case <-cn.done:
		return
	default:
	}
	ka := cn.neg.KeepAlive
	now := time.Now()
	pingSent := cn.pingSent.Load()
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
	cn.pingSent.Store(pingSent)
	next := ka - idle
	if pingSent != 0 {
		next = min(next, time.Until(time.Unix(0, pingSent).Add(cn.c.s.PingTimeout)))
	}
	cn.ka.Load().Reset(max(next, time.Millisecond))
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
