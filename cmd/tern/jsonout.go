package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ternmq/mqtt"
)

// jsonMessage is one line of --json: the message's fields, every MQTT 5.0
// property it carries, and its payload as text when it is UTF-8, else in
// base64 under payload_base64 (so binary data is never an empty string).
type jsonMessage struct {
	Time                  string             `json:"time"` // RFC 3339, nanoseconds
	Topic                 string             `json:"topic"`
	QoS                   byte               `json:"qos"`
	Retain                bool               `json:"retain"`
	Dup                   bool               `json:"dup,omitempty"`
	PacketID              uint16             `json:"packet_id,omitempty"`
	PayloadFormat         *byte              `json:"payload_format_indicator,omitempty"`
	MessageExpiry         *uint32            `json:"message_expiry_interval,omitempty"`
	ContentType           string             `json:"content_type,omitempty"`
	ResponseTopic         string             `json:"response_topic,omitempty"`
	CorrelationData       *string            `json:"correlation_data,omitempty"`
	CorrelationDataBase64 *string            `json:"correlation_data_base64,omitempty"`
	TopicAlias            uint16             `json:"topic_alias,omitempty"`
	SubscriptionIDs       []uint32           `json:"subscription_identifiers,omitempty"`
	UserProperties        []jsonUserProperty `json:"user_properties,omitempty"`
	Payload               *string            `json:"payload,omitempty"`
	PayloadBase64         *string            `json:"payload_base64,omitempty"`
}

// jsonUserProperty is one User Property; a list keeps their order and
// repeated names.
type jsonUserProperty struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// textOrBase64 returns b as text if it is UTF-8, else in base64.
func textOrBase64(b []byte) (text, b64 *string) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

// appendJSONLine appends m, received at t, as one --json line.
func appendJSONLine(dst []byte, m *mqtt.Message, t time.Time) []byte {
	p := &m.Properties
	j := jsonMessage{
		Time: t.Format(time.RFC3339Nano), Topic: m.Topic, QoS: byte(m.QoS), Retain: m.Retain, Dup: m.Dup,
		PacketID: m.PacketID, MessageExpiry: p.MessageExpiryInterval, ContentType: p.ContentType,
		ResponseTopic: p.ResponseTopic, TopicAlias: p.TopicAlias, SubscriptionIDs: p.SubscriptionIDs,
	}
	if p.PayloadFormat != 0 {
		j.PayloadFormat = &p.PayloadFormat
	}
	if p.CorrelationData != nil {
		j.CorrelationData, j.CorrelationDataBase64 = textOrBase64(p.CorrelationData)
	}
	for _, u := range p.User {
		j.UserProperties = append(j.UserProperties, jsonUserProperty{u.Key, u.Value})
	}
	j.Payload, j.PayloadBase64 = textOrBase64(m.Payload)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(j) // cannot fail: strings, numbers and slices of them
	return append(dst, b.Bytes()...)
}

// appendMosquittoJSON appends m as mosquitto_sub's %j (raw false) or %J
// (raw true) does: {"tst":..., "topic":..., "qos":..., "retain":...,
// "payloadlen":..., "properties":{...}, "payload":...}. %J puts the payload
// in as it is, and fails (ok false) when it is not JSON. Unlike mosquitto,
// %j gives a payload that is not UTF-8 in base64, as "payload_base64".
func appendMosquittoJSON(dst []byte, m *mqtt.Message, t time.Time, raw, pretty bool) (_ []byte, ok bool) {
	if raw && !json.Valid(m.Payload) {
		return dst, false
	}
	b := []byte(`{"tst":`)
	b = appendJSONString(b, t.Format("2006-01-02T15:04:05.000000-0700"))
	b = append(b, `,"topic":`...)
	b = appendJSONString(b, m.Topic)
	b = append(b, `,"qos":`...)
	b = strconv.AppendInt(b, int64(m.QoS), 10)
	b = append(b, `,"retain":`...)
	b = strconv.AppendInt(b, int64(b2i(m.Retain)), 10)
	b = append(b, `,"payloadlen":`...)
	b = strconv.AppendInt(b, int64(len(m.Payload)), 10)
	if props := mosquittoJSONProperties(m); props != nil {
		b = append(b, `,"properties":`...)
		b = append(b, props...)
	}
	switch {
	case raw:
		b = append(b, `,"payload":`...)
		b = append(b, bytes.TrimSpace(m.Payload)...)
	case utf8.Valid(m.Payload):
		b = append(b, `,"payload":`...)
		b = appendJSONString(b, string(m.Payload))
	default:
		b = append(b, `,"payload_base64":`...)
		b = appendJSONString(b, base64.StdEncoding.EncodeToString(m.Payload))
	}
	b = append(b, '}')
	if pretty {
		var out bytes.Buffer
		if json.Indent(&out, b, "", "\t") == nil {
			b = out.Bytes()
		}
	}
	return append(dst, b...), true
}

// mosquittoJSONProperties returns the "properties" object of %j, nil if
// the message has no MQTT 5.0 property.
func mosquittoJSONProperties(m *mqtt.Message) []byte {
	p := &m.Properties
	var b []byte
	field := func(name string) {
		if b == nil {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
	}
	if len(p.User) > 0 {
		field("user-properties")
		b = append(b, '{')
		for i, u := range p.User {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, u.Key)
			b = append(b, ':')
			b = appendJSONString(b, u.Value)
		}
		b = append(b, '}')
	}
	if p.ContentType != "" {
		field("content-type")
		b = appendJSONString(b, p.ContentType)
	}
	if p.CorrelationData != nil {
		field("correlation-data")
		b = appendJSONString(b, string(p.CorrelationData))
	}
	if p.ResponseTopic != "" {
		field("response-topic")
		b = appendJSONString(b, p.ResponseTopic)
	}
	if p.PayloadFormat != 0 {
		field("payload-format-indicator")
		b = strconv.AppendInt(b, int64(p.PayloadFormat), 10)
	}
	if p.MessageExpiryInterval != nil {
		field("message-expiry-interval")
		b = strconv.AppendUint(b, uint64(*p.MessageExpiryInterval), 10)
	}
	if p.TopicAlias != 0 {
		field("topic-alias")
		b = strconv.AppendUint(b, uint64(p.TopicAlias), 10)
	}
	switch ids := p.SubscriptionIDs; len(ids) {
	case 0:
	case 1:
		field("subscription-identifier")
		b = strconv.AppendUint(b, uint64(ids[0]), 10)
	default:
		field("subscription-identifier")
		for i, id := range ids {
			b = append(b, ",["[b2i(i == 0)])
			b = strconv.AppendUint(b, uint64(id), 10)
		}
		b = append(b, ']')
	}
	if b != nil {
		b = append(b, '}')
	}
	return b
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8
// become U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}
