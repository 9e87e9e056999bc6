package mqtt

import (
	"errors"
	"strconv"

	"github.com/ternmq/mqtt/packet"
)

// Sentinel errors. The end of a connection is reported as an error that
// errors.Is one of ErrConnectionLost, ErrPingTimeout, ErrBadPacket,
// ErrWriteTimeout or ErrClosed, or as a *DisconnectError from the server;
// it also wraps the underlying error (a net.Error, a *packet.Error).
var (
	// ErrClosed: the client was closed by Close or Disconnect.
	ErrClosed = errors.New("mqtt: client closed")
	// ErrNotConnected: the client has no connection.
	ErrNotConnected = errors.New("mqtt: not connected")
	// ErrConnectionLost: the network connection failed (read or write
	// error, EOF, reset): the network is down or the broker went away.
	ErrConnectionLost = errors.New("mqtt: connection lost")
	// ErrPingTimeout: the broker did not answer a PINGREQ, nor send
	// anything else, within the ping timeout.
	ErrPingTimeout = errors.New("mqtt: broker silent: no answer to PINGREQ")
	// ErrBadPacket: the broker sent a malformed packet or broke the
	// protocol; the client answered with DISCONNECT (MQTT 5.0) and closed.
	// The error wraps a *packet.Error with the reason code.
	ErrBadPacket = errors.New("mqtt: bad packet from the broker")
	// ErrWriteTimeout: a write to the network did not finish within the
	// write timeout.
	ErrWriteTimeout = errors.New("mqtt: write timed out")
	// ErrConnackTimeout: no CONNACK arrived within the connect timeout.
	ErrConnackTimeout = errors.New("mqtt: no CONNACK within the connect timeout")
	// ErrAuth: the client could not answer the broker's authentication
	// challenge during a re-authentication (Config.Authenticate failed or
	// is nil), and ended the connection.
	ErrAuth = errors.New("mqtt: re-authentication failed")
	// ErrRetryLimit: an operation saw Config.MaxRetries connections end
	// before its answer came, and its caller stopped waiting. The error
	// also wraps the last connection's end. A QoS 1 or 2 publish stays in
	// the session and may still be delivered; see Config.MaxRetries.
	ErrRetryLimit = errors.New("mqtt: gave up waiting after Config.MaxRetries connections ended")
)

// ReasonCodeError reports an operation the broker refused with a reason
// code: a CONNACK refusal, a PUBACK or PUBREC with an error code (MQTT 5.0),
// a refused SUBSCRIBE or UNSUBSCRIBE filter.
type ReasonCodeError struct {
	Packet          packet.Type       // the packet that carried the code
	Code            packet.ReasonCode // for MQTT 3.x CONNACK, the 5.0 counterpart of the return code
	ReasonString    string            // MQTT 5.0 Reason String, if the broker sent one
	ServerReference string            // MQTT 5.0 Server Reference (CONNACK 0x9C, 0x9D)
	UserProperties  []packet.UserProperty
}

// Error names the packet, the code and its meaning, and the broker's
// Reason String.
func (e *ReasonCodeError) Error() string {
	s := "mqtt: " + e.Packet.String() + " " + e.Code.Name(e.Packet) + " (0x" + strconv.FormatUint(uint64(e.Code), 16) + ")"
	if e.ReasonString != "" {
		s += ": " + e.ReasonString
	}
	return s
}

// DisconnectError reports a connection that the server ended with a
// DISCONNECT packet (MQTT 5.0 section 3.14).
type DisconnectError struct {
	Remote          bool // true: the server sent the DISCONNECT
	Code            packet.ReasonCode
	ReasonString    string
	ServerReference string
	UserProperties  []packet.UserProperty
}

// Error names the reason code and gives the server's Reason String.
func (e *DisconnectError) Error() string {
	s := "mqtt: server sent DISCONNECT " + e.Code.Name(packet.TypeDisconnect) + " (0x" + strconv.FormatUint(uint64(e.Code), 16) + ")"
	if e.ReasonString != "" {
		s += ": " + e.ReasonString
	}
	return s
}

// endError is why a connection ended: one of the sentinels above, with the
// error that showed it.
type endError struct {
	kind error
	err  error
}

func (e *endError) Error() string {
	if e.err == nil {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.err.Error()
}

func (e *endError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

func ended(kind, err error) error { return &endError{kind: kind, err: err} }
