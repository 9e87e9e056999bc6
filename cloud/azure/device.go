package azure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
)

// APIVersion is the IoT Hub API version the user name asks for.
const APIVersion = "2021-04-12"

// DefaultTokenTTL is how long a SAS token is valid when Device.TokenTTL is
// zero.
const DefaultTokenTTL = time.Hour

// Device is an identity registered in an IoT hub, device or module, with
// its credentials: a symmetric key (SAS authentication) or an X.509
// certificate. ParseConnectionString makes one from a connection string;
// a literal works as well.
//
// A Device's String and GoString methods leave the key out, so printing one
// does not leak it. Config copies what it needs: changing a Device later
// does not change a Config made from it.
type Device struct {
	// Hub is the IoT hub's host name, "{name}.azure-devices.net". Required.
	Hub string
	// Gateway, if set, is the host the client connects to instead of Hub:
	// an IoT Edge gateway (GatewayHostName in a connection string). The
	// user name and the token still name Hub.
	Gateway string
	// DeviceID is the device's ID in the hub's identity registry.
	// Required: up to 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '.
	DeviceID string
	// ModuleID, if set, makes the identity the module ModuleID of the
	// device DeviceID. Same characters as DeviceID.
	ModuleID string

	// Key is the symmetric key, decoded from base64: the identity's own
	// primary or secondary key, or with PolicyName the key of a shared
	// access policy granting DeviceConnect. Set Key or Certificate.
	Key []byte
	// PolicyName is the shared access policy Key belongs to (skn in the
	// token); empty for the identity's own key.
	PolicyName string
	// TokenTTL is how long each SAS token is valid from the connection
	// attempt it is made for; at least a second. IoT Hub closes the
	// connection when the token expires, and mqtt.Config.Reconnect then
	// connects again with a new one: a longer TTL means fewer
	// reconnections, a shorter one a shorter life for a stolen token. If
	// zero, DefaultTokenTTL (an hour).
	TokenTTL time.Duration

	// Certificate is the client certificate for X.509 authentication: its
	// common name is the device ID (a module's is "{deviceID}/{moduleID}").
	// No password is sent with it. Instead of Certificate, the base
	// Config's TLSConfig may carry the certificate (Certificates or
	// GetClientCertificate, for a key in hardware).
	Certificate *tls.Certificate

	// ModelID, if set, announces the device's IoT Plug and Play model ID
	// ("dtmi:com:example:Thermostat;1") in the user name.
	ModelID string

	// WebSocket connects with MQTT over WebSocket on port 443
	// (wss://{host}/$iothub/websocket), for networks that block port 8883.
	WebSocket bool
}

// String describes d without its key.
func (d Device) String() string {
	key := "none"
	if len(d.Key) > 0 {
		key = "redacted"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "azure.Device{Hub: %q, DeviceID: %q", d.Hub, d.DeviceID)
	if d.ModuleID != "" {
		fmt.Fprintf(&b, ", ModuleID: %q", d.ModuleID)
	}
	if d.Gateway != "" {
		fmt.Fprintf(&b, ", Gateway: %q", d.Gateway)
	}
	fmt.Fprintf(&b, ", Key: %s", key)
	if d.PolicyName != "" {
		fmt.Fprintf(&b, ", PolicyName: %q", d.PolicyName)
	}
	if d.Certificate != nil {
		b.WriteString(", Certificate: set")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so that %#v does not print the key either.
func (d Device) GoString() string { return d.String() }

// ResourceURI returns the scope of d's SAS tokens:
// "{hub}/devices/{deviceID}", and "/modules/{moduleID}" after it for a
// module.
func (d *Device) ResourceURI() string {
	u := d.Hub + "/devices/" + d.DeviceID
	if d.ModuleID != "" {
		u += "/modules/" + d.ModuleID
	}
	return u
}

// SASToken returns a SAS token for d valid until expiry; see the function
// SASToken.
func (d *Device) SASToken(expiry time.Time) (string, error) {
	return SASToken(d.ResourceURI(), d.Key, d.PolicyName, expiry)
}

// Config returns base with what IoT Hub asks of d's connection:
//
//   - Broker: mqtts://{host}:8883, or wss://{host}:443/$iothub/websocket
//     with WebSocket, the host being Gateway if set, else Hub;
//   - ClientID: the device ID, or "{deviceID}/{moduleID}";
//   - Version: MQTT 3.1.1, without Fallback;
//   - Username: "{hub}/{deviceID}/?api-version=2021-04-12", with
//     "/{moduleID}" after the device ID for a module and "&model-id=..."
//     at the end with ModelID;
//   - Password: nil; with a Key, each attempt's CONNECT gets a new SAS
//     token valid for TokenTTL from then;
//   - TLSConfig: a clone of base.BaseTLSConfig() (its roots, versions and the like kept),
//     or a new one, with Certificate added to its certificates;
//   - BeforeConnect: with a Key, a hook that puts the token in the
//     CONNECT, then calls base's own BeforeConnect, if any, which sees the
//     token and may change the attempt further.
//
// Every other field is base's: set Reconnect there to stay connected
// across token expiries, and Persistent to keep cloud-to-device messages
// sent while the device was away (the Azure SDKs connect with a persistent
// session). The result is a plain value: a test may point its Broker
// elsewhere. Replacing its BeforeConnect drops the token renewal.
//
// Config fails if d lacks a hub or device ID, has an invalid ID, or has
// neither a Key nor a client certificate (in Certificate or base.TLSConfig),
// or both a Key and Certificate.
func (d *Device) Config(base mqtt.Config) (mqtt.Config, error) {
	if err := d.check(); err != nil {
		return mqtt.Config{}, err
	}
	ttl := d.TokenTTL
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < time.Second:
		return mqtt.Config{}, errors.New("azure: TokenTTL must be at least a second")
	}
	btc := base.BaseTLSConfig()
	certInBase := btc != nil && (len(btc.Certificates) > 0 || btc.GetClientCertificate != nil)
	switch {
	case len(d.Key) > 0 && d.Certificate != nil:
		return mqtt.Config{}, errors.New("azure: set Key (SAS) or Certificate (X.509), not both")
	case len(d.Key) == 0 && d.Certificate == nil && !certInBase:
		return mqtt.Config{}, errors.New("azure: no credentials: set Key (SAS), or Certificate or a client certificate in the TLSConfig (X.509)")
	}

	cfg := base
	host := d.Hub
	if d.Gateway != "" {
		host = d.Gateway
	}
	if d.WebSocket {
		cfg.Broker = "wss://" + host + ":443/$iothub/websocket"
	} else {
		cfg.Broker = "mqtts://" + host + ":8883"
	}
	cfg.ClientID = d.clientID()
	cfg.ClientIDPrefix = ""
	cfg.Version = packet.V311
	cfg.Fallback = false
	cfg.Username = d.username()
	cfg.Password = nil

	tc := base.BaseTLSConfig().Clone() // nil if base has none
	if tc == nil {
		tc = new(tls.Config)
	}
	if d.Certificate != nil {
		tc.Certificates = append(tc.Certificates[:len(tc.Certificates):len(tc.Certificates)], *d.Certificate)
	}
	cfg.TLSConfig = tc

	if len(d.Key) > 0 {
		uri := d.ResourceURI()
		key := append([]byte(nil), d.Key...)
		policy := d.PolicyName
		next := base.BeforeConnect
		cfg.BeforeConnect = func(ctx context.Context, a *mqtt.Attempt) error {
			token, err := SASToken(uri, key, policy, time.Now().Add(ttl))
			if err != nil {
				return err
			}
			a.Connect.Password = []byte(token)
			if next != nil {
				return next(ctx, a)
			}
			return nil
		}
	}
	return cfg, nil
}

// clientID returns the MQTT client ID of d.
func (d *Device) clientID() string {
	if d.ModuleID != "" {
		return d.DeviceID + "/" + d.ModuleID
	}
	return d.DeviceID
}

// username returns the MQTT user name of d.
func (d *Device) username() string {
	u := d.Hub + "/" + d.DeviceID
	if d.ModuleID != "" {
		u += "/" + d.ModuleID
	}
	u += "/?api-version=" + APIVersion
	if d.ModelID != "" {
		u += "&model-id=" + escape(d.ModelID)
	}
	return u
}

// check reports what is wrong with d's names.
func (d *Device) check() error {
	if d.Hub == "" {
		return errors.New("azure: no hub host name")
	}
	if strings.ContainsAny(d.Hub, "/:?#@ \t") {
		return fmt.Errorf("azure: hub %q is not a host name", d.Hub)
	}
	if strings.ContainsAny(d.Gateway, "/:?#@ \t") {
		return fmt.Errorf("azure: gateway %q is not a host name", d.Gateway)
	}
	if d.DeviceID == "" {
		return errors.New("azure: no device ID")
	}
	if err := checkID("device", d.DeviceID); err != nil {
		return err
	}
	if d.ModuleID != "" {
		return checkID("module", d.ModuleID)
	}
	return nil
}

// checkID reports whether id is a valid device or module ID: up to 128
// ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ ' (IoT Hub's
// identity registry). Among what it excludes are "/", "+" and "#", which
// would break the topics built from the ID.
func checkID(kind, id string) error {
	if len(id) > 128 {
		return fmt.Errorf("azure: %s ID is longer than 128 characters", kind)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.%_*?!(),:=@$'", c) >= 0 {
			continue
		}
		return fmt.Errorf("azure: %s ID %q: IoT Hub does not allow %q in an ID", kind, id, c)
	}
	return nil
}
