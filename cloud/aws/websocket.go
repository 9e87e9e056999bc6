package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ternmq/mqtt"
)

// WebSocket connects to AWS IoT Core over MQTT over WebSocket (wss, port
// 443), authenticated by a URL presigned with Signature Version 4 (see
// PresignURL). The URL is signed anew before every connection attempt,
// with credentials from the provider, so that reconnections go on working
// as temporary credentials are renewed.
type WebSocket struct {
	// Endpoint is the device data endpoint. Required.
	Endpoint string
	// Region is the endpoint's region. If empty, it is read from the
	// endpoint name (...iot.<region>.amazonaws.com).
	Region string
	// Credentials returns the credentials to sign with; see
	// CredentialsProvider and StaticCredentials. Required.
	Credentials CredentialsProvider
}

// Config returns base set up for o: Broker is wss://Endpoint/mqtt,
// TLSConfig a clone of base's (or of its *transport.Dialer's), and
// BeforeConnect sets each Attempt's Broker to a freshly presigned URL and
// then calls base's BeforeConnect, if any, which has the last word. The
// rest of base is kept.
func (o WebSocket) Config(base mqtt.Config) (mqtt.Config, error) {
	if err := checkEndpoint(o.Endpoint); err != nil {
		return mqtt.Config{}, err
	}
	region := o.Region
	if region == "" {
		var ok bool
		if region, ok = regionOf(o.Endpoint); !ok {
			return mqtt.Config{}, fmt.Errorf("aws: WebSocket: no Region, and none in the endpoint name %q", o.Endpoint)
		}
	}
	if o.Credentials == nil {
		return mqtt.Config{}, errors.New("aws: WebSocket: no Credentials provider")
	}
	base.Broker = "wss://" + o.Endpoint + "/mqtt"
	base.TLSConfig = baseTLS(&base)
	next := base.BeforeConnect
	base.BeforeConnect = func(ctx context.Context, a *mqtt.Attempt) error {
		creds, err := o.Credentials(ctx)
		if err != nil {
			return fmt.Errorf("aws: credentials: %w", err)
		}
		u, err := PresignURL(o.Endpoint, region, creds, time.Now())
		if err != nil {
			return err
		}
		a.Broker = u
		if next != nil {
			return next(ctx, a)
		}
		return nil
	}
	return base, nil
}
