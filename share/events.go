package share

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
)

// EventJSON is the payload of a message on EventsTopic: one event of the
// upstream connection a secondary uses.
type EventJSON struct {
	Connection     string `json:"connection"`                // the connection's name on the primary
	Kind           string `json:"kind"`                      // connected, disconnected, connecting, connect-failed, stopped
	Error          string `json:"error,omitempty"`           // disconnected, connect-failed: the cause in words
	Cause          string `json:"cause,omitempty"`           // the cause's class: see causes
	Attempt        int    `json:"attempt,omitempty"`         // connecting, connect-failed
	SessionPresent bool   `json:"session_present,omitempty"` // connected
}

// causes name the sentinel errors an event's error may wrap, so that a
// secondary's Event.Err answers errors.Is as the primary's did.
var causes = []struct {
	name string
	err  error
}{
	{"connection_lost", mqtt.ErrConnectionLost},
	{"ping_timeout", mqtt.ErrPingTimeout},
	{"bad_packet", mqtt.ErrBadPacket},
	{"write_timeout", mqtt.ErrWriteTimeout},
	{"connack_timeout", mqtt.ErrConnackTimeout},
	{"auth", mqtt.ErrAuth},
	{"closed", mqtt.ErrClosed},
	{"not_connected", mqtt.ErrNotConnected},
}

var kinds = map[mqtt.EventKind]string{
	mqtt.EventConnected:     "connected",
	mqtt.EventDisconnected:  "disconnected",
	mqtt.EventConnecting:    "connecting",
	mqtt.EventConnectFailed: "connect-failed",
	mqtt.EventStopped:       "stopped",
}

// encodeEvent makes the EventsTopic payload of e.
func encodeEvent(name string, e mqtt.Event) []byte {
	j := EventJSON{Connection: name, Kind: kinds[e.Kind], Attempt: e.Attempt}
	if j.Kind == "" {
		j.Kind = fmt.Sprint(uint8(e.Kind))
	}
	if e.Err != nil {
		j.Error = e.Err.Error()
		for _, c := range causes {
			if errors.Is(e.Err, c.err) {
				j.Cause = c.name
				break
			}
		}
		var de *mqtt.DisconnectError
		var rc *mqtt.ReasonCodeError
		if j.Cause == "" && errors.As(e.Err, &de) {
			j.Cause = fmt.Sprintf("disconnect:%d", de.Code)
		} else if j.Cause == "" && errors.As(e.Err, &rc) {
			j.Cause = fmt.Sprintf("refused:%d", rc.Code)
		}
	}
	if e.Negotiated != nil {
		j.SessionPresent = e.Negotiated.SessionPresent
	}
	b, _ := json.Marshal(j)
	return b
}

// decodeEvent turns an EventsTopic payload back into an Event. Err keeps
// the primary's text and wraps the sentinel of its cause; a broker's
// DISCONNECT or refusal becomes a *DisconnectError or *ReasonCodeError
// with its code.
func decodeEvent(b []byte) (mqtt.Event, bool) {
	var j EventJSON
	if json.Unmarshal(b, &j) != nil {
		return mqtt.Event{}, false
	}
	var e mqtt.Event
	for k, s := range kinds {
		if s == j.Kind {
			e.Kind = k
		}
	}
	if e.Kind == 0 {
		return e, false
	}
	e.Attempt = j.Attempt
	if e.Kind == mqtt.EventConnected {
		e.Negotiated = &mqtt.Negotiated{SessionPresent: j.SessionPresent}
	}
	if j.Error != "" {
		e.Err = remoteError{text: j.Error, cause: causeError(j.Cause)}
	}
	return e, true
}

func causeError(name string) error {
	for _, c := range causes {
		if c.name == name {
			return c.err
		}
	}
	var code uint8
	if _, err := fmt.Sscanf(name, "disconnect:%d", &code); err == nil {
		return &mqtt.DisconnectError{Remote: true, Code: packet.ReasonCode(code)}
	}
	if _, err := fmt.Sscanf(name, "refused:%d", &code); err == nil {
		return &mqtt.ReasonCodeError{Packet: packet.TypeConnack, Code: packet.ReasonCode(code)}
	}
	return nil
}

// remoteError is an error of the primary's upstream connection, as a
// secondary sees it.
type remoteError struct {
	text  string
	cause error
}

func (e remoteError) Error() string { return "share: upstream: " + e.text }
func (e remoteError) Unwrap() error { return e.cause }

// fanout publishes an event of u to the secondaries that subscribed to
// it. It runs on u's dispatcher and never blocks.
func (u *upstream) fanout(e mqtt.Event) {
	payload := encodeEvent(u.name, e)
	u.mu.Lock()
	u.last = payload
	var ss []*session
	for s, f := range u.events {
		if topic.Match(f, EventsTopic) {
			ss = append(ss, s)
		}
	}
	u.mu.Unlock()
	m := &mqtt.Message{Topic: EventsTopic, Payload: payload, QoS: 1}
	for _, s := range ss {
		s.deliver(m, 1)
	}
}

// sendState gives s, which just subscribed to filter, the state of u's
// connection at once, as a retained message on EventsTopic: the payload
// of the latest event, or one made from the client's State when the
// Server has seen none yet (the client connected before Add). It is sent
// under u.mu, so that a newer event fanned out meanwhile comes after it.
func (u *upstream) sendState(s *session, filter string) {
	if !topic.Match(filter, EventsTopic) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	payload := u.last
	if payload == nil {
		e := mqtt.Event{Kind: mqtt.EventStopped}
		switch u.c.State() {
		case mqtt.StateConnected:
			e = mqtt.Event{Kind: mqtt.EventConnected, Negotiated: u.c.Negotiated()}
		case mqtt.StateConnecting:
			e.Kind = mqtt.EventConnecting
		}
		payload = encodeEvent(u.name, e)
	}
	s.deliver(&mqtt.Message{Topic: EventsTopic, Payload: payload, QoS: 1, Retain: true}, 1)
}
