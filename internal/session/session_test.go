package session

import "testing"

func TestIdentifiers(t *testing.T) {
	var s State
	seen := map[uint16]bool{}
	for i := 0; i < 65535; i++ {
		e := add(&s, Publish1, i)
		if e == nil {
			t.Fatalf("no identifier after %d", i)
		}
		if e.ID == 0 || seen[e.ID] {
			t.Fatalf("identifier %d given twice or zero (MQTT-2.2.1-3)", e.ID)
		}
		seen[e.ID] = true
	}
	if e := add(&s, Publish1, nil); e != nil {
		t.Fatalf("all 65,535 identifiers are in use, yet Add gave %d", e.ID)
	}
	s.Remove(300)
	if e := add(&s, Subscribe, nil); e == nil || e.ID != 300 {
		t.Fatalf("Add after freeing 300 = %+v", e)
	}
	if s.Len() != 65535 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestWrapSkipsZeroAndUsed(t *testing.T) {
	s := State{next: 65534}
	a := add(&s, Publish1, nil) // 65535
	s.Remove(a.ID)
	held := add(&s, Publish2, nil) // wraps to 1
	if held.ID != 1 {
		t.Fatalf("after 65535 came %d, want 1", held.ID)
	}
	s.next = 0 // next candidate is 1, which is held
	if e := add(&s, Publish1, nil); e.ID != 2 {
		t.Fatalf("Add skipped to %d, want 2", e.ID)
	}
}

func TestOpenKeepsOrder(t *testing.T) {
	var s State
	var ids []uint16
	for i := 0; i < 50; i++ {
		ids = append(ids, add(&s, Publish1, i).ID)
	}
	s.Remove(ids[10])
	s.Remove(ids[20])
	open := s.Open()
	if len(open) != 48 {
		t.Fatalf("%d open", len(open))
	}
	for i := 1; i < len(open); i++ {
		if open[i].Data.(int) <= open[i-1].Data.(int) {
			t.Fatalf("resend order broken at %d", i)
		}
	}
}

func TestInboundQoS2(t *testing.T) {
	var s State
	if !s.ReceiveQoS2(7) {
		t.Fatal("first PUBLISH 7 is not new")
	}
	if s.ReceiveQoS2(7) {
		t.Fatal("resent PUBLISH 7 before PUBREL counted as new: it would be delivered twice")
	}
	if s.HasRecorded(7) || !s.Recorded(7) || !s.HasRecorded(7) {
		t.Fatal("PUBREC bookkeeping is wrong")
	}
	if !s.ReleaseQoS2(7) || s.ReleaseQoS2(7) {
		t.Fatal("PUBREL releases 7 once")
	}
	if !s.ReceiveQoS2(7) {
		t.Fatal("after PUBREL, identifier 7 starts a new message")
	}
	if s.Recorded(9) {
		t.Fatal("Recorded of an identifier not held")
	}
}

// add is Add of a new entry; nil when Add refuses.
func add(s *State, k Kind, data any) *Entry {
	e := &Entry{Kind: k, Data: data}
	if !s.Add(e) {
		return nil
	}
	return e
}

func TestRestore(t *testing.T) {
	var s State
	a := &Entry{ID: 40, Kind: Publish2, Released: true}
	b := &Entry{ID: 7, Kind: Publish1}
	if !s.Restore(a) || !s.Restore(b) {
		t.Fatal("Restore refused free identifiers")
	}
	if s.Restore(&Entry{ID: 7}) || s.Restore(&Entry{ID: 0}) {
		t.Fatal("Restore took an identifier in use, or zero")
	}
	c := add(&s, Publish1, nil)
	if c.ID == 7 || c.ID == 40 {
		t.Fatalf("Add gave %d, which a restored exchange holds", c.ID)
	}
	open := s.Open()
	if len(open) != 3 || open[0] != a || open[1] != b || open[2] != c || !open[0].Released {
		t.Fatalf("Open after Restore = %v: want the restored order, then the new one", open)
	}
	s.Remove(7)
	s.Remove(c.ID)
	s.Remove(999) // not open: nothing happens
	if open = s.Open(); len(open) != 1 || open[0] != a {
		t.Fatalf("Open after Remove = %v", open)
	}
	s.Clear()
	if s.Len() != 0 || len(s.Open()) != 0 {
		t.Fatal("Clear left exchanges")
	}
}
