package mqtt

import (
	"slices"
	"sync"
)

// EventKind is what happened to the connection.
type EventKind uint8

// Event kinds.
const (
	// EventConnected: a connection was established; Event.Negotiated holds
	// its settings.
	EventConnected EventKind = iota + 1
	// EventDisconnected: the connection ended; Event.Err says why, and
	// errors.Is tells the causes apart: ErrConnectionLost (network down),
	// ErrPingTimeout (broker silent), ErrBadPacket (a malformed packet or
	// protocol error from the broker), ErrWriteTimeout (send failure),
	// ErrAuth (re-authentication failed), *DisconnectError (the server's
	// DISCONNECT), ErrClosed (closed by us).
	EventDisconnected
	// EventConnecting: a connection attempt begins (Config.Reconnect,
	// Config.ConnectRetry); Event.Attempt numbers it.
	EventConnecting
	// EventConnectFailed: a connection attempt failed; Event.Err says why
	// (a *ReasonCodeError for a broker's refusal).
	EventConnectFailed
	// EventStopped: the client stopped for good (Close or Disconnect); the
	// last event.
	EventStopped
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	case EventConnecting:
		return "connecting"
	case EventConnectFailed:
		return "connect failed"
	case EventStopped:
		return "stopped"
	}
	return "EventKind(" + itoa(int(k)) + ")"
}

// Event is a change in the client's connection, given to Config.OnEvent.
type Event struct {
	Kind       EventKind
	Negotiated *Negotiated // EventConnected: the settings, SessionPresent among them
	Err        error       // EventDisconnected, EventConnectFailed
	Attempt    int         // EventConnecting, EventConnectFailed
}

// delivery is one item of the dispatcher's queue: a message with the
// connection to acknowledge it on, or an event.
type delivery struct {
	msg   *Message
	cn    *conn
	event *Event
}

// dispatcher runs handlers and event callbacks on one goroutine at a time,
// in order; the goroutine runs while the queue has items and exits when it
// is empty, so an idle client holds none.
// Its queue never blocks the reader: a slow handler delays delivery but
// not the reading of acknowledgements and PINGRESP. The broker's flow
// control bounds the QoS 1 and 2 messages waiting, as each is acknowledged
// only when its handler returns (our Receive Maximum).
type dispatcher struct {
	c *Client

	mu       sync.Mutex // guards queue, spare, worker.running, stopping, bytes and count
	queue    []delivery
	spare    []delivery // the goroutine's last batch, emptied, for reuse
	worker   worker
	stopping bool
	quit     chan struct{} // closed by stop: the goroutine need not linger
	bytes    int           // topic and payload bytes of the messages not yet handled
	count    int           // messages not yet handled
	hs       []Handler     // scratch, owned by the goroutine
}

func newDispatcher(c *Client) *dispatcher {
	return &dispatcher{c: c, worker: newWorker(), quit: make(chan struct{})}
}

// deliver queues it and reports whether it was taken: a QoS 0 message that
// would take the undelivered bytes over Config.MaxUndelivered is not.
func (d *dispatcher) deliver(it delivery) bool {
	d.mu.Lock()
	if it.msg != nil {
		if d.stopping {
			d.mu.Unlock()
			return false
		}
		n := msgSize(it.msg)
		if it.msg.QoS == QoS0 && d.bytes+n > d.c.s.MaxUndelivered {
			d.mu.Unlock()
			return false
		}
		d.bytes += n
		d.count++
	}
	d.queue = append(d.queue, it)
	start := d.worker.kick()
	d.mu.Unlock()
	if start {
		go d.run()
	}
	return true
}

func msgSize(m *Message) int { return len(m.Topic) + len(m.Payload) }

// pending returns the messages not yet handled and their bytes.
func (d *dispatcher) pending() (count, bytes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count, d.bytes
}

// stop drops the messages not yet handled (unacknowledged, so the broker
// resends them to a resumed session) and refuses new ones; events are
// still given out. It does not wait: a handler that calls Close must not
// wait for itself.
func (d *dispatcher) stop() {
	d.mu.Lock()
	if !d.stopping {
		d.stopping = true
		close(d.quit)
	}
	d.mu.Unlock()
}

func (d *dispatcher) run() {
	var batch []delivery
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.mu.Unlock()
			if d.worker.idle(d.quit) {
				continue
			}
			d.mu.Lock()
			if len(d.queue) == 0 {
				d.worker.exit()
				d.spare = batch[:0]
				d.mu.Unlock()
				return
			}
		}
		if batch == nil {
			batch = d.spare
		}
		batch, d.queue = d.queue, batch[:0]
		stopping := d.stopping
		d.mu.Unlock()
		for i := range batch {
			it := batch[i]
			batch[i] = delivery{}
			switch {
			case it.event != nil:
				if f := d.c.s.OnEvent; f != nil {
					f(*it.event)
				}
				for _, f := range d.c.notifiers() {
					f(*it.event)
				}
			case !stopping:
				d.handle(it)
			}
		}
	}
}

// handle gives a message to its handlers, then acknowledges it.
func (d *dispatcher) handle(it delivery) {
	c := d.c
	d.hs = c.routes.match(it.msg.Topic, it.msg.Properties.SubscriptionIDs, c.s.DefaultHandler, d.hs[:0])
	if len(d.hs) == 0 && c.s.DefaultHandler != nil {
		d.hs = append(d.hs, c.s.DefaultHandler)
	}
	for _, h := range d.hs {
		h(it.msg)
	}
	clear(d.hs)
	d.mu.Lock()
	d.bytes -= msgSize(it.msg)
	d.count--
	d.mu.Unlock()
	c.delivered(it.cn, it.msg)
}

// event queues an event for Config.OnEvent and the Notify functions.
func (c *Client) event(e Event) {
	c.disp.deliver(delivery{event: &e})
}

// notify is the set of functions Notify registered.
type notify struct {
	mu   sync.Mutex
	next int
	fs   map[int]func(Event)
	list []func(Event) // fs in registration order; rebuilt on change
}

// Notify registers f to receive the client's events, as Config.OnEvent
// does: on the dispatcher goroutine, in order with message deliveries,
// after OnEvent. It returns the function that deregisters f; once that has
// returned, f is called at most once more (with an event being delivered
// at that moment). Notify is how a program adds and removes event
// callbacks after Dial, as a share.Secondary does too.
func (c *Client) Notify(f func(Event)) (stop func()) {
	n := &c.notifies
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fs == nil {
		n.fs = make(map[int]func(Event))
	}
	id := n.next
	n.next++
	n.fs[id] = f
	n.rebuild()
	var once sync.Once
	return func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.fs, id)
			n.rebuild()
			n.mu.Unlock()
		})
	}
}

// rebuild remakes list from fs, in registration order. n.mu is held.
func (n *notify) rebuild() {
	ids := make([]int, 0, len(n.fs))
	for id := range n.fs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	list := make([]func(Event), len(ids))
	for i, id := range ids {
		list[i] = n.fs[id]
	}
	n.list = list // a new slice: a snapshot being called is not changed
}

// notifiers returns the functions registered by Notify.
func (c *Client) notifiers() []func(Event) {
	c.notifies.mu.Lock()
	defer c.notifies.mu.Unlock()
	return c.notifies.list
}
