package azure_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/cloud/azure"
)

// A device connects to its hub with the connection string the Azure portal
// shows, sends telemetry, and receives cloud-to-device messages and direct
// method calls. The client reconnects with a fresh token each time the
// hub closes the connection at the token's expiry.
func ExampleParseConnectionString() {
	d, err := azure.ParseConnectionString(os.Getenv("IOTHUB_DEVICE_CONNECTION_STRING"))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := d.Config(mqtt.Config{Reconnect: true, Persistent: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, err := mqtt.Dial(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	// Cloud-to-device messages.
	_, err = c.Subscribe(ctx, func(m *mqtt.Message) {
		if t, err := azure.ParseC2DTopic(m.Topic); err == nil {
			id, _ := t.Properties.Get(azure.PropMessageID)
			log.Printf("message %s: %s", id, m.Payload)
		}
	}, mqtt.Subscription{Filter: d.C2DFilter(), QoS: mqtt.QoS1})
	if err != nil {
		log.Fatal(err)
	}

	// Direct methods, answered from the handler.
	_, err = c.Subscribe(ctx, func(m *mqtt.Message) {
		call, err := azure.ParseMethodTopic(m.Topic)
		if err != nil {
			return
		}
		status, body := 404, `{"error":"no such method"}`
		if call.Name == "ping" {
			status, body = 200, `"pong"`
		}
		c.PublishAsync(&mqtt.Message{Topic: azure.MethodResponseTopic(status, call.RequestID), QoS: mqtt.QoS1, Payload: []byte(body)})
	}, mqtt.Subscription{Filter: azure.MethodFilter, QoS: mqtt.QoS1})
	if err != nil {
		log.Fatal(err)
	}

	// Telemetry, as JSON so that the hub can route on the body.
	json := azure.Properties{{Name: azure.PropContentType, Value: "application/json"}, {Name: azure.PropContentEncoding, Value: "utf-8"}}
	for range time.Tick(time.Minute) {
		err := c.Publish(ctx, &mqtt.Message{Topic: d.TelemetryTopic(json), QoS: mqtt.QoS1, Payload: []byte(`{"temperature":21.5}`)})
		if errors.Is(err, mqtt.ErrClosed) {
			return
		}
	}
}

// Config fills in what IoT Hub asks of a connection; the SAS token is made
// for each connection attempt, so the Config holds no password.
func ExampleDevice_Config() {
	d := &azure.Device{Hub: "contoso.azure-devices.net", DeviceID: "thermostat-7", ModuleID: "sensor", Key: []byte("device key")}
	cfg, err := d.Config(mqtt.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Broker)
	fmt.Println(cfg.ClientID)
	fmt.Println(cfg.Username)
	fmt.Println(cfg.Version, cfg.Password == nil)
	fmt.Println(d.TelemetryTopic(azure.Properties{{Name: azure.PropContentType, Value: "application/json"}}))
	fmt.Println(d)
	// Output:
	// mqtts://contoso.azure-devices.net:8883
	// thermostat-7/sensor
	// contoso.azure-devices.net/thermostat-7/sensor/?api-version=2021-04-12
	// 3.1.1 true
	// devices/thermostat-7/modules/sensor/messages/events/%24.ct=application%2Fjson
	// azure.Device{Hub: "contoso.azure-devices.net", DeviceID: "thermostat-7", ModuleID: "sensor", Key: redacted}
}

// A token valid until a given time, for another client or for HTTPS.
func ExampleSASToken() {
	token, err := azure.SASToken("contoso.azure-devices.net/devices/thermostat-7", []byte("device key"), "", time.Unix(1700000000, 0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token[:len("SharedAccessSignature sr=contoso.azure-devices.net%2Fdevices%2Fthermostat-7")])
	// Output:
	// SharedAccessSignature sr=contoso.azure-devices.net%2Fdevices%2Fthermostat-7
}
