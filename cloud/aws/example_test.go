package aws_test

import (
	"context"
	"crypto/tls"
	"log"
	"os"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/cloud/aws"
)

// A device with the certificate and key AWS IoT Core issued for it.
func ExampleMTLS() {
	cert, err := tls.LoadX509KeyPair("device.pem.crt", "private.pem.key")
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := aws.MTLS{
		Endpoint:    "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
		Certificate: cert,
		Port:        443, // where only HTTPS gets out; 8883 otherwise
	}.Config(mqtt.Config{ClientID: "thing-1", Reconnect: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	client.Publish(ctx, &mqtt.Message{Topic: "things/thing-1/hello", Payload: []byte("hi"), QoS: mqtt.QoS1})
}

// An application with IAM credentials, over WebSocket.
func ExampleWebSocket() {
	cfg, err := aws.WebSocket{
		Endpoint: "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
		Credentials: aws.StaticCredentials(aws.Credentials{
			AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		}),
	}.Config(mqtt.Config{ClientID: "dashboard-1", Reconnect: true, Limits: aws.Limits()})
	if err != nil {
		log.Fatal(err)
	}
	client, err := mqtt.Dial(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
}

// A device with a token signed for a custom authorizer.
func ExampleCustomAuthorizer() {
	cfg, err := aws.CustomAuthorizer{
		Endpoint:       "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com",
		Authorizer:     "DeviceTokenAuthorizer",
		TokenKeyName:   "token",
		Token:          os.Getenv("DEVICE_TOKEN"),
		TokenSignature: os.Getenv("DEVICE_TOKEN_SIGNATURE"), // base64, as the token's issuer gives it
	}.Config(mqtt.Config{ClientID: "device-7"})
	if err != nil {
		log.Fatal(err)
	}
	client, err := mqtt.Dial(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
}
