package mqtt

import "github.com/ternmq/mqtt/packet"

// QoS is a quality of service level: QoS0, QoS1 or QoS2.
type QoS = packet.QoS

// Quality of service levels.
const (
	QoS0 = packet.QoS0 // at most once
	QoS1 = packet.QoS1 // at least once
	QoS2 = packet.QoS2 // exactly once
)

// Message is an application message, published or received.
//
// A message given to Publish must not be changed until Publish returns (or
// its Completion is done). A received message belongs to the handler it is
// given to; it may be kept.
type Message struct {
	Topic   string
	Payload []byte
	QoS     QoS
	Retain  bool
	// Properties are the MQTT 5.0 PUBLISH properties (ignored in 3.x). On a
	// received message the Topic Alias is resolved and Topic is always set.
	Properties packet.Properties

	// Dup and PacketID are set on received messages: Dup tells that the
	// broker may have sent the message before (MQTT-3.3.1-1).
	Dup      bool
	PacketID uint16
}

// Handler handles received messages. It runs on the client's dispatcher
// goroutine, one message at a time, in the order messages arrived; it may
// call any method of the Client, including Publish waiting for its
// acknowledgement. A QoS 1 or 2 message is acknowledged to the broker when
// its handler returns.
type Handler func(*Message)

// Subscription is one topic filter of a Subscribe with its options: the
// maximum QoS and, in MQTT 5.0, No Local, Retain As Published and Retain
// Handling (section 3.8.3.1).
type Subscription = packet.Subscription

// SubResult is the broker's answer for one filter of a Subscribe or
// Unsubscribe: in SUBACK, the granted QoS (0x00-0x02) or a failure code
// (0x80 and above); in an MQTT 5.0 UNSUBACK, Success, No subscription
// existed, or a failure. In MQTT 3.x UNSUBACK carries no codes and every
// filter reports Success.
type SubResult struct {
	Filter string
	Code   packet.ReasonCode
}

// OK reports whether the filter was accepted.
func (r SubResult) OK() bool { return !r.Code.IsError() }

// SubscribeError reports a Subscribe or Unsubscribe the broker answered
// but refused for at least one filter. Results holds every filter's result,
// the accepted ones too: their handlers are in place.
type SubscribeError struct {
	Packet  packet.Type // SUBACK or UNSUBACK
	Results []SubResult
	// ReasonString is the MQTT 5.0 Reason String of the acknowledgement.
	ReasonString string
}

// Error names the refused filters and the first refusal's reason.
func (e *SubscribeError) Error() string {
	n := 0
	first := SubResult{}
	for _, r := range e.Results {
		if !r.OK() {
			if n == 0 {
				first = r
			}
			n++
		}
	}
	s := "mqtt: " + e.Packet.String() + " refused "
	if n == 1 {
		s += "filter " + first.Filter
	} else {
		s += itoa(n) + " filters, the first " + first.Filter
	}
	s += ": " + first.Code.Name(e.Packet)
	if e.ReasonString != "" {
		s += ": " + e.ReasonString
	}
	return s
}
