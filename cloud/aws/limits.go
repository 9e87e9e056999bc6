package aws

import (
	"time"

	"github.com/ternmq/mqtt"
)

// Limits returns AWS IoT Core's message broker limits that a client can
// check by itself (AWS General Reference, "AWS IoT Core endpoints and
// quotas", message broker and protocol limits), for mqtt.Config.Limits:
//
//	topic names and filters    at most 256 bytes and 8 levels (7 slashes)
//	client ID                  at most 128 bytes
//	payload                    at most 128 KiB
//	keep alive                 30 to 1200 seconds
//	QoS                        at most 1, to publish and to subscribe
//
// With them, a publish, subscribe or connection over these limits fails
// with an error wrapping mqtt.ErrLimit before anything is sent, instead of
// AWS IoT Core dropping the connection. AWS IoT Core's other quotas
// (requests per second, subscriptions per connection) are the account's,
// and are not checked. Topics of Basic Ingest ($aws/rules/rule-name/...)
// may have 7 slashes after that prefix, but the check counts the prefix's
// too. Each call returns a new Limits, which the caller may change.
func Limits() *mqtt.Limits {
	return &mqtt.Limits{
		MaxTopicBytes:    256,
		MaxTopicLevels:   8,
		MaxPayloadBytes:  128 << 10,
		MaxClientIDBytes: 128,
		MinKeepAlive:     30 * time.Second,
		MaxKeepAlive:     1200 * time.Second,
		MaxQoS:           mqtt.QoS1,
	}
}
