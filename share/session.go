package share

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// SecondaryStats describe one connected secondary.
type SecondaryStats struct {
	ID            uint64 // the server's number for the connection, in order of arrival
	Connection    string // the upstream connection's name
	ClientID      string
	Version       packet.Version
	PID, UID, GID int // the peer's credentials; -1 where unknown
	Subscriptions int
	Queued        int    // messages waiting to be written to it
	QueuedBytes   int    // their size, as Options.MaxQueuedBytes counts it
	InFlight      int    // QoS 1 and 2 messages written, awaiting its acknowledgement
	Received      uint64 // PUBLISH packets from it
	Delivered     uint64 // messages handed to its connection
	Dropped       uint64 // QoS 0 messages dropped at the queue's bound (or over its Maximum Packet Size)
	Refused       uint64 // its publishes that failed upstream
}

var (
	errServerClosing = errors.New("share: server closing")
	// ErrQuota ends a secondary whose queue had no room for a QoS 1 or 2
	// message (see Options.MaxQueued).
	ErrQuota = errors.New("share: secondary too slow: its queue is full")
)

const (
	shuttingDown = packet.ReasonServerShuttingDown
	noDisconnect = packet.ReasonCode(0) // end without sending DISCONNECT
)

// inState is the state of an inbound QoS 1 or 2 packet identifier.
type inState uint8

const (
	pending inState = iota + 1 // published upstream, awaiting the broker
	recSent                    // QoS 2: PUBREC sent, awaiting PUBREL
)

// session is the primary's side of one secondary's connection: a reader
// goroutine (run), a writer goroutine, and an ops goroutine that makes
// the SUBSCRIBE and UNSUBSCRIBE calls upstream, one at a time, in order.
type session struct {
	srv  *Server
	nc   net.Conn
	id   uint64
	cred cred
	q    *outq
	done chan struct{} // closed by end

	endOnce sync.Once
	endErr  error         // why it ended; set by end before done is closed
	final   packet.Packet // the DISCONNECT to send, if any; set likewise
	timer   *time.Timer

	// Set by the handshake, read-only after.
	v         packet.Version
	clientID  string
	up        *upstream
	will      *packet.Will
	keepAlive time.Duration
	maxOut    int // the secondary's Maximum Packet Size; 0: none
	graceful  atomic.Bool
	ready     atomic.Bool // the handshake is done: the fields above are set

	slots chan struct{}      // inbound QoS 1/2 window (Options.ReceiveMaximum)
	ops   chan packet.Packet // SUBSCRIBE and UNSUBSCRIBE for the ops goroutine
	wg    sync.WaitGroup

	mu      sync.Mutex // guards open and filters
	open    map[uint16]inState
	filters map[string]struct{}

	received, refused atomic.Uint64
}

func newSession(srv *Server, nc net.Conn, id uint64) *session {
	s := &session{srv: srv, nc: nc, id: id, done: make(chan struct{}),
		q:     newOutq(srv.opts.MaxQueued, srv.opts.MaxQueuedBytes, 65535),
		slots: make(chan struct{}, srv.opts.ReceiveMaximum),
		ops:   make(chan packet.Packet, 16),
		open:  map[uint16]inState{}, filters: map[string]struct{}{},
		cred: cred{PID: -1, UID: -1, GID: -1},
	}
	if c, err := peerCred(nc); err == nil {
		s.cred = c
	}
	return s
}

// end ends the session once: it records why, queues the DISCONNECT of
// code (MQTT 5.0, if code is not noDisconnect) and makes every goroutine
// of the session return within a second, whatever the peer does.
func (s *session) end(err error, code packet.ReasonCode) {
	s.endOnce.Do(func() {
		s.endErr = err
		if code != noDisconnect && s.ready.Load() && s.v == packet.V5 {
			s.final = &packet.Disconnect{ReasonCode: code}
		}
		close(s.done)
		s.q.close()
		s.nc.SetReadDeadline(time.Now())
		s.timer = time.AfterFunc(time.Second, func() { s.nc.Close() })
	})
}

// run serves the connection until it ends.
func (s *session) run() {
	defer s.nc.Close()
	r, err := s.handshake()
	if err != nil {
		s.srv.log.Warn("share: secondary refused", "id", s.id, "pid", s.cred.PID, "err", err)
		return
	}
	s.srv.log.Info("share: secondary connected", "id", s.id, "client", s.clientID, "connection", s.up.name, "pid", s.cred.PID)
	s.wg.Add(2)
	go s.writer()
	go s.opsLoop()
	err, code := s.readLoop(r)
	s.end(err, code)
	s.wg.Wait()
	s.timer.Stop()
	if !s.graceful.Load() && s.will != nil {
		w := s.will
		props := w.Properties
		props.WillDelayInterval = 0
		s.up.c.PublishAsync(&mqtt.Message{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain, Properties: props})
	}
	st, _ := s.stats()
	if s.endErr != nil {
		s.srv.log.Warn("share: secondary disconnected", "id", s.id, "client", s.clientID, "err", s.endErr,
			"dropped", st.Dropped)
	} else {
		s.srv.log.Info("share: secondary disconnected", "id", s.id, "client", s.clientID)
	}
	if f := s.srv.opts.OnDisconnect; f != nil {
		f(st, s.endErr)
	}
}

// handshake reads the CONNECT and answers it.
func (s *session) handshake() (*packet.Reader, error) {
	s.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := packet.NewReader(s.nc, s.srv.opts.MaxPacketSize)
	p, err := r.ReadPacket(0)
	if err != nil {
		return nil, fmt.Errorf("reading CONNECT: %w", err)
	}
	cp, ok := p.(*packet.Connect)
	if !ok {
		return nil, fmt.Errorf("first packet %v, not CONNECT", p.Type())
	}
	s.v = cp.Version
	refuse := func(code packet.ReasonCode, why string) (*packet.Reader, error) {
		b, _ := (&packet.Connack{ReasonCode: code}).Append(nil, s.v)
		s.nc.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
		s.nc.Write(b)
		return nil, errors.New(why)
	}
	s.up = s.srv.upstream(cp.Username)
	if s.up == nil {
		return refuse(packet.ReasonBadUsernameOrPassword, fmt.Sprintf("no connection named %q", cp.Username))
	}
	if cp.Properties.AuthMethod != "" {
		return refuse(packet.ReasonBadAuthenticationMethod, "enhanced authentication asked")
	}
	var props packet.Properties
	s.clientID = cp.ClientID
	if s.clientID == "" {
		if s.v < packet.V5 && !cp.CleanStart {
			return refuse(packet.ReasonClientIDNotValid, "empty client ID with a persistent session") // MQTT-3.1.3-8
		}
		s.clientID = fmt.Sprintf("share-%d", s.id)
		props.AssignedClientID = s.clientID
	}
	n := s.up.c.Negotiated()
	props.ReceiveMaximum = uint16(s.srv.opts.ReceiveMaximum)
	props.MaximumPacketSize = uint32(s.srv.opts.MaxPacketSize)
	no := false
	props.SubIDAvailable = &no
	if n != nil {
		if n.MaximumQoS < 2 {
			q := n.MaximumQoS
			props.MaximumQoS = &q
		}
		if !n.RetainAvailable {
			props.RetainAvailable = &no
		}
		if !n.WildcardSubAvailable {
			props.WildcardSubAvailable = &no
		}
		if !n.SharedSubAvailable {
			props.SharedSubAvailable = &no
		}
	}
	if cp.Properties.SessionExpiryInterval != nil && *cp.Properties.SessionExpiryInterval != 0 {
		zero := uint32(0) // sessions end with the connection
		props.SessionExpiryInterval = &zero
	}
	b, err := (&packet.Connack{Properties: props}).Append(nil, s.v)
	if err != nil {
		return nil, fmt.Errorf("encoding CONNACK: %w", err)
	}
	s.nc.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	if _, err := s.nc.Write(b); err != nil {
		return nil, err
	}
	s.keepAlive = time.Duration(cp.KeepAlive) * time.Second
	if rm := cp.Properties.ReceiveMaximum; rm != 0 {
		s.q.recvMax = int(rm)
	}
	s.maxOut = int(cp.Properties.MaximumPacketSize)
	s.will = cp.Will
	s.ready.Store(true)
	return r, nil
}

// readLoop reads the secondary's packets until the connection ends or
// breaks the protocol; it returns why, and the DISCONNECT code to send.
func (s *session) readLoop(r *packet.Reader) (error, packet.ReasonCode) {
	for {
		if s.keepAlive > 0 {
			s.nc.SetReadDeadline(time.Now().Add(s.keepAlive * 3 / 2)) // MQTT-3.1.2-22
		} else {
			s.nc.SetReadDeadline(time.Time{})
		}
		p, err := r.ReadPacket(s.v)
		if err != nil {
			var pe *packet.Error
			switch {
			case isDone(s.done):
				return nil, noDisconnect
			case errors.As(err, &pe):
				return fmt.Errorf("share: bad packet from the secondary: %w", err), pe.Code
			case errors.Is(err, os.ErrDeadlineExceeded):
				return errors.New("share: secondary silent past its keep alive"), packet.ReasonKeepAliveTimeout
			case errors.Is(err, io.EOF):
				return errors.New("share: secondary gone without DISCONNECT"), noDisconnect
			}
			return fmt.Errorf("share: reading from the secondary: %w", err), noDisconnect
		}
		switch p := p.(type) {
		case *packet.Publish:
			if err, code := s.publish(p); err != nil {
				return err, code
			}
		case *packet.Pubrel:
			s.mu.Lock()
			st, ok := s.open[p.PacketID]
			if st == recSent {
				delete(s.open, p.PacketID)
			}
			s.mu.Unlock()
			if ok && st != recSent {
				return errors.New("share: PUBREL before PUBREC"), packet.ReasonProtocolError
			}
			pc := &packet.Pubcomp{PacketID: p.PacketID}
			if !ok && s.v == packet.V5 {
				pc.ReasonCode = packet.ReasonPacketIDNotFound
			}
			s.ctrl(pc)
		case *packet.Puback:
			s.q.acked(packet.TypePuback, p.PacketID, p.ReasonCode)
		case *packet.Pubrec:
			s.q.acked(packet.TypePubrec, p.PacketID, p.ReasonCode)
		case *packet.Pubcomp:
			s.q.acked(packet.TypePubcomp, p.PacketID, p.ReasonCode)
		case *packet.Subscribe, *packet.Unsubscribe:
			select {
			case s.ops <- p:
			case <-s.done:
				return nil, noDisconnect
			}
		case *packet.Pingreq:
			s.ctrl(&packet.Pingresp{})
		case *packet.Disconnect:
			s.graceful.Store(!(s.v == packet.V5 && p.ReasonCode == packet.ReasonDisconnectWithWill))
			return nil, noDisconnect
		default:
			return fmt.Errorf("share: unexpected %v from the secondary", p.Type()), packet.ReasonProtocolError
		}
	}
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// ctrl queues a control packet, ending the session when it has no room.
func (s *session) ctrl(p packet.Packet) {
	if s.q.pushCtrl(p) == overflow {
		s.end(ErrQuota, packet.ReasonQuotaExceeded)
	}
}

// publish sends the secondary's PUBLISH upstream. A QoS 1 or 2 message
// whose packet identifier is still open is a resend (MQTT-4.3.3): it is
// not published again.
func (s *session) publish(p *packet.Publish) (error, packet.ReasonCode) {
	if p.Properties.TopicAlias != 0 {
		return errors.New("share: topic alias from the secondary (none allowed)"), packet.ReasonTopicAliasInvalid
	}
	s.received.Add(1)
	m := &mqtt.Message{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain, Properties: p.Properties}
	m.Properties.SubscriptionIDs = nil
	if p.QoS == 0 {
		c := s.up.c.PublishAsync(m)
		go func() {
			<-c.Done()
			if c.Err() != nil {
				s.refused.Add(1)
			}
		}()
		return nil, 0
	}
	s.mu.Lock()
	st, open := s.open[p.PacketID]
	if !open {
		s.open[p.PacketID] = pending
	}
	s.mu.Unlock()
	if open {
		if st == recSent {
			s.ctrl(&packet.Pubrec{PacketID: p.PacketID})
		}
		return nil, 0
	}
	select {
	case s.slots <- struct{}{}:
	case <-s.done:
		return nil, noDisconnect
	}
	go s.await(s.up.c.PublishAsync(m), p.PacketID, p.QoS)
	return nil, 0
}

// await answers a QoS 1 or 2 publish when its upstream exchange is done:
// PUBACK, or PUBREC, with the broker's code (MQTT 5.0). MQTT 3.1.1 acks
// carry no code: a refusal by the broker is acknowledged all the same, as a
// 3.1.1 broker itself does (MQTT-3.3.5-2 allows it), and only counted and
// logged; a failure of the primary's own (its client closed) closes the
// connection instead, so that the secondary sends the message again later.
func (s *session) await(c *mqtt.Completion, id uint16, qos packet.QoS) {
	defer func() { <-s.slots }()
	select {
	case <-c.Done():
	case <-s.done:
		return
	}
	code := packet.ReasonSuccess
	if err := c.Err(); err != nil {
		s.refused.Add(1)
		code = errorCode(err)
		var rc *mqtt.ReasonCodeError
		refusal := errors.As(err, &rc) || errors.Is(err, mqtt.ErrLimit)
		s.srv.log.Warn("share: upstream publish failed", "id", s.id, "client", s.clientID, "err", err)
		if s.v < packet.V5 {
			if !refusal {
				s.end(fmt.Errorf("share: upstream publish failed: %w", err), noDisconnect)
				return
			}
			code = packet.ReasonSuccess
		}
	}
	var ack packet.Packet = &packet.Puback{PacketID: id, ReasonCode: code}
	if qos == 2 {
		ack = &packet.Pubrec{PacketID: id, ReasonCode: code}
	}
	s.mu.Lock()
	if qos == 2 && !code.IsError() {
		s.open[id] = recSent
	} else {
		delete(s.open, id)
	}
	s.mu.Unlock()
	s.ctrl(ack)
}

// opsLoop makes the secondary's subscriptions, in order, and releases
// them all when the session ends.
func (s *session) opsLoop() {
	defer s.wg.Done()
	for {
		select {
		case p := <-s.ops:
			s.op(p)
		case <-s.done:
			s.mu.Lock()
			fs := make([]string, 0, len(s.filters))
			for f := range s.filters {
				fs = append(fs, f)
			}
			clear(s.filters)
			s.mu.Unlock()
			for _, f := range fs {
				s.up.release(s, f)
			}
			return
		}
	}
}

func (s *session) op(p packet.Packet) {
	switch p := p.(type) {
	case *packet.Subscribe:
		codes := make([]packet.ReasonCode, len(p.Subscriptions))
		for i, sub := range p.Subscriptions {
			code := s.up.subscribe(s, sub)
			if !code.IsError() {
				s.mu.Lock()
				s.filters[sub.Filter] = struct{}{}
				s.mu.Unlock()
			} else if s.v < packet.V5 {
				code = packet.ReasonUnspecifiedError
			}
			codes[i] = code
		}
		s.ctrl(&packet.Suback{PacketID: p.PacketID, ReasonCodes: codes})
		for i, sub := range p.Subscriptions {
			if !codes[i].IsError() && strings.HasPrefix(sub.Filter, "$tern/") {
				s.up.sendState(s, sub.Filter)
			}
		}
	case *packet.Unsubscribe:
		codes := make([]packet.ReasonCode, len(p.Filters))
		for i, f := range p.Filters {
			s.mu.Lock()
			delete(s.filters, f)
			s.mu.Unlock()
			if !s.up.release(s, f) {
				codes[i] = packet.ReasonNoSubscriptionExisted
			}
		}
		ua := &packet.Unsuback{PacketID: p.PacketID}
		if s.v == packet.V5 {
			ua.ReasonCodes = codes
		}
		s.ctrl(ua)
	}
}

// deliver offers a message from upstream at qos. It never blocks: a QoS 0
// message over the queue's bound is dropped, a QoS 1 or 2 one ends the
// session.
func (s *session) deliver(m *mqtt.Message, qos packet.QoS) {
	p := &packet.Publish{Topic: m.Topic, Payload: m.Payload, QoS: qos, Retain: m.Retain, Properties: m.Properties}
	p.Properties.SubscriptionIDs = nil
	p.Properties.TopicAlias = 0
	if s.q.push(p) == overflow {
		s.end(ErrQuota, packet.ReasonQuotaExceeded)
	}
}

// writer is the only goroutine that writes to the connection once the
// handshake is done: it writes whatever the queue has, flushes when it has
// no more, and closes the connection when the session ends.
func (s *session) writer() {
	defer s.wg.Done()
	defer s.nc.Close()
	bw := bufio.NewWriterSize(s.nc, 16<<10)
	var batch []packet.Packet
	var buf []byte
	for {
		var ok bool
		batch, ok = s.q.take(batch[:0])
		if !ok {
			if s.final != nil {
				s.nc.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				buf, _ = s.final.Append(buf[:0], s.v)
				bw.Write(buf)
				bw.Flush()
			}
			return
		}
		if len(batch) == 0 {
			if bw.Buffered() > 0 {
				if err := bw.Flush(); err != nil {
					s.end(fmt.Errorf("share: writing to the secondary: %w", err), noDisconnect)
					return
				}
			}
			<-s.q.wake
			continue
		}
		s.nc.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
		for _, p := range batch {
			var err error
			buf, err = p.Append(buf[:0], s.v)
			if err != nil || (s.maxOut > 0 && len(buf) > s.maxOut) {
				s.q.dropOne(p) // MQTT-3.1.2-25: never over its Maximum Packet Size
				continue
			}
			if _, err := bw.Write(buf); err != nil {
				s.end(fmt.Errorf("share: writing to the secondary: %w", err), noDisconnect)
				return
			}
		}
		clear(batch)
	}
}

// stats returns the session's stats; false before its handshake is done.
func (s *session) stats() (SecondaryStats, bool) {
	if !s.ready.Load() {
		return SecondaryStats{}, false
	}
	qs, queued, bytes, inflight := s.q.snapshot()
	s.mu.Lock()
	nf := len(s.filters)
	s.mu.Unlock()
	return SecondaryStats{
		ID: s.id, Connection: s.up.name, ClientID: s.clientID, Version: s.v,
		PID: s.cred.PID, UID: s.cred.UID, GID: s.cred.GID,
		Subscriptions: nf, Queued: queued, QueuedBytes: bytes, InFlight: inflight,
		Received: s.received.Load(), Delivered: qs.Delivered, Dropped: qs.Dropped, Refused: s.refused.Load(),
	}, true
}
