// Package session holds the state of an MQTT session that outlives any one
// network connection (MQTT 5.0 section 4.1): the packet identifiers in use,
// the outgoing QoS 1 and 2 exchanges and SUBSCRIBE/UNSUBSCRIBE requests
// awaiting their acknowledgement, in the order they were sent, and the
// inbound QoS 2 packet identifiers awaiting PUBREL.
//
// It is pure state: no goroutines, no I/O, no locking. The client guards a
// State with its own mutex.
package session

// Kind is what an outgoing exchange is.
type Kind uint8

// Outgoing exchange kinds.
const (
	Publish1    Kind = iota + 1 // QoS 1 PUBLISH awaiting PUBACK
	Publish2                    // QoS 2 PUBLISH awaiting PUBREC, then PUBCOMP
	Subscribe                   // SUBSCRIBE awaiting SUBACK
	Unsubscribe                 // UNSUBSCRIBE awaiting UNSUBACK
)

// Entry is one outgoing exchange that holds a packet identifier.
type Entry struct {
	ID   uint16
	Kind Kind
	// Released is set for a QoS 2 exchange once PUBREC arrived and PUBREL
	// was sent: what remains is to wait for PUBCOMP, and a resend is a
	// PUBREL, not the PUBLISH (MQTT-4.3.3-6 ... 4.4).
	Released bool
	// Data is the caller's: the message, the waiter.
	Data any

	prev, next *Entry // the list of open exchanges, oldest first
}

// State is the session state of one client. Its zero value is an empty
// session.
type State struct {
	next        uint16
	out         map[uint16]*Entry
	first, last *Entry          // the open exchanges in the order they began
	inQoS2      map[uint16]bool // true once PUBREC was sent
}

// Add assigns a free, non-zero packet identifier (MQTT-2.2.1-3) to e, a new
// exchange whose Kind and Data the caller has set, and records it; it
// reports false when all identifiers are in use: an identifier is never
// reused while its exchange is open. e belongs to the State until Remove.
func (s *State) Add(e *Entry) bool {
	if s.out == nil {
		s.out = make(map[uint16]*Entry)
	}
	if len(s.out) >= 65535 {
		return false
	}
	for {
		s.next++
		if s.next == 0 {
			s.next = 1
		}
		if _, used := s.out[s.next]; !used {
			break
		}
	}
	e.ID, e.Released = s.next, false
	s.link(e)
	return true
}

// Restore records e, an exchange of a session kept in a store, under its
// own identifier e.ID, after those already open; it reports false if the
// identifier is zero or in use.
func (s *State) Restore(e *Entry) bool {
	if s.out == nil {
		s.out = make(map[uint16]*Entry)
	}
	if _, used := s.out[e.ID]; used || e.ID == 0 {
		return false
	}
	s.link(e)
	return true
}

func (s *State) link(e *Entry) {
	s.out[e.ID] = e
	e.prev, e.next = s.last, nil
	if s.last != nil {
		s.last.next = e
	} else {
		s.first = e
	}
	s.last = e
}

// Get returns the open exchange with identifier id, or nil.
func (s *State) Get(id uint16) *Entry { return s.out[id] }

// Remove ends the exchange with identifier id, freeing the identifier.
func (s *State) Remove(id uint16) {
	e := s.out[id]
	if e == nil {
		return
	}
	delete(s.out, id)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.first = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.last = e.prev
	}
	e.prev, e.next = nil, nil
}

// Len returns how many exchanges are open.
func (s *State) Len() int { return len(s.out) }

// Open returns the open exchanges in the order they began: the order in
// which a resumed session resends them (MQTT 5.0 section 4.6).
func (s *State) Open() []*Entry {
	es := make([]*Entry, 0, len(s.out))
	for e := s.first; e != nil; e = e.next {
		es = append(es, e)
	}
	return es
}

// Inbound QoS 2 (MQTT 5.0 section 4.3.3, receiver side).

// ReceiveQoS2 records an inbound QoS 2 PUBLISH with identifier id and
// reports whether it is new. A PUBLISH whose identifier is already held
// (a resend before PUBREL) is not new and must not be delivered again.
func (s *State) ReceiveQoS2(id uint16) (isNew bool) {
	if s.inQoS2 == nil {
		s.inQoS2 = make(map[uint16]bool)
	}
	if _, held := s.inQoS2[id]; held {
		return false
	}
	s.inQoS2[id] = false
	return true
}

// Recorded marks that PUBREC was sent for the inbound QoS 2 PUBLISH id, and
// reports whether id is held.
func (s *State) Recorded(id uint16) bool {
	if _, held := s.inQoS2[id]; !held {
		return false
	}
	s.inQoS2[id] = true
	return true
}

// HasRecorded reports whether PUBREC was sent for the held identifier id.
func (s *State) HasRecorded(id uint16) bool { return s.inQoS2[id] }

// ReleaseQoS2 ends the inbound QoS 2 exchange id on PUBREL and reports
// whether it was held.
func (s *State) ReleaseQoS2(id uint16) bool {
	if _, held := s.inQoS2[id]; !held {
		return false
	}
	delete(s.inQoS2, id)
	return true
}

// InboundQoS2 returns how many inbound QoS 2 exchanges await PUBREL.
func (s *State) InboundQoS2() int { return len(s.inQoS2) }

// EachInboundQoS2 calls fn with the identifier of every inbound QoS 2
// exchange awaiting PUBREL, in no particular order.
func (s *State) EachInboundQoS2(fn func(id uint16)) {
	for id := range s.inQoS2 {
		fn(id)
	}
}

// Clear forgets everything: the server reported no session.
func (s *State) Clear() {
	for e := s.first; e != nil; {
		n := e.next
		e.prev, e.next = nil, nil
		e = n
	}
	s.out, s.first, s.last = nil, nil, nil
	s.inQoS2 = nil
}
