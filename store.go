package mqtt

import (
	"errors"
	"slices"
	"sync"
)

// Store keeps the part of a client's session that must survive the end of
// the process: the outgoing QoS 1 and 2 messages the client accepted and
// has not completed (with their packet identifiers and PUBREL state, in
// order, including those still waiting in the offline queue), and the
// inbound QoS 2 packet identifiers awaiting PUBREL (MQTT 5.0 section 4.1).
// Config.Store sets it; without one the session lives in memory and ends
// with the Client.
//
// A Store holds opaque records, each a byte string under a uint64 key; the
// client owns their format. The package store provides a crash-safe file
// store; NewMemoryStore one that lives in memory, for passing a session
// from one Client to the next in the same process.
//
// One client uses a Store at a time. Its methods may be called from
// several goroutines at once, and Put and Delete are called while the
// client holds its own lock, so they must not wait on I/O: they record the
// change in memory, and Sync makes it durable.
type Store interface {
	// Load calls fn with every record, in increasing key order, and stops
	// at fn's first error, which it returns. data is valid only during
	// the call. The client calls Load once, in Dial, before anything else.
	Load(fn func(key uint64, data []byte) error) error
	// Put stores data under key, replacing any record there. It does not
	// keep data after it returns.
	Put(key uint64, data []byte) error
	// Delete removes the record under key, if there is one.
	Delete(key uint64) error
	// Sync makes every Put and Delete that returned before it was called
	// survive the end of the process (a crash, SIGKILL). Whether they also
	// survive the loss of power is the store's policy (fsync).
	Sync() error
}

// NewMemoryStore returns a Store that keeps its records in memory: a
// session kept in it passes from a closed Client to a new one in the same
// process. It is safe for concurrent use.
func NewMemoryStore() Store { return &memoryStore{m: make(map[uint64][]byte)} }

type memoryStore struct {
	mu sync.Mutex
	m  map[uint64][]byte
}

func (s *memoryStore) Load(fn func(key uint64, data []byte) error) error {
	s.mu.Lock()
	keys := make([]uint64, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	data := make([][]byte, len(keys))
	slices.Sort(keys)
	for i, k := range keys {
		data[i] = s.m[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, data[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memoryStore) Put(key uint64, data []byte) error {
	s.mu.Lock()
	s.m[key] = slices.Clone(data)
	s.mu.Unlock()
	return nil
}

func (s *memoryStore) Delete(key uint64) error {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

func (s *memoryStore) Sync() error { return nil }

// ErrStore wraps a failure of Config.Store: a message that could not be
// recorded was not accepted, and a connection whose records could not be
// made durable is closed before it sends what depends on them.
var ErrStore = errors.New("mqtt: store")
