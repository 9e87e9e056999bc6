// Package share lets several processes use one broker connection: one
// process, the primary, owns the connection (its identity, its session,
// its reconnections) and serves it on a unix socket; the others, the
// secondaries, publish, subscribe and receive events through it. It is the
// Linux counterpart of the "virtual API" of Infineon's cy_mqtt, where a
// second core calls publish, subscribe, unsubscribe and event registration
// on the MQTT stack of the first; here it serves brokers such as AWS IoT
// Core and Azure IoT Hub, which allow one connection per device identity.
//
// # The local protocol is MQTT
//
// Secondaries speak plain MQTT 3.1.1 or 5.0 to the primary over the unix
// socket, rather than an RPC protocol of our own, because then:
//   - any MQTT client in any language is a secondary (mosquitto_pub --unix
//     PATH ...), and a Go secondary is an *mqtt.Client dialing unix://PATH,
//     which brings its reconnection, resubscription and flow control;
//   - the semantics to keep end to end (a QoS 1 publish answered when the
//     broker acknowledged it, a SUBACK per filter, reason codes) already
//     have a wire form, and the codec (package packet) reads and writes it
//     both ways;
//   - nothing new needs fuzzing: malformed input is the codec's problem,
//     answered with the codec's reason code.
//
// The cost is what MQTT cannot say between secondary and primary: a 3.1.1
// secondary gets no reason codes, and events travel as messages (below).
//
// The secondary picks a connection by its CONNECT user name (as
// cy_mqtt_get_handle picks one by descriptor); an empty one means the
// Server's first connection. An unknown name is refused with CONNACK 0x86
// Bad User Name or Password (3.1.1: return code 4): the user name is the
// field at fault, and 0x85 would blame the client identifier.
//
// # The primary: Server
//
// A Server holds named upstream *mqtt.Client values (Add, NewServer) and
// serves them (Listen, Serve) until Close. For each secondary it runs a
// reader, a writer with a bounded queue, and a goroutine that makes its
// subscriptions upstream in order.
//
// PUBLISH from a secondary goes upstream with PublishAsync. QoS 1 is
// acknowledged to the secondary when the upstream exchange is complete,
// with the broker's reason code in MQTT 5.0. QoS 2 is published upstream
// at QoS 2 and the secondary gets PUBREC when the upstream PUBCOMP came,
// then PUBREL and PUBCOMP complete its side. A resent PUBLISH whose packet
// identifier is still open is not published twice (MQTT-4.3.3). A 3.1.1
// acknowledgement cannot carry a refusal: the Server acknowledges a message
// the broker refused, as a 3.1.1 broker does itself (MQTT-3.3.5-2), counts
// it (SecondaryStats.Refused) and logs it; disconnecting instead would make
// the secondary send the same refused message again forever. A failure of
// the primary's own (its client closed) closes the secondary's connection,
// so that the message is sent again later.
//
// Subscriptions are counted by reference, per upstream connection and
// filter: the first secondary to ask for a filter makes the upstream
// subscription (with a handler of its own, so that with MQTT 5.0
// Subscription Identifiers a message reaches each matching subscription
// once), later ones share it, and one asking for a higher QoS makes the
// Server subscribe again with it. The SUBACK carries the broker's result
// (the granted QoS, at most the one asked for, or the refusal). The last
// holder's UNSUBSCRIBE, disconnection or crash removes the upstream
// subscription. A message goes to every secondary holding its filter, at
// the lower of its QoS and the secondary's, once per secondary and
// upstream subscription. Subscription options other than QoS stay local
// (No Local would hide one secondary's messages from the others).
// Retained messages reach the secondary whose subscription was made
// upstream; one that joins an existing subscription gets none.
//
// Messages from upstream never wait for a secondary: the upstream handler
// only queues. Each secondary's queue is bounded (Options.MaxQueued,
// MaxQueuedBytes): at the bound a QoS 0 message is dropped and counted, a
// QoS 1 or 2 message disconnects the secondary (MQTT 5.0: DISCONNECT 0x97
// Quota exceeded, error ErrQuota) and releases its subscriptions, so a
// hung or slow secondary costs only itself. Server.Secondaries gives every
// secondary's counters, and Options.OnDisconnect and the log tell each
// end. The bound must hold the bursts the broker sends: the upstream
// acknowledges a message once it is queued, not once a secondary has it,
// so a QoS 1 message queued to a secondary that then crashes is lost to
// that secondary. Secondaries' sessions end with their connection
// (CONNACK Session Present 0); a reconnecting secondary subscribes again.
//
// # Events
//
// The Server registers with Client.Notify on each upstream client and
// publishes every event, as JSON (EventJSON), on the reserved topic
// EventsTopic ("$tern/events") to the secondaries of that connection that
// subscribed to it; filters under "$tern/" are served locally and never
// sent upstream. A subscription to EventsTopic is answered at once, after
// its SUBACK, with the connection's current state as a retained message
// (the latest event, or one made from Client.State), so that a secondary
// need not wait for the next change to learn whether the broker is
// reachable; a secondary that reconnects to a restarted primary learns it
// again.
//
// # The secondary: Secondary
//
// Dial returns a Secondary: an *mqtt.Client on the socket, with Reconnect
// on (a restarted primary is reached again and the client subscribes
// again by itself), subscribed to EventsTopic. Its Notify reports the
// events of the primary's upstream connection, decoded from EventsTopic,
// with errors that errors.Is the same sentinels; the local connection's
// own events are on Local().Notify. Both *mqtt.Client and *Secondary
// satisfy Conn. Upstream returns the latest upstream event it heard of;
// Dial waits (briefly) for the primary's answer with the current state.
//
// # Security
//
// The socket is reachable only on the machine, and by default only by its
// owner: it is created with mode 0600, or 0660 and the group of
// Options.Group, in a private directory first and then renamed into place,
// so that it is never reachable with wider permissions. With
// Options.AllowUIDs or AllowGIDs, the peer's credentials (SO_PEERCRED on
// Linux) are checked before anything is read; a refused peer is closed and
// logged. Elsewhere an allow-list refuses every peer.
//
// Malformed input from a secondary ends that connection alone, with
// DISCONNECT and the codec's reason code in MQTT 5.0.
package share
