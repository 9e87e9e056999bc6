// Package mqtt is Tern, an MQTT client for Go: MQTT 3.1, 3.1.1 and 5.0,
// QoS 0, 1 and 2 both ways, over TCP, TLS, WebSocket and proxies.
//
// The client itself is being built; the module's foundations are in place:
//
//   - [github.com/ternmq/mqtt/packet]: the wire codec for every control
//     packet of the three protocol versions, with MQTT 5.0 properties and
//     reason codes, validation of what a receiver must check, and a stream
//     reader with a maximum packet size.
//   - [github.com/ternmq/mqtt/topic]: validation of topic names and filters
//     (shared subscriptions included) and matching.
package mqtt
