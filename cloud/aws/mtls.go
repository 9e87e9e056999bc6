package aws

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/ternmq/mqtt"
)

// MTLS connects to AWS IoT Core over MQTT with an X.509 client certificate
// registered with AWS IoT (mutual TLS): on port 8883, or on port 443 with
// the ALPN protocol "x-amzn-mqtt-ca", for networks that let only HTTPS out.
type MTLS struct {
	// Endpoint is the device data endpoint, for example
	// "abc123-ats.iot.eu-west-1.amazonaws.com". Required.
	Endpoint string
	// Certificate is the client certificate and its private key (any
	// crypto.Signer, a key in a secure element included: see
	// transport.TLSOptions). If it holds no certificate, the base Config's
	// TLSConfig must give one (Certificates or GetClientCertificate).
	Certificate tls.Certificate
	// Port is 8883 or 443. If zero, 8883.
	Port int
}

// Config returns base set up for o: Broker is mqtts://Endpoint:Port, and
// TLSConfig a clone of base's (or of its *transport.Dialer's) with the
// client certificate and, on port 443, the ALPN protocol. The rest of
// base is kept.
func (o MTLS) Config(base mqtt.Config) (mqtt.Config, error) {
	if err := checkEndpoint(o.Endpoint); err != nil {
		return mqtt.Config{}, err
	}
	tc := baseTLS(&base)
	if len(o.Certificate.Certificate) > 0 {
		tc.Certificates = []tls.Certificate{o.Certificate}
	} else if len(tc.Certificates) == 0 && tc.GetClientCertificate == nil {
		return mqtt.Config{}, errors.New("aws: MTLS has no client certificate (set Certificate, or the base Config's TLSConfig)")
	}
	switch o.Port {
	case 0, 8883:
		base.Broker = "mqtts://" + o.Endpoint + ":8883"
	case 443:
		base.Broker = "mqtts://" + o.Endpoint + ":443"
		tc.NextProtos = []string{ALPNClientCert}
	default:
		return mqtt.Config{}, fmt.Errorf("aws: MTLS.Port %d: AWS IoT Core takes client certificates on 8883 or 443", o.Port)
	}
	base.TLSConfig = tc
	return base, nil
}
