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
	seq  uint64
}

// State is the session state of one client. Its zero value is an empty
// session.
type State struct {
	next   uint16
	seq    uint64
	out    map[uint16]*Entry
	inQoS2 map[uint16]bool // true once PUBREC was sent
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
	s.seq++
	e.ID, e.Released, e.seq = s.next, false, s.seq
	s.out[e.ID] = e
	return true
}

// Get returns the open exchange with identifier id, or nil.
func (s *State) Get(id uint16) *Entry { return s.out[id] }

// Remove ends the exchange with identifier id, freeing the identifier.
func (s *State) Remove(id uint16) { delete(s.out, id) }

// Len returns how many exchanges are open.
func (s *State) Len() int { return len(s.out) }

// Open returns the open exchanges in the order they began: the order in
// which a resumed session resends them (MQTT 5.0 section 4.6).
func (s *State) Open() []*Entry {
	es := make([]*Entry, 0, len(s.out))
	for _, e := range s.out {
		es = append(es, e)
	}
	sortBySeq(es)
	return es
}

func sortBySeq(es []*Entry) {
	// Insertion sort: the table is small and mostly in order already.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].seq < es[j-1].seq; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
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

// Clear forgets everything: the server reported no session.
func (s *State) Clear() {
	s.out = nil
	s.inQoS2 = nil
}
