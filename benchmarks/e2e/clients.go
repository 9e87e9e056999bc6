package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// client is one MQTT client implementation under test, in one protocol
// version.
type client struct {
	key     string // flag name: raw3, tern3, paho3, raw5, tern5, paho5
	name    string // for the report
	version packet.Version
	// dialPub connects a publisher. window is the pipelining window of
	// the throughput runs (used as Tern's MaxInflight).
	dialPub func(ctx context.Context, addr, id string, window int) (publisher, error)
	// dialSub connects a subscriber to filter at qos, calling on for
	// every message, on whatever goroutine the client delivers on.
	dialSub func(ctx context.Context, addr, id, filter string, qos byte, on func()) (closer, error)
	// dialIdle opens one idle connection with keep-alive 60 s.
	dialIdle func(ctx context.Context, addr, id string) (closer, error)
}

type closer interface{ close() }

type publisher interface {
	closer
	// pipeline publishes n messages as fast as the client allows, with at
	// most window unfinished, and returns when all are finished.
	pipeline(ctx context.Context, topic string, qos byte, payload []byte, n, window int) error
	// sync publishes one message and waits for its completion (PUBACK at
	// QoS 1, PUBCOMP at QoS 2).
	sync(ctx context.Context, topic string, qos byte, payload []byte) error
}

// paho5Mode is how the paho.golang publisher pipelines: "workers" runs
// min(window, Receive Maximum) goroutines each calling the blocking
// Publish; "async" calls PublishWithOptions with PublishMethod_AsyncSend
// from one goroutine (it blocks only while Receive Maximum messages are in
// flight, and reports no outcome).
var paho5Mode = "async"

func clients() []client {
	return []client{
		rawClient("raw3", packet.V311),
		ternClient("tern3", packet.V311),
		{key: "paho3", name: "paho.mqtt.golang", version: packet.V311,
			dialPub: func(ctx context.Context, addr, id string, _ int) (publisher, error) {
				c, err := dialPaho3(ctx, addr, id)
				if err != nil {
					return nil, err
				}
				return paho3Pub{c}, nil
			},
			dialSub:  dialPaho3Sub,
			dialIdle: func(ctx context.Context, addr, id string) (closer, error) { return dialPaho3(ctx, addr, id) }},
		rawClient("raw5", packet.V5),
		ternClient("tern5", packet.V5),
		{key: "paho5", name: "paho.golang", version: packet.V5,
			dialPub: func(ctx context.Context, addr, id string, _ int) (publisher, error) {
				c, ca, err := dialPaho5(ctx, addr, id, nil)
				if err != nil {
					return nil, err
				}
				rm := 65535
				if ca.Properties != nil && ca.Properties.ReceiveMaximum != nil {
					rm = int(*ca.Properties.ReceiveMaximum)
				}
				return &paho5Pub{c: c, receiveMax: rm}, nil
			},
			dialSub: dialPaho5Sub,
			dialIdle: func(ctx context.Context, addr, id string) (closer, error) {
				c, _, err := dialPaho5(ctx, addr, id, nil)
				if err != nil {
					return nil, err
				}
				return paho5Closer{c}, nil
			}},
	}
}

// ---- raw reference ----

func rawClient(key string, v packet.Version) client {
	return client{key: key, name: "raw socket + codec", version: v,
		dialPub: func(ctx context.Context, addr, id string, _ int) (publisher, error) {
			rc, err := rawDial(ctx, addr, id, v, 64<<10)
			if err != nil {
				return nil, err
			}
			return rawPublisher{rawPub{rc}, make([]byte, 0, 256)}, nil
		},
		dialSub: func(ctx context.Context, addr, id, filter string, qos byte, on func()) (closer, error) {
			rc, err := rawDial(ctx, addr, id, v, 64<<10)
			if err != nil {
				return nil, err
			}
			if err := rawSubscribe(ctx, rc, filter, packet.QoS(qos), on); err != nil {
				rc.close()
				return nil, err
			}
			return rc, nil
		},
		dialIdle: func(ctx context.Context, addr, id string) (closer, error) {
			// The floor: the socket, a 4 KiB read buffer and one reader
			// goroutine.
			rc, err := rawDial(ctx, addr, id, v, 4<<10)
			if err != nil {
				return nil, err
			}
			go func() {
				for {
					if _, err := rc.r.ReadPacket(rc.v); err != nil {
						return
					}
				}
			}()
			return rc, nil
		},
	}
}

type rawPublisher struct {
	rawPub
	buf []byte
}

func (p rawPublisher) close() { p.rawConn.close() }

func (p rawPublisher) pipeline(ctx context.Context, topic string, qos byte, payload []byte, n, window int) error {
	return p.rawPub.pipeline(ctx, topic, packet.QoS(qos), payload, n, window)
}

func (p rawPublisher) sync(ctx context.Context, topic string, qos byte, payload []byte) error {
	pk := &packet.Publish{Topic: topic, QoS: packet.QoS(qos), Payload: payload, PacketID: 1}
	if qos == 0 {
		pk.PacketID = 0
	}
	return p.rawPub.sync(ctx, pk, p.buf)
}

// ---- Tern ----

func ternClient(key string, v packet.Version) client {
	dial := func(ctx context.Context, addr, id string, window int) (*mqtt.Client, error) {
		return mqtt.Dial(ctx, mqtt.Config{Broker: "mqtt://" + addr, Version: v, ClientID: id,
			KeepAlive: 60 * time.Second, MaxInflight: window})
	}
	return client{key: key, name: "Tern", version: v,
		dialPub: func(ctx context.Context, addr, id string, window int) (publisher, error) {
			c, err := dial(ctx, addr, id, window)
			if err != nil {
				return nil, err
			}
			return ternPub{c}, nil
		},
		dialSub: func(ctx context.Context, addr, id, filter string, qos byte, on func()) (closer, error) {
			c, err := dial(ctx, addr, id, 0)
			if err != nil {
				return nil, err
			}
			if _, err := c.Subscribe(ctx, func(*mqtt.Message) { on() }, mqtt.Subscription{Filter: filter, QoS: mqtt.QoS(qos)}); err != nil {
				c.Close()
				return nil, err
			}
			return ternPub{c}, nil
		},
		dialIdle: func(ctx context.Context, addr, id string) (closer, error) {
			c, err := dial(ctx, addr, id, 0)
			if err != nil {
				return nil, err
			}
			return ternPub{c}, nil
		},
	}
}

type ternPub struct{ c *mqtt.Client }

func (p ternPub) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.c.Disconnect(ctx); err != nil {
		p.c.Close()
	}
}

func (p ternPub) pipeline(ctx context.Context, topic string, qos byte, payload []byte, n, window int) error {
	m := &mqtt.Message{Topic: topic, QoS: mqtt.QoS(qos), Payload: payload}
	ring := make([]*mqtt.Completion, window)
	wait := func(c *mqtt.Completion) error {
		select {
		case <-c.Done():
			return c.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range n {
		slot := i % window
		if c := ring[slot]; c != nil {
			if err := wait(c); err != nil {
				return err
			}
		}
		ring[slot] = p.c.PublishAsync(m)
	}
	for _, c := range ring {
		if c != nil {
			if err := wait(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p ternPub) sync(ctx context.Context, topic string, qos byte, payload []byte) error {
	return p.c.Publish(ctx, &mqtt.Message{Topic: topic, QoS: mqtt.QoS(qos), Payload: payload})
}

// ---- paho.mqtt.golang (MQTT 3.1.1) ----

func dialPaho3(ctx context.Context, addr, id string) (paho3Closer, error) {
	opts := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).
		SetConnectRetry(false).SetKeepAlive(60 * time.Second).SetConnectTimeout(10 * time.Second)
	c := paho3.NewClient(opts)
	if err := waitToken(ctx, c.Connect()); err != nil {
		return paho3Closer{}, err
	}
	return paho3Closer{c}, nil
}

func waitToken(ctx context.Context, t paho3.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

type paho3Closer struct{ c paho3.Client }

func (p paho3Closer) close() { p.c.Disconnect(0) }

func dialPaho3Sub(ctx context.Context, addr, id, filter string, qos byte, on func()) (closer, error) {
	c, err := dialPaho3(ctx, addr, id)
	if err != nil {
		return nil, err
	}
	if err := waitToken(ctx, c.c.Subscribe(filter, qos, func(paho3.Client, paho3.Message) { on() })); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

type paho3Pub struct{ paho3Closer }

func (p paho3Pub) pipeline(ctx context.Context, topic string, qos byte, payload []byte, n, window int) error {
	ring := make([]paho3.Token, window)
	for i := range n {
		slot := i % window
		if t := ring[slot]; t != nil {
			if err := waitToken(ctx, t); err != nil {
				return err
			}
		}
		ring[slot] = p.c.Publish(topic, qos, false, payload)
	}
	for _, t := range ring {
		if t != nil {
			if err := waitToken(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p paho3Pub) sync(ctx context.Context, topic string, qos byte, payload []byte) error {
	return waitToken(ctx, p.c.Publish(topic, qos, false, payload))
}

// ---- paho.golang (MQTT 5.0), the lower-level paho.Client ----

func dialPaho5(ctx context.Context, addr, id string, on func()) (*paho5.Client, *paho5.Connack, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	cfg := paho5.ClientConfig{Conn: nc, PacketTimeout: time.Minute}
	if on != nil {
		cfg.OnPublishReceived = []func(paho5.PublishReceived) (bool, error){
			func(paho5.PublishReceived) (bool, error) { on(); return true, nil },
		}
	}
	c := paho5.NewClient(cfg)
	ca, err := c.Connect(ctx, &paho5.Connect{ClientID: id, CleanStart: true, KeepAlive: 60})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if ca.ReasonCode != 0 {
		nc.Close()
		return nil, nil, fmt.Errorf("paho.golang: CONNACK reason %#x", ca.ReasonCode)
	}
	return c, ca, nil
}

type paho5Closer struct{ c *paho5.Client }

func (p paho5Closer) close() {
	p.c.Disconnect(&paho5.Disconnect{ReasonCode: 0})
	select {
	case <-p.c.Done():
	case <-time.After(2 * time.Second):
	}
}

func dialPaho5Sub(ctx context.Context, addr, id, filter string, qos byte, on func()) (closer, error) {
	c, _, err := dialPaho5(ctx, addr, id, on)
	if err != nil {
		return nil, err
	}
	sa, err := c.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err == nil && (len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80) {
		err = fmt.Errorf("paho.golang: SUBSCRIBE refused: %v", sa.Reasons)
	}
	if err != nil {
		paho5Closer{c}.close()
		return nil, err
	}
	return paho5Closer{c}, nil
}

type paho5Pub struct {
	c          *paho5.Client
	receiveMax int
}

func (p *paho5Pub) close() { paho5Closer{p.c}.close() }

func (p *paho5Pub) pipeline(ctx context.Context, topic string, qos byte, payload []byte, n, window int) error {
	if paho5Mode == "async" {
		opts := paho5.PublishOptions{Method: paho5.PublishMethod_AsyncSend}
		for range n {
			if _, err := p.c.PublishWithOptions(ctx, &paho5.Publish{Topic: topic, QoS: qos, Payload: payload}, opts); err != nil {
				return err
			}
		}
		return nil
	}
	workers := min(window, p.receiveMax, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := p.c.Publish(ctx, &paho5.Publish{Topic: topic, QoS: qos, Payload: payload}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (p *paho5Pub) sync(ctx context.Context, topic string, qos byte, payload []byte) error {
	_, err := p.c.Publish(ctx, &paho5.Publish{Topic: topic, QoS: qos, Payload: payload})
	return err
}

var errTimeout = errors.New("timed out")
