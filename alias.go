package mqtt

import (
	"sync"

	"github.com/ternmq/mqtt/packet"
)

// maxAutoAliases caps the aliases the client gives out by itself: a small
// table, searched whole only when it is full.
const maxAutoAliases = 1024

// aliasTable gives outgoing topics aliases on one connection (MQTT 5.0
// section 3.3.2.3.4), reassigning the least recently used when all are
// taken. Its lock is held from choosing an alias until the PUBLISH is
// queued, so that a mapping is on the wire before any packet that uses it.
type aliasTable struct {
	mu      sync.Mutex
	max     uint16
	byTopic map[string]uint16
	topics  []string // indexed by alias; [0] unused
	used    []uint64 // last use of each alias
	clock   uint64
}

func newAliasTable(max uint16) *aliasTable {
	n := min(int(max), maxAutoAliases)
	return &aliasTable{max: uint16(n), byTopic: make(map[string]uint16, n),
		topics: make([]string, n+1), used: make([]uint64, n+1)}
}

// choose sets p's alias for its topic: the alias alone if the topic has
// one, the topic with a new alias otherwise. It returns the mapping to
// record once p is queued, or 0. t.mu is held.
func (t *aliasTable) choose(p *packet.Publish) (record uint16) {
	if a, ok := t.byTopic[p.Topic]; ok {
		t.clock++
		t.used[a] = t.clock
		p.Properties.TopicAlias = a
		p.Topic = ""
		return 0
	}
	// A free alias, or the least recently used.
	best := uint16(1)
	for a := uint16(1); a <= t.max; a++ {
		if t.topics[a] == "" {
			best = a
			break
		}
		if t.used[a] < t.used[best] {
			best = a
		}
	}
	p.Properties.TopicAlias = best
	return best
}

// record maps alias a to topic once the PUBLISH that sets it is queued.
// t.mu is held.
func (t *aliasTable) record(a uint16, topic string) {
	if old := t.topics[a]; old != "" {
		delete(t.byTopic, old)
	}
	t.topics[a] = topic
	t.byTopic[topic] = a
	t.clock++
	t.used[a] = t.clock
}
