// Package azure connects a Tern client to Azure IoT Hub: it makes the SAS
// tokens the hub takes as passwords, fills an mqtt.Config with what the hub
// asks of a device or module (broker, client ID, user name, MQTT 3.1.1, TLS),
// renews the token before every connection attempt, and builds and parses
// the hub's topics (telemetry, cloud-to-device messages, device twin,
// direct methods).
//
// A device connects in a few lines:
//
//	d, err := azure.ParseConnectionString(os.Getenv("IOTHUB_DEVICE_CONNECTION_STRING"))
//	...
//	cfg, err := d.Config(mqtt.Config{Reconnect: true, Persistent: true})
//	...
//	c, err := mqtt.Dial(ctx, cfg)
//	...
//	err = c.Publish(ctx, &mqtt.Message{Topic: d.TelemetryTopic(nil), QoS: mqtt.QoS1, Payload: data})
//
// # Tokens and reconnection
//
// With a symmetric key, the password of each CONNECT is a SAS token valid
// for Device.TokenTTL (an hour by default), made afresh in
// mqtt.Config.BeforeConnect before every connection attempt. IoT Hub
// closes the connection of a client whose token expires; a client with
// mqtt.Config.Reconnect then connects again, with a new token. Without
// Reconnect the client is done when its first token expires.
//
// # What IoT Hub is not
//
// IoT Hub speaks MQTT 3.1.1 (its MQTT 5 support is a preview with another
// API) and is not a general broker: it takes only the topics this package
// builds, grants at most QoS 1 (a QoS 2 PUBLISH closes the connection),
// keeps no retained messages, allows one connection per identity (a second
// one closes the first), and waits at most 1.5 times the keep-alive, and
// never more than 29.45 minutes, for traffic before it closes a connection
// (so a keep-alive over 1,177 seconds is too long). Keys, tokens and connection strings
// never appear in this package's errors, and the mqtt client never logs
// passwords.
//
// The formats follow Microsoft's "Control access to IoT Hub with shared
// access signatures" and "Communicate with an IoT hub using the MQTT
// protocol" (api-version 2021-04-12).
package azure
