package azure

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ParseConnectionString parses a device or module connection string, as
// the Azure portal and the az CLI show it: semicolon-separated Name=Value
// pairs, names in any case, among them
//
//	HostName             the hub's host name (required)
//	DeviceId             the device ID (required)
//	ModuleId             the module ID, for a module identity
//	SharedAccessKey      the base64 symmetric key (SAS authentication)
//	SharedAccessKeyName  the shared access policy the key belongs to
//	GatewayHostName      an IoT Edge gateway to connect through
//	x509=true            X.509 authentication: set Device.Certificate
//
// Other names are ignored. A connection string that carries a ready-made
// SharedAccessSignature instead of a key is refused: this package makes a
// new token for each connection, which needs the key.
//
// Errors name the faulty field and may quote the hub and the IDs, never the
// key.
func ParseConnectionString(s string) (*Device, error) {
	d := new(Device)
	seen := make(map[string]bool)
	x509 := false
	for i, seg := range strings.Split(s, ";") {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		name, value, ok := strings.Cut(seg, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("azure: connection string: field %d is not Name=Value", i+1)
		}
		lname := strings.ToLower(name)
		if canonical, known := fieldNames[lname]; known {
			if seen[lname] {
				return nil, fmt.Errorf("azure: connection string: %s given twice", canonical)
			}
			seen[lname] = true
		}
		switch lname {
		case "hostname":
			d.Hub = value
		case "deviceid":
			d.DeviceID = value
		case "moduleid":
			d.ModuleID = value
		case "gatewayhostname":
			d.Gateway = value
		case "sharedaccesskeyname":
			d.PolicyName = value
		case "sharedaccesskey":
			key, err := base64.StdEncoding.DecodeString(value)
			if err != nil || len(key) == 0 {
				return nil, errors.New("azure: connection string: SharedAccessKey is not base64")
			}
			d.Key = key
		case "x509":
			if !strings.EqualFold(value, "true") {
				return nil, errors.New(`azure: connection string: x509 must be "true"`)
			}
			x509 = true
		case "sharedaccesssignature":
			return nil, errors.New("azure: connection string: a SharedAccessSignature cannot be renewed; give the SharedAccessKey")
		}
	}
	switch {
	case d.Hub == "":
		return nil, errors.New("azure: connection string: no HostName")
	case d.DeviceID == "":
		return nil, errors.New("azure: connection string: no DeviceId (a hub-level connection string is for services, not devices)")
	case x509 && d.Key != nil:
		return nil, errors.New("azure: connection string: both x509=true and SharedAccessKey")
	case !x509 && d.Key == nil:
		return nil, errors.New("azure: connection string: no SharedAccessKey (and not x509=true)")
	case d.PolicyName != "" && d.Key == nil:
		return nil, errors.New("azure: connection string: SharedAccessKeyName without SharedAccessKey")
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return d, nil
}

// fieldNames maps the lower-case names of the fields ParseConnectionString
// knows to their usual spelling.
var fieldNames = map[string]string{
	"hostname":              "HostName",
	"deviceid":              "DeviceId",
	"moduleid":              "ModuleId",
	"gatewayhostname":       "GatewayHostName",
	"sharedaccesskeyname":   "SharedAccessKeyName",
	"sharedaccesskey":       "SharedAccessKey",
	"x509":                  "x509",
	"sharedaccesssignature": "SharedAccessSignature",
}
