package mqtt

import (
	"context"
	"errors"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// connectPacket builds the CONNECT of version v: the same client
// identifier on every attempt (a generated one is made once; one the
// broker assigned is used again, to resume the session).
func (c *Client) connectPacket(v packet.Version) *packet.Connect {
	cp := c.s.connectPacket(v, c.s.idTime)
	c.mu.Lock()
	if cp.ClientID == "" && c.assignedID != "" {
		cp.ClientID = c.assignedID
	}
	c.mu.Unlock()
	return cp
}

// attempt makes connection attempt n on a goroutine of its own, so that
// Close, even called from Config.BeforeConnect, stops the supervisor at
// once; it returns ErrClosed then, and the attempt, whose context is
// cancelled, ends on its own.
func (c *Client) attempt(ctx context.Context, n int) (*conn, error) {
	type result struct {
		cn  *conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		actx, cancel := context.WithTimeout(ctx, c.s.ConnectTimeout)
		defer cancel()
		cn, err := c.connect(actx, n)
		ch <- result{cn, err}
	}()
	select {
	case r := <-ch:
		return r.cn, r.err
	case <-c.quit:
		go func() {
			if r := <-ch; r.cn != nil {
				r.cn.nc.Close()
			}
		}()
		return nil, ErrClosed
	}
}

// supervise keeps the client connected (Config.Reconnect): it waits for
// the connection to end, waits a delay from the backoff schedule, and
// connects again, until Close or Disconnect. The delays start again from
// Backoff.Min after a connection that lasted Backoff.StableAfter.
func (c *Client) supervise(cn *conn, bo *backoff) {
	defer close(c.superDone)
	defer c.event(Event{Kind: EventStopped})
	// EventStopped comes last: after the EventDisconnected of the last
	// connection, which Close or Disconnect ends.
	defer func() { <-cn.over }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	attempt := 1
	for {
		since := time.Now()
		select {
		case <-cn.done:
		case <-c.quit:
			return
		}
		cn.wait()
		if time.Since(since) >= bo.StableAfter {
			bo.reset()
		}
		for {
			t := time.NewTimer(bo.next())
			select {
			case <-t.C:
			case <-c.quit:
				t.Stop()
				return
			}
			attempt++
			c.event(Event{Kind: EventConnecting, Attempt: attempt})
			next, err := c.attempt(ctx, attempt)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err == nil {
				if !c.install(next, false) {
					return
				}
				cn = next
				break
			}
			c.s.Logger.Info("mqtt: connection attempt failed", "attempt", attempt, "err", err)
			c.event(Event{Kind: EventConnectFailed, Attempt: attempt, Err: err})
			if ctx.Err() != nil {
				return
			}
		}
	}
}
