package mqtt

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/faultproxy"
)

// losePubcomp is a Mochi hook that loses the first PUBCOMP the broker
// sends, as a connection that breaks right after the broker completed a
// QoS 2 exchange does: the broker has released the message and forgotten
// its packet identifier, and the client never hears so. (The PUBCOMP is
// replaced by a PINGRESP, which the client ignores.)
type losePubcomp struct {
	mochi.HookBase
	lost atomic.Bool
	done chan struct{} // closed when the broker has completed the exchange
}

func (h *losePubcomp) ID() string { return "lose-pubcomp" }

func (h *losePubcomp) Provides(b byte) bool {
	return b == mochi.OnPacketEncode || b == mochi.OnQosComplete
}

func (h *losePubcomp) OnPacketEncode(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Pubcomp && h.lost.CompareAndSwap(false, true) {
		return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingresp}}
	}
	return pk
}

func (h *losePubcomp) OnQosComplete(cl *mochi.Client, pk packets.Packet) {
	if pk.FixedHeader.Type == packets.Pubrel && h.lost.Load() {
		select {
		case <-h.done:
		default:
			close(h.done)
		}
	}
}

// TestResentPubrelNotFound: the broker completed a QoS 2 exchange, and the
// connection broke before its PUBCOMP arrived. On the resumed session the
// client resends PUBREL (MQTT-4.4.0-1), and the broker, which no longer
// knows the packet identifier, answers PUBCOMP "Packet Identifier not
// found" (0x92 in MQTT 5.0), which "is not an error during recovery"
// (MQTT 5.0 section 3.7.2.1, Table 3-7): the broker took the message with
// its PUBREC (MQTT-4.3.3-8), so the Publish succeeds.
func TestResentPubrelNotFound(t *testing.T) {
	noLeaks(t)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			h := &losePubcomp{done: make(chan struct{})}
			b := brokertest.Mochi(t, h)
			px := faultproxy.New(t, strings.TrimPrefix(b.URL, "mqtt://"))
			ev := newEvents()
			c := dial(t, Config{Broker: px.URL(), Version: v, ClientID: "resent-pubrel-" + v.String(),
				Persistent: true, SessionExpiry: time.Hour, Reconnect: true, Backoff: fastBackoff, OnEvent: ev.on})
			comp := c.PublishAsync(&Message{Topic: "pubcomp", QoS: QoS2, Payload: []byte("once")})
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the broker did not complete the exchange")
			}
			px.Cut()
			ev.waitFor(t, EventDisconnected)
			if e := ev.waitFor(t, EventConnected); !e.Negotiated.SessionPresent {
				t.Fatal("no session present on reconnecting")
			}
			if err := comp.Wait(ctxT(t)); err != nil {
				t.Fatalf("publish: %v", err)
			}
		})
	}
}
