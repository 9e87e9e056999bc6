package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// localBroker is an in-process MQTT broker (Mochi), for a demo that was
// given none: anyone may connect, nothing is kept on disk.
type localBroker struct {
	URL  string // mqtt://127.0.0.1:port
	Addr string // 127.0.0.1:port

	ln   net.Listener
	srv  *mochi.Server
	once sync.Once
}

// startBroker starts a broker listening on addr ("127.0.0.1:0" for a free
// port of the loopback interface).
func startBroker(addr string) (*localBroker, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s for the in-process broker: %w", addr, err)
	}
	srv := mochi.New(&mochi.Options{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		InlineClient: false,
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		ln.Close()
		return nil, err
	}
	if err := srv.AddListener(listeners.NewNet("demo", ln)); err != nil {
		ln.Close()
		return nil, err
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, err
	}
	a := ln.Addr().String()
	return &localBroker{URL: "mqtt://" + a, Addr: a, ln: ln, srv: srv}, nil
}

// Stop closes the listener and every client's connection (MQTT 5.0
// clients get DISCONNECT "Server shutting down"). Stopping twice does
// nothing.
func (b *localBroker) Stop() {
	b.once.Do(func() {
		// The listener first, so that no client connects while Mochi
		// closes the others (it would not serve it, nor close it).
		b.ln.Close()
		b.srv.Close()
	})
}
