package aws

import (
	"errors"
	"net/url"
	"time"
)

// iotService is the SigV4 service name of the AWS IoT Core message broker.
const iotService = "iotdevicegateway"

// PresignURL returns the URL of an MQTT over WebSocket connection to AWS
// IoT Core, presigned with Signature Version 4 (service iotdevicegateway)
// at time now:
//
//	wss://host/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...
//	    &X-Amz-Date=...&X-Amz-SignedHeaders=host&X-Amz-Signature=...
//	    &X-Amz-Security-Token=...
//
// host is the device data endpoint (host:port if not 443), region its
// region. The session token of temporary credentials, if any, is appended
// after the signature and is not signed, as AWS IoT Core requires (AWS IoT
// Core Developer Guide, "IAM users, groups, and roles"). The URL carries no
// X-Amz-Expires: it is meant for a connection opened at once, and
// WebSocket signs a new one for each.
//
// The URL holds a signature and perhaps a session token: to log it, use
// transport.Redact.
func PresignURL(host, region string, creds Credentials, now time.Time) (*url.URL, error) {
	switch {
	case host == "":
		return nil, errors.New("aws: PresignURL: no host")
	case region == "":
		return nil, errors.New("aws: PresignURL: no region")
	case creds.AccessKeyID == "" || creds.SecretAccessKey == "":
		return nil, errors.New("aws: PresignURL: the credentials have no access key ID or no secret access key")
	}
	r := &sigRequest{method: "GET", host: host, path: "/mqtt", payloadHash: emptySHA256}
	p := presign(r, creds.AccessKeyID, creds.SecretAccessKey, region, iotService, now)
	q := p.rawQuery
	if creds.SessionToken != "" {
		q += "&X-Amz-Security-Token=" + uriEncode(creds.SessionToken, false)
	}
	return &url.URL{Scheme: "wss", Host: host, Path: "/mqtt", RawQuery: q}, nil
}
