package aws

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/ternmq/mqtt"
)

// ALPN protocol names AWS IoT Core tells connections on port 443 apart by
// (AWS IoT Core Developer Guide, "Protocols, port mappings, and
// authentication").
const (
	// ALPNClientCert is MQTT with an X.509 client certificate.
	ALPNClientCert = "x-amzn-mqtt-ca"
	// ALPNCustomAuth is MQTT with a custom authorizer.
	ALPNCustomAuth = "mqtt"
)

// checkEndpoint refuses an endpoint that is not a bare host name.
func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return fmt.Errorf("aws: no Endpoint (the device data endpoint: aws iot describe-endpoint --endpoint-type iot:Data-ATS)")
	}
	if strings.ContainsAny(endpoint, "/:?#@[] ") {
		return fmt.Errorf("aws: Endpoint %q is not a host name (give it without scheme, port or path)", endpoint)
	}
	return nil
}

// regionOf returns the region of an AWS IoT endpoint name, as in
// abc123-ats.iot.eu-west-1.amazonaws.com or ...amazonaws.com.cn.
func regionOf(endpoint string) (string, bool) {
	labels := strings.Split(endpoint, ".")
	for i := 0; i+2 < len(labels); i++ {
		if labels[i] == "iot" && labels[i+2] == "amazonaws" && labels[i+1] != "" {
			return labels[i+1], true
		}
	}
	return "", false
}

// baseTLS returns a clone of the TLS configuration base's attempts start
// from (see mqtt.Config.BaseTLSConfig), or a new one.
func baseTLS(base *mqtt.Config) *tls.Config {
	if tc := base.BaseTLSConfig(); tc != nil {
		return tc.Clone()
	}
	return &tls.Config{}
}
