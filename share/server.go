package share

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ternmq/mqtt"
)

// Options configure a Server. The zero value works; each field's comment
// gives its default.
type Options struct {
	// Group, if set (a group name or numeric ID), owns the socket file,
	// which is then created with mode 0660 so that the group's members
	// may connect. If empty, the socket is 0600: its owner alone.
	Group string
	// AllowUIDs and AllowGIDs, if either is set, are the only peers let in:
	// the peer's credentials (SO_PEERCRED, Linux) must name one of the
	// user IDs or one of the group IDs, or the connection is closed before
	// anything is read from it. Where the system cannot tell a peer's
	// credentials, every peer is refused when a list is set.
	AllowUIDs, AllowGIDs []int
	// MaxQueued and MaxQueuedBytes bound each secondary's queue of
	// messages waiting to be written to it. At the bound a QoS 0 message
	// is dropped and counted (SecondaryStats.Dropped), and a QoS 1 or 2
	// message disconnects the secondary (MQTT 5.0: DISCONNECT 0x97 Quota
	// exceeded) and releases its subscriptions. If zero, 1,000 messages
	// and 8 MiB (topic and payload bytes, plus 16 per message).
	MaxQueued, MaxQueuedBytes int
	// ReceiveMaximum is how many QoS 1 and 2 publishes of one secondary
	// may await the broker's answer at once; a secondary over it is not
	// read until one completes (MQTT 5.0 secondaries are told it in
	// CONNACK). If zero, 256.
	ReceiveMaximum int
	// MaxPacketSize is the largest packet read from a secondary; a larger
	// one ends its connection (MQTT 5.0: DISCONNECT 0x95). If zero, 1 MiB.
	MaxPacketSize int
	// WriteTimeout bounds each write to a secondary. If zero, 10 seconds.
	WriteTimeout time.Duration
	// OnDisconnect, if not nil, is called when a secondary's connection
	// ends, with its last stats and why (nil for a DISCONNECT from it).
	// It runs on a goroutine of that secondary and must not block long.
	OnDisconnect func(s SecondaryStats, err error)
	// Logger receives the server's log records. If nil, nothing is logged.
	Logger *slog.Logger
}

// Server is the primary side: it serves its upstream connections to
// secondaries on unix sockets. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
	ctx  context.Context // cancelled by Close
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	ups      map[string]*upstream
	first    string
	lns      map[net.Listener]string // -> the socket path to remove
	sessions map[*session]struct{}
	nextID   uint64
	closed   bool
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("share: server closed")

// NewServer returns a Server with opts and the connections of conns, by
// name (see Add).
func NewServer(opts Options, conns map[string]*mqtt.Client) (*Server, error) {
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 1000
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 8 << 20
	}
	if opts.ReceiveMaximum <= 0 {
		opts.ReceiveMaximum = 256
	}
	opts.ReceiveMaximum = min(opts.ReceiveMaximum, 65535)
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = 1 << 20
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, log: log, ups: map[string]*upstream{},
		lns: map[net.Listener]string{}, sessions: map[*session]struct{}{}}
	s.ctx, s.stop = context.WithCancel(context.Background())
	names := make([]string, 0, len(conns))
	for n := range conns {
		names = append(names, n)
	}
	// A map has no order: with several, the default is the first by name.
	slices.Sort(names)
	for _, n := range names {
		if err := s.Add(n, conns[n]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add registers c under name, for secondaries that connect with name as
// their user name; the first connection added is also the default, for
// those that send none. The Server publishes c's events to secondaries
// but never closes c: the caller owns it.
func (s *Server) Add(name string, c *mqtt.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if _, dup := s.ups[name]; dup || name == "" {
		return fmt.Errorf("share: connection name %q empty or taken", name)
	}
	u := &upstream{name: name, c: c, srv: s, subs: map[string]*entry{}, events: map[*session]string{}}
	u.stop = c.Notify(u.fanout)
	s.ups[name] = u
	if s.first == "" {
		s.first = name
	}
	return nil
}

// upstream returns the connection a secondary names, or nil.
func (s *Server) upstream(name string) *upstream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		name = s.first
	}
	return s.ups[name]
}

// Listen creates a unix socket at path, with the permissions of
// Options.Group, and serves it on a goroutine of its own until Close. A
// stale socket file at path (nothing listening) is replaced.
//
// The socket is bound in a private directory (mode 0700) next to path,
// given its mode and group there, and only then renamed to path, so that no
// one can connect in the instant before its permissions are set.
func (s *Server) Listen(path string) error {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("share: %s: a server is listening there", path)
	}
	gid := -1
	mode := os.FileMode(0o600)
	if s.opts.Group != "" {
		g, err := lookupGroup(s.opts.Group)
		if err != nil {
			return err
		}
		gid, mode = g, 0o660
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".share-")
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) error { ln.Close(); return fmt.Errorf("share: %w", err) }
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Chown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path) // stale: nothing answered above
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		os.Remove(path)
		return ErrServerClosed
	}
	s.lns[ln] = path
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.serve(ln)
	}()
	return nil
}

func lookupGroup(g string) (int, error) {
	if id, err := strconv.Atoi(g); err == nil {
		return id, nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, fmt.Errorf("share: group %q: %w", g, err)
	}
	return strconv.Atoi(gr.Gid)
}

// Serve serves secondaries on ln (a unix socket listener, for the
// credentials check) until Close, and closes ln. It returns
// ErrServerClosed after Close, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = ""
	s.mu.Unlock()
	return s.serve(ln)
}

func (s *Server) serve(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.log.Error("share: accept", "err", err)
			return err
		}
		delay = 0
		if !s.allowed(nc) {
			nc.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.nextID++
		ss := newSession(s, nc, s.nextID)
		s.sessions[ss] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			ss.run()
			s.mu.Lock()
			delete(s.sessions, ss)
			s.mu.Unlock()
		}()
	}
}

// isTemporary reports an accept error worth retrying (EMFILE and the like).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// allowed checks the peer's credentials against the allow-lists.
func (s *Server) allowed(nc net.Conn) bool {
	if len(s.opts.AllowUIDs) == 0 && len(s.opts.AllowGIDs) == 0 {
		return true
	}
	cred, err := peerCred(nc)
	if err != nil {
		s.log.Warn("share: peer refused: credentials unknown", "err", err)
		return false
	}
	for _, u := range s.opts.AllowUIDs {
		if u == cred.UID {
			return true
		}
	}
	for _, g := range s.opts.AllowGIDs {
		if g == cred.GID {
			return true
		}
	}
	s.log.Warn("share: peer refused: not in the allow-list", "pid", cred.PID, "uid", cred.UID, "gid", cred.GID)
	return false
}

// Secondaries returns a snapshot of every connected secondary's stats.
func (s *Server) Secondaries() []SecondaryStats {
	s.mu.Lock()
	ss := make([]*session, 0, len(s.sessions))
	for x := range s.sessions {
		ss = append(ss, x)
	}
	s.mu.Unlock()
	out := make([]SecondaryStats, 0, len(ss))
	for _, x := range ss {
		if st, ok := x.stats(); ok {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b SecondaryStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// holders returns how many secondaries hold filter on the connection
// name ("" for the default): 0 when the upstream subscription is gone.
// Tests use it.
func (s *Server) holders(name, filter string) int {
	u := s.upstream(name)
	if u == nil {
		return 0
	}
	return u.holders(filter)
}

// Close stops listening, removes the socket files, disconnects every
// secondary (MQTT 5.0: DISCONNECT 0x8B Server shutting down), releases
// their upstream subscriptions and waits for its goroutines. It does not
// close the upstream clients.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for ln, path := range s.lns {
		ln.Close()
		if path != "" {
			os.Remove(path)
		}
	}
	ss := make([]*session, 0, len(s.sessions))
	for x := range s.sessions {
		ss = append(ss, x)
	}
	ups := s.ups
	s.mu.Unlock()
	s.stop()
	for _, x := range ss {
		x.end(errServerClosing, shuttingDown)
	}
	s.wg.Wait()
	for _, u := range ups {
		u.stop()
	}
	return nil
}
