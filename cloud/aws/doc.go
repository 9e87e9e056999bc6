// Package aws connects Tern to AWS IoT Core in a few lines, in each of the
// ways AWS IoT Core lets a device in (AWS IoT Core Developer Guide, "Device
// communication protocols"):
//
//	MTLS{Port: 8883}         MQTT over TLS with an X.509 client certificate
//	MTLS{Port: 443}          the same on port 443, ALPN "x-amzn-mqtt-ca"
//	CustomAuthorizer         MQTT over TLS on port 443, ALPN "mqtt", a custom
//	                         authorizer's token in the MQTT user name
//	WebSocket                MQTT over WebSocket (wss), a URL presigned with
//	                         Signature Version 4, fresh at every connection
//
// Each is a struct whose Config method fills a base mqtt.Config (client ID,
// session, reconnection, whatever the application sets) with the broker URL,
// the TLS settings and the credentials:
//
//	cfg, err := aws.MTLS{Endpoint: endpoint, Certificate: cert}.Config(mqtt.Config{ClientID: "thing-1"})
//	...
//	client, err := mqtt.Dial(ctx, cfg)
//
// The endpoint is the account's device data endpoint, as
// "aws iot describe-endpoint --endpoint-type iot:Data-ATS" gives it. The
// broker's certificate is verified against the system's roots (Amazon Root
// CA 1 is in them), or against the roots of the base Config's TLSConfig.
//
// Limits returns AWS IoT Core's own limits (topic length and depth, payload
// size, client ID length, keep alive, QoS), for mqtt.Config.Limits: with
// them, what AWS IoT Core would refuse, or take and then drop the
// connection for, is refused before it is sent.
//
// Secrets (secret access keys, session tokens, signatures, custom
// authorizer tokens) never appear in this package's errors; Credentials
// hides them when printed, and a presigned URL should be logged only through
// transport.Redact.
package aws
