package azure

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// testKeyB64 is testKey in base64, as connection strings carry it.
const testKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		in   string
		want Device
	}{
		{"HostName=h.azure-devices.net;DeviceId=dev-1;SharedAccessKey=" + testKeyB64,
			Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: testKey}},
		{"HostName=h.azure-devices.net;DeviceId=dev-1;ModuleId=mod-1;SharedAccessKey=" + testKeyB64,
			Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", ModuleID: "mod-1", Key: testKey}},
		{"HostName=h.azure-devices.net;SharedAccessKeyName=device;SharedAccessKey=" + testKeyB64 + ";DeviceId=dev-1",
			Device{Hub: "h.azure-devices.net", DeviceID: "dev-1", Key: testKey, PolicyName: "device"}},
		{"hostname=h.azure-devices.net; deviceid=dev-1 ;x509=true;",
			Device{Hub: "h.azure-devices.net", DeviceID: "dev-1"}},
		{"HostName=h.azure-devices.net;DeviceId=leaf;SharedAccessKey=" + testKeyB64 + ";GatewayHostName=edge.local;Unknown=ignored",
			Device{Hub: "h.azure-devices.net", DeviceID: "leaf", Key: testKey, Gateway: "edge.local"}},
	}
	for _, tt := range tests {
		d, err := ParseConnectionString(tt.in)
		if err != nil {
			t.Errorf("%s: %v", redact(tt.in), err)
			continue
		}
		if d.Hub != tt.want.Hub || d.DeviceID != tt.want.DeviceID || d.ModuleID != tt.want.ModuleID ||
			d.PolicyName != tt.want.PolicyName || d.Gateway != tt.want.Gateway || !bytes.Equal(d.Key, tt.want.Key) {
			t.Errorf("%s:\n got %v\nwant %v", redact(tt.in), d, tt.want)
		}
	}
}

func TestParseConnectionStringErrors(t *testing.T) {
	const key = ";SharedAccessKey=" + testKeyB64
	for _, in := range []string{
		"",
		"garbage",
		"HostName=h;DeviceId=d", // no credentials
		"DeviceId=d" + key,      // no hub
		"HostName=h" + key,      // no device
		"HostName=h;SharedAccessKeyName=iothubowner" + key, // a service's string
		"HostName=h;DeviceId=d;SharedAccessKey=not*base64",
		"HostName=h;DeviceId=d;SharedAccessKey=",
		"HostName=h;DeviceId=d;x509=true" + key,
		"HostName=h;DeviceId=d;x509=yes",
		"HostName=h;DeviceId=d;SharedAccessKeyName=p",
		"HostName=h;DeviceId=d;DeviceId=e" + key,
		"HostName=h;DeviceId=a/b" + key,
		"HostName=h;DeviceId=a+b" + key,
		"HostName=h;DeviceId=d;ModuleId=m#" + key,
		"HostName=https://h;DeviceId=d" + key,
		"HostName=h;DeviceId=" + strings.Repeat("d", 129) + key,
		"HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h&sig=x&se=1",
		"HostName=h;DeviceId=d;=v" + key,
	} {
		d, err := ParseConnectionString(in)
		if err == nil {
			t.Errorf("%s: no error, got %v", redact(in), d)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "azure: ") {
			t.Errorf("%s: error %q does not start with \"azure: \"", redact(in), msg)
		}
		if strings.Contains(msg, testKeyB64) || strings.Contains(msg, "not*base64") || strings.Contains(msg, "sig=x") {
			t.Errorf("%s: the error quotes a secret", redact(in))
		}
	}
}

// TestDeviceStringRedacts: printing a Device in any form leaves its key
// out.
func TestDeviceStringRedacts(t *testing.T) {
	d, err := ParseConnectionString("HostName=h.azure-devices.net;DeviceId=dev-1;SharedAccessKey=" + testKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{d, *d} {
			out := fmt.Sprintf(format, v)
			if strings.Contains(out, testKeyB64) || strings.Contains(out, "[0 1 2 3") || strings.Contains(out, fmt.Sprint(testKey)) {
				t.Errorf("%s prints the key", format)
			}
			if !strings.Contains(out, "dev-1") || !strings.Contains(out, "redacted") {
				t.Errorf("%s: %s", format, out)
			}
		}
	}
}

// redact returns a connection string with its key replaced, for test
// messages.
func redact(s string) string {
	return strings.ReplaceAll(s, testKeyB64, "<key>")
}
