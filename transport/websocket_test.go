package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/transport"
)

// TestWebSocketMochi: a round trip over ws:// to Mochi's WebSocket
// listener, in MQTT 3.1.1 and 5.0.
func TestWebSocketMochi(t *testing.T) {
	b := brokertest.MochiWebSocket(t, nil)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		t.Run(v.String(), func(t *testing.T) {
			roundTrip(t, mqtt.Config{Broker: b.URL, Version: v})
		})
	}
}

// TestWebSocketTLSMochi: a round trip over wss:// to Mochi's WebSocket
// listener with a certificate from a CA made here, by IP address and by
// name (ServerName defaults to the URL's host either way).
func TestWebSocketTLSMochi(t *testing.T) {
	ca := certtest.NewCA(t, "Tern wss CA")
	srv := ca.Server(t)
	b := brokertest.MochiWebSocket(t, &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}})
	port := portOf(t, b.URL)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			roundTrip(t, mqtt.Config{
				Broker:    fmt.Sprintf("wss://%s:%s/mqtt", host, port),
				TLSConfig: &tls.Config{RootCAs: ca.Pool()},
			})
		})
	}
	t.Run("unknown CA", func(t *testing.T) {
		other := certtest.NewCA(t, "another CA")
		_, err := mqtt.Dial(ctxT(t), mqtt.Config{Broker: b.URL, TLSConfig: &tls.Config{RootCAs: other.Pool()}})
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Dial with the wrong roots: %v, want a certificate error", err)
		}
	})
}

// TestWebSocketLargeMessage: a message far larger than a WebSocket
// library's default message size limit (32 KiB for coder/websocket) goes
// and comes back whole; the broker sends it as one WebSocket message.
func TestWebSocketLargeMessage(t *testing.T) {
	b := brokertest.MochiWebSocket(t, nil)
	ctx := ctxT(t)
	c, err := mqtt.Dial(ctx, mqtt.Config{Broker: b.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := make(chan *mqtt.Message, 1)
	if _, err := c.Subscribe(ctx, func(m *mqtt.Message) { in <- m }, mqtt.Subscription{Filter: "big", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := c.Publish(ctx, &mqtt.Message{Topic: "big", QoS: 1, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-in:
		if !bytes.Equal(m.Payload, payload) {
			t.Fatalf("received %d bytes, want the %d sent", len(m.Payload), len(payload))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the large message did not come back")
	}
}

// wsFront is a WebSocket server of its own in front of a broker's TCP
// listener. Towards the client it regroups the broker's bytes into
// WebSocket messages that do not follow packet boundaries: whole batches
// of packets in one message, one byte per message, and odd sizes between.
// It records what it saw of each connection.
type wsFront struct {
	broker   string   // the broker's TCP address
	protos   []string // the subprotocols it accepts
	minBatch int      // packets gathered before a flush (or 20 ms)

	mu    sync.Mutex
	conns []*wsSeen
}

// wsSeen is what the front saw of one connection.
type wsSeen struct {
	path, query string
	header      http.Header
	offered     string // Sec-WebSocket-Protocol
	chosen      string

	mu            sync.Mutex
	clientTypes   map[websocket.MessageType]int
	fromClient    bytes.Buffer // every byte the client sent
	toClientMsgs  int          // messages sent to the client
	multiPacket   int          // of those, holding two whole packets or more
	splitPackets  int          // packets spread over several messages
	toClientBytes int
}

func (f *wsFront) seen() []*wsSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*wsSeen(nil), f.conns...)
}

func (f *wsFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := &wsSeen{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(),
		offered: r.Header.Get("Sec-WebSocket-Protocol"), clientTypes: map[websocket.MessageType]int{}}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: f.protos})
	if err != nil {
		return
	}
	s.chosen = c.Subprotocol()
	f.mu.Lock()
	f.conns = append(f.conns, s)
	f.mu.Unlock()
	defer c.CloseNow()
	c.SetReadLimit(-1)
	bc, err := net.Dial("tcp", f.broker)
	if err != nil {
		c.Close(websocket.StatusInternalError, "no broker")
		return
	}
	defer bc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // client to broker, as it comes
		defer cancel()
		defer bc.Close()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.clientTypes[typ]++
			s.fromClient.Write(data)
			s.mu.Unlock()
			if _, err := bc.Write(data); err != nil {
				return
			}
		}
	}()
	// Broker to client, regrouped.
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 4096)
			n, err := bc.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var pending []byte
	var flushAt <-chan time.Time
	mode := 0
	for {
		select {
		case b, ok := <-chunks:
			if !ok {
				return
			}
			pending = append(pending, b...)
			if flushAt == nil {
				flushAt = time.After(20 * time.Millisecond)
			}
			if lens := packetLens(pending); len(lens) < f.minBatch {
				continue
			}
		case <-flushAt:
		case <-ctx.Done():
			return
		}
		lens := packetLens(pending)
		if len(lens) == 0 {
			continue // wait for a whole packet
		}
		flushAt = nil
		n := 0
		for _, l := range lens {
			n += l
		}
		if err := s.send(ctx, c, pending[:n], lens, mode); err != nil {
			return
		}
		mode = (mode + 1) % 3
		pending = append([]byte(nil), pending[n:]...)
		if len(pending) > 0 {
			flushAt = time.After(20 * time.Millisecond)
		}
	}
}

// send writes batch, whole packets of the lengths lens, to the client in
// messages: mode 0 all in one, mode 1 one byte each, mode 2 in sizes
// 1, 2, 3, 5, 8, 13... It counts messages holding several packets and
// packets spread over several messages.
func (s *wsSeen) send(ctx context.Context, c *websocket.Conn, batch []byte, lens []int, mode int) error {
	var sizes []int
	switch mode {
	case 0:
		sizes = []int{len(batch)}
	case 1:
		for range batch {
			sizes = append(sizes, 1)
		}
	case 2:
		a, b := 1, 2
		for rest := len(batch); rest > 0; a, b = b, a+b {
			n := min(a, rest)
			sizes = append(sizes, n)
			rest -= n
		}
	}
	// Packet p occupies [start[p], start[p]+lens[p]).
	var starts []int
	off := 0
	for _, l := range lens {
		starts = append(starts, off)
		off += l
	}
	off = 0
	for _, n := range sizes {
		whole := 0
		for p, st := range starts {
			if st >= off && st+lens[p] <= off+n {
				whole++
			}
		}
		if err := c.Write(ctx, websocket.MessageBinary, batch[off:off+n]); err != nil {
			return err
		}
		s.mu.Lock()
		s.toClientMsgs++
		s.toClientBytes += n
		if whole >= 2 {
			s.multiPacket++
		}
		s.mu.Unlock()
		off += n
	}
	split := 0
	for p, st := range starts {
		// The packet is split if a message boundary falls inside it.
		b := 0
		for _, n := range sizes {
			b += n
			if b > st && b < st+lens[p] {
				split++
				break
			}
		}
	}
	s.mu.Lock()
	s.splitPackets += split
	s.mu.Unlock()
	return nil
}

// packetLens returns the lengths of the whole MQTT packets at the start of
// b: a type byte, the Remaining Length (a variable byte integer, MQTT
// 1.5.5), and that many bytes.
func packetLens(b []byte) []int {
	var lens []int
	for len(b) > 0 {
		rem, mul, i := 0, 1, 1
		for {
			if i >= len(b) || i > 4 {
				return lens
			}
			rem += int(b[i]&0x7f) * mul
			mul <<= 7
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
		n := i + rem
		if n > len(b) {
			return lens
		}
		lens = append(lens, n)
		b = b[n:]
	}
	return lens
}

// TestWebSocketFraming: through a WebSocket server of its own in front of
// Mochi that splits the broker's packets over several messages and sends
// several packets in one message, the client subscribes, receives a burst
// of messages in order, and publishes. The server checks what the client
// sent: the subprotocol offered, the path and query, the custom headers,
// binary messages only.
func TestWebSocketFraming(t *testing.T) {
	b := brokertest.Mochi(t)
	front := &wsFront{broker: mustURL(t, b.URL).Host, protos: []string{"mqtt"}, minBatch: 3}
	hs := httptest.NewServer(front)
	t.Cleanup(hs.Close)
	wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/custom/path?token=abc"
	ctx := ctxT(t)

	header := http.Header{}
	header.Set("X-Tern-Test", "framing")
	header.Set("Authorization", "Bearer not-a-secret")
	d := &transport.Dialer{WebSocket: transport.WebSocketOptions{Header: header}}
	c, err := mqtt.Dial(ctx, mqtt.Config{Broker: wsURL, Dialer: d, Version: packet.V5})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 500
	in := make(chan *mqtt.Message, n+10)
	if _, err := c.Subscribe(ctx, func(m *mqtt.Message) { in <- m }, mqtt.Subscription{Filter: "burst/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	// Another client, on TCP, publishes a burst: the broker sends it on
	// as fast as it can, so the front gets many packets at once.
	pub, err := mqtt.Dial(ctx, mqtt.Config{Broker: b.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var comps []*mqtt.Completion
	for i := range n {
		comps = append(comps, pub.PublishAsync(&mqtt.Message{Topic: "burst/a", QoS: mqtt.QoS(i % 2), Payload: []byte(fmt.Sprintf("message %d", i))}))
	}
	for _, cp := range comps {
		select {
		case <-cp.Done():
			if err := cp.Err(); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("the burst was not published")
		}
	}
	for i := range n {
		select {
		case m := <-in:
			if want := fmt.Sprintf("message %d", i); string(m.Payload) != want {
				t.Fatalf("received %q, want %q", m.Payload, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d messages", i, n)
		}
	}
	// The client publishes through the front; the TCP client receives.
	back := make(chan *mqtt.Message, 1)
	if _, err := pub.Subscribe(ctx, func(m *mqtt.Message) { back <- m }, mqtt.Subscription{Filter: "back", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	for q := range mqtt.QoS(3) {
		if err := c.Publish(ctx, &mqtt.Message{Topic: "back", QoS: q, Payload: []byte("from ws")}); err != nil {
			t.Fatalf("Publish QoS %d: %v", q, err)
		}
		select {
		case m := <-back:
			if string(m.Payload) != "from ws" {
				t.Fatalf("received %q", m.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the QoS %d message from the WebSocket client did not arrive", q)
		}
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}

	seen := front.seen()
	if len(seen) != 1 {
		t.Fatalf("the front saw %d connections, want 1", len(seen))
	}
	s := seen[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "/custom/path" || s.query != "token=abc" {
		t.Errorf("the handshake asked for %q?%q, want /custom/path?token=abc", s.path, s.query)
	}
	if s.offered != "mqtt" || s.chosen != "mqtt" {
		t.Errorf("subprotocol offered %q, chosen %q; want mqtt", s.offered, s.chosen)
	}
	if got := s.header.Get("X-Tern-Test"); got != "framing" {
		t.Errorf("X-Tern-Test: %q, want framing", got)
	}
	if got := s.header.Get("Authorization"); got != "Bearer not-a-secret" {
		t.Errorf("Authorization: %q", got)
	}
	if len(s.clientTypes) != 1 || s.clientTypes[websocket.MessageBinary] == 0 {
		t.Errorf("the client sent messages of types %v, want binary only", s.clientTypes)
	}
	// What the client sent is whole packets, end to end.
	lens := packetLens(s.fromClient.Bytes())
	total := 0
	for _, l := range lens {
		total += l
	}
	if total != s.fromClient.Len() {
		t.Errorf("the client's %d bytes hold whole packets for only %d", s.fromClient.Len(), total)
	}
	t.Logf("to the client: %d bytes in %d messages, %d of them holding several packets, %d packets split; from the client: %d packets in %d messages",
		s.toClientBytes, s.toClientMsgs, s.multiPacket, s.splitPackets, len(lens), s.clientTypes[websocket.MessageBinary])
	if s.multiPacket == 0 || s.splitPackets == 0 {
		t.Errorf("the front sent %d messages holding several packets and split %d packets: the test did not test framing", s.multiPacket, s.splitPackets)
	}
}

// TestWebSocketHandshake: the default path is /mqtt; Subprotocols
// replaces "mqtt"; a server that chooses no subprotocol is tolerated.
func TestWebSocketHandshake(t *testing.T) {
	b := brokertest.Mochi(t)
	for _, tc := range []struct {
		name    string
		accept  []string // the front's subprotocols
		offer   []string // WebSocketOptions.Subprotocols
		path    string   // of the URL
		offered string   // Sec-WebSocket-Protocol the front must see
		want    string   // the path the front must see
	}{
		{name: "default path", accept: []string{"mqtt"}, path: "", offered: "mqtt", want: "/mqtt"},
		{name: "root path", accept: []string{"mqtt"}, path: "/", offered: "mqtt", want: "/"},
		{name: "mqttv3.1", accept: []string{"mqttv3.1"}, offer: []string{"mqttv3.1"}, path: "/ws", offered: "mqttv3.1", want: "/ws"},
		{name: "no subprotocol chosen", accept: nil, path: "/mqtt", offered: "mqtt", want: "/mqtt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := &wsFront{broker: mustURL(t, b.URL).Host, protos: tc.accept, minBatch: 1}
			hs := httptest.NewServer(front)
			t.Cleanup(hs.Close)
			d := &transport.Dialer{WebSocket: transport.WebSocketOptions{Subprotocols: tc.offer}}
			roundTrip(t, mqtt.Config{Broker: "ws" + strings.TrimPrefix(hs.URL, "http") + tc.path, Dialer: d})
			seen := front.seen()
			if len(seen) != 1 {
				t.Fatalf("%d connections", len(seen))
			}
			if seen[0].path != tc.want || seen[0].offered != tc.offered {
				t.Errorf("the front saw path %q, subprotocols %q; want %q, %q", seen[0].path, seen[0].offered, tc.want, tc.offered)
			}
		})
	}
}
