package packet

import "strings"

// Error reports a packet that may not be decoded or encoded. Code is the
// reason code a receiver answers with (in a DISCONNECT or CONNACK, MQTT 5.0
// section 4.13): usually [ReasonMalformedPacket] or [ReasonProtocolError].
//
// Errors from encoding carry the code the packet would earn if it were sent.
// Use errors.Is with [ErrMalformed], [ErrProtocol], [ErrTooLarge] or
// [ErrTopicAlias] to test the code.
type Error struct {
	Code   ReasonCode // what the receiver answers with
	Packet Type       // the packet concerned; 0 when not known yet
	Encode bool       // true when the error comes from encoding
	Reason string     // what is wrong, in words
	Err    error      // the underlying cause, if any (a *topic.Error)
}

// Error describes the problem, starting "mqtt: ".
func (e *Error) Error() string {
	s := "mqtt: "
	if e.Encode {
		s += "cannot encode "
		if e.Packet != 0 {
			s += e.Packet.String() + ": "
		}
	} else {
		switch e.Code {
		case ReasonMalformedPacket:
			s += "malformed packet"
		case ReasonProtocolError:
			s += "protocol error"
		default:
			s += e.Code.String()
		}
		if e.Packet != 0 {
			s += " in " + e.Packet.String()
		}
		s += ": "
	}
	return s + e.Reason
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrMalformed) holds for every malformed-packet error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Reason == ""
}

// Unwrap returns the underlying cause, so that errors.Is(err,
// topic.ErrWildcard) holds for an encoding refused for a wildcard topic.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels for errors.Is; they match any *Error with their code.
var (
	ErrMalformed  error = &Error{Code: ReasonMalformedPacket}
	ErrProtocol   error = &Error{Code: ReasonProtocolError}
	ErrTooLarge   error = &Error{Code: ReasonPacketTooLarge}
	ErrTopicAlias error = &Error{Code: ReasonTopicAliasInvalid}
)

func malformed(t Type, reason string) *Error {
	return &Error{Code: ReasonMalformedPacket, Packet: t, Reason: reason}
}

func protocolErr(t Type, reason string) *Error {
	return &Error{Code: ReasonProtocolError, Packet: t, Reason: reason}
}

func encodeErr(t Type, code ReasonCode, reason string) *Error {
	return &Error{Code: code, Packet: t, Encode: true, Reason: reason}
}

// topicError returns an *Error for a topic name or filter that package
// topic refused, wrapping its error.
func topicError(code ReasonCode, t Type, encode bool, what string, err error) *Error {
	reason := strings.TrimPrefix(err.Error(), "mqtt: ")
	if what != "" {
		reason = what + ": " + reason
	}
	return &Error{Code: code, Packet: t, Encode: encode, Reason: reason, Err: err}
}
