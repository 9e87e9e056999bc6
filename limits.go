package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ternmq/mqtt/packet"
)

// ErrLimit: an operation, or the Config, is over Config.Limits; nothing was
// sent.
var ErrLimit = errors.New("mqtt: over the broker's limits")

// Limits are a broker's documented limits beyond what MQTT negotiates, such
// as AWS IoT Core's (see the package cloud/aws). With Config.Limits set,
// what goes over them is refused before anything is sent, with an error
// wrapping ErrLimit, instead of the broker closing the connection on it:
// Dial checks the client identifier, keep alive and Will; Publish,
// Subscribe and Unsubscribe check topics, filters, payloads and QoS. A zero
// field is no limit.
type Limits struct {
	// MaxTopicBytes bounds the length of topic names and filters, in
	// bytes of UTF-8.
	MaxTopicBytes int
	// MaxTopicLevels bounds the levels of topic names and filters ("a/b/c"
	// has 3, that is 2 slashes).
	MaxTopicLevels int
	// MaxPayloadBytes bounds a message's payload.
	MaxPayloadBytes int
	// MaxClientIDBytes bounds Config.ClientID (or the one made from
	// ClientIDPrefix).
	MaxClientIDBytes int
	// MinKeepAlive and MaxKeepAlive bound Config.KeepAlive; with
	// MinKeepAlive set, keep alive cannot be off.
	MinKeepAlive, MaxKeepAlive time.Duration
	// MaxQoS is the highest QoS of publishes, subscriptions and the Will.
	// If zero, no limit (a broker that takes QoS 0 only says so itself, in
	// CONNACK's Maximum QoS, in MQTT 5.0).
	MaxQoS packet.QoS
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}

// checkTopic checks a topic name or filter; what names it ("topic",
// "filter").
func (l *Limits) checkTopic(what, t string) error {
	if l.MaxTopicBytes > 0 && len(t) > l.MaxTopicBytes {
		return limitErr("%s of %d bytes is over %d", what, len(t), l.MaxTopicBytes)
	}
	if n := strings.Count(t, "/") + 1; l.MaxTopicLevels > 0 && n > l.MaxTopicLevels {
		return limitErr("%s %q has %d levels, over %d", what, t, n, l.MaxTopicLevels)
	}
	return nil
}

func (l *Limits) checkQoS(what string, q packet.QoS) error {
	if l.MaxQoS > 0 && q > l.MaxQoS {
		return limitErr("%s QoS %d is over %d", what, q, l.MaxQoS)
	}
	return nil
}

// checkMessage checks a message to publish, or the Will; what names it.
func (l *Limits) checkMessage(what string, m *Message) error {
	if m.Topic != "" {
		if err := l.checkTopic(what+" topic", m.Topic); err != nil {
			return err
		}
	}
	if l.MaxPayloadBytes > 0 && len(m.Payload) > l.MaxPayloadBytes {
		return limitErr("%s payload of %d bytes is over %d", what, len(m.Payload), l.MaxPayloadBytes)
	}
	return l.checkQoS(what, m.QoS)
}

// checkConfig checks what Dial sends in CONNECT.
func (l *Limits) checkConfig(s *settings) error {
	if id := s.clientID(s.Version, s.idTime); l.MaxClientIDBytes > 0 && len(id) > l.MaxClientIDBytes {
		return limitErr("client ID of %d bytes is over %d", len(id), l.MaxClientIDBytes)
	}
	ka := time.Duration(s.keepAlive) * time.Second
	if l.MinKeepAlive > 0 && ka < l.MinKeepAlive {
		return limitErr("keep alive %v is under %v", ka, l.MinKeepAlive)
	}
	if l.MaxKeepAlive > 0 && ka > l.MaxKeepAlive {
		return limitErr("keep alive %v is over %v", ka, l.MaxKeepAlive)
	}
	if s.Will != nil {
		return l.checkMessage("Will", s.Will)
	}
	return nil
}
