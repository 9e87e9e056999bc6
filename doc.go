// Package mqtt is Tern, an MQTT client for Go: MQTT 3.1, 3.1.1 and 5.0,
// QoS 0, 1 and 2 both ways.
//
// # Connecting
//
// [Dial] connects to the broker a [Config] names (mqtt://host:port over
// TCP, or any net.Conn a [Dialer] returns) and performs the CONNECT/CONNACK
// handshake: every CONNECT field, the Last Will, MQTT 5.0 properties and
// enhanced authentication, and, if asked, a fallback to older protocol
// versions. A refusal is a *[ReasonCodeError] with the CONNACK code. On
// success [Client.Negotiated] tells what the broker granted, and the client
// obeys it: a QoS above the broker's maximum, a retained message it cannot
// keep, a packet over its maximum size are refused before anything is sent.
//
// # Operations
//
// [Client.Publish], [Client.Subscribe], [Client.Unsubscribe] and
// [Client.Disconnect] are synchronous and bounded by their context: Publish
// returns when the message is written (QoS 0), acknowledged (QoS 1) or
// complete (QoS 2). [Client.PublishAsync] returns a [Completion] to wait or
// select on. The ...With forms carry the MQTT 5.0 fields of their packet.
// Every method is safe for concurrent use.
//
// Received messages go to the [Handler] of the subscription they match, on
// one dispatcher goroutine, one at a time, in the order they arrived; a
// handler may call any method of the client. A QoS 1 or 2 message is
// acknowledged when its handlers return, so a slow handler slows the broker
// (through its flow control) instead of filling memory; QoS 0 messages
// beyond Config.MaxUndelivered bytes are dropped and counted in
// [Client.Stats].
//
// # The end of a connection
//
// Every way a connection ends is reported once, as an [Event] to
// Config.OnEvent and as the error every waiting call returns; errors.Is
// tells the causes apart: [ErrConnectionLost], [ErrPingTimeout],
// [ErrBadPacket], [ErrWriteTimeout], [ErrAuth], a *[DisconnectError] from
// the server, [ErrClosed].
//
// # Staying connected
//
// With Config.Reconnect the client keeps itself connected until Close or
// Disconnect: after a connection ends it waits a delay from its [Backoff]
// schedule (exponential, with full or decorrelated jitter), tries the
// brokers of Config.Servers in turn, and calls Config.BeforeConnect before
// each attempt to refresh credentials. Each step is an [Event]
// (EventConnecting, EventConnected with the [Negotiated] settings and
// whether the session was resumed, EventConnectFailed, EventDisconnected
// with its cause, EventStopped), and [Client.State] is never stale.
//
// On a new connection the session resumes (MQTT 5.0 sections 4.1 and
// 4.4): with the broker's session present, unacknowledged PUBLISH packets
// are resent with DUP set and PUBREL packets resent, in their original
// order, and inbound QoS 2 state is kept, so nothing is delivered twice;
// without it, subscriptions are restored and the messages are sent again
// as new ones, in order. While disconnected, operations wait in a bounded
// queue by the Config.Offline policy; nothing is dropped silently: an
// operation the policy or the bounds refuse fails with an error
// ([ErrNotConnected], [ErrQueueFull]). Config.MaxRetries bounds how many
// connection ends a call waits through.
//
// # Surviving the end of the process
//
// With Config.Store ([github.com/ternmq/mqtt/store] on disk, or
// [NewMemoryStore]) the session also survives the process: a QoS 1 or 2
// message is recorded before it is sent or queued, and each packet
// identifier and PUBREL state durably before the packet that depends on
// it, so that a client killed at any instant and started again on the
// same Store (with the same ClientID and a persistent session) loses no
// message PublishAsync accepted and delivers no QoS 2 message twice.
//
// # Footprint
//
// An idle connection holds one goroutine (its reader) and about 4 KiB of
// heap: the writer and dispatcher goroutines start when there is work and
// exit after a second without any, and the read buffer grows from 512 bytes
// to a pooled 32 KiB only while the socket has more to give. A synchronous
// QoS 0 publish allocates nothing; a received message, one allocation.
//
// # Related packages
//
//   - [github.com/ternmq/mqtt/packet]: the wire codec, usable alone.
//   - [github.com/ternmq/mqtt/topic]: topic names and filters, matching.
//   - [github.com/ternmq/mqtt/mqtttest]: a scripted fake broker for tests.
//   - [github.com/ternmq/mqtt/store]: a crash-safe file Store.
package mqtt
