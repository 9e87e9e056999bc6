package aws

import (
	"errors"
	"strings"

	"github.com/ternmq/mqtt"
)

// CustomAuthorizer connects to AWS IoT Core over MQTT on port 443 with the
// ALPN protocol "mqtt", authenticated by a custom authorizer (AWS IoT Core
// Developer Guide, "Custom authentication and authorization"): TLS
// verifies the server only, and the MQTT user name carries the authorizer's
// name and, for an authorizer with token signing, the token and its
// signature, as a query string (see CustomAuthorizerUsername). The
// authorizer's Lambda function receives the user name and the password
// (base64-encoded by AWS IoT Core).
type CustomAuthorizer struct {
	// Endpoint is the device data endpoint, or the domain name of a domain
	// configuration the authorizer is attached to. Required.
	Endpoint string
	// Authorizer is the authorizer's name. If empty, the endpoint's
	// default authorizer.
	Authorizer string
	// Username is the user name given to the authorizer, before the query
	// string. It may be empty, and must not hold a '?'.
	Username string
	// Password, if not nil, is the MQTT password, passed to the authorizer
	// as it is. If nil, the base Config's.
	Password []byte
	// TokenKeyName, Token and TokenSignature are set together, for an
	// authorizer with token signing: the name the authorizer reads the
	// token by, the token, and its signature with the authorizer's private
	// key, base64-encoded. Give them as they are: they are URL-encoded
	// here.
	TokenKeyName   string
	Token          string
	TokenSignature string
}

// Config returns base set up for o: Broker is mqtts://Endpoint:443,
// TLSConfig a clone of base's (or of its *transport.Dialer's) with the
// ALPN protocol "mqtt", Username the user name with the authorizer's query
// string, and Password o.Password if set. The rest of base is kept.
func (o CustomAuthorizer) Config(base mqtt.Config) (mqtt.Config, error) {
	if err := checkEndpoint(o.Endpoint); err != nil {
		return mqtt.Config{}, err
	}
	if strings.Contains(o.Username, "?") {
		return mqtt.Config{}, errors.New("aws: CustomAuthorizer.Username holds a '?', which would start its query string")
	}
	signed := o.TokenKeyName != "" || o.Token != "" || o.TokenSignature != ""
	if signed && (o.TokenKeyName == "" || o.Token == "" || o.TokenSignature == "") {
		return mqtt.Config{}, errors.New("aws: CustomAuthorizer: TokenKeyName, Token and TokenSignature go together (all set for token signing, none without)")
	}
	tc := baseTLS(&base)
	tc.NextProtos = []string{ALPNCustomAuth}
	base.TLSConfig = tc
	base.Broker = "mqtts://" + o.Endpoint + ":443"
	base.Username = CustomAuthorizerUsername(o.Username, o.Authorizer, o.TokenKeyName, o.Token, o.TokenSignature)
	if o.Password != nil {
		base.Password = o.Password
	}
	return base, nil
}

// CustomAuthorizerUsername returns the MQTT user name that invokes a custom
// authorizer:
//
//	username?x-amz-customauthorizer-name=name&x-amz-customauthorizer-signature=sig&tokenKeyName=token
//
// Each value, and tokenKeyName, is URL-encoded (RFC 3986: a base64
// signature's '+', '/' and '=' become %2B, %2F and %3D); username is not.
// A parameter whose value is empty is left out: without a signature and
// token key name, the user name invokes an authorizer without token
// signing; without an authorizer name, the endpoint's default authorizer.
// With no parameter at all, the user name is username itself.
func CustomAuthorizerUsername(username, authorizer, tokenKeyName, token, signature string) string {
	var q []string
	if authorizer != "" {
		q = append(q, "x-amz-customauthorizer-name="+uriEncode(authorizer, false))
	}
	if signature != "" {
		q = append(q, "x-amz-customauthorizer-signature="+uriEncode(signature, false))
	}
	if tokenKeyName != "" {
		q = append(q, uriEncode(tokenKeyName, false)+"="+uriEncode(token, false))
	}
	if len(q) == 0 {
		return username
	}
	return username + "?" + strings.Join(q, "&")
}
