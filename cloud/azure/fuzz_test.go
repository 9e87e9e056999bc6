package azure

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// checkParseErr checks the form of a parser's error.
func checkParseErr(t *testing.T, in string, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "azure: ") {
		t.Fatalf("%q: error %q does not start with \"azure: \"", in, err)
	}
	if len(err.Error()) > 400 {
		t.Fatalf("%q: error of %d bytes", in, len(err.Error()))
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"", "?", "a=1", "?prop1&prop2=&prop3=a%20string", "%24.mid=1&%24.to=%2Fdevices%2Fd", "a=b=c&&x=1+2", "=v", "a=%zz", "%", "a=%e2%82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, bag string) {
		p, err := ParseProperties(bag)
		if err != nil {
			checkParseErr(t, bag, err)
			return
		}
		for _, q := range p {
			if q.Name == "" || q.Null && q.Value != "" {
				t.Fatalf("%q: bad property %+v", bag, q)
			}
		}
		enc := p.Encode()
		if strings.ContainsAny(enc, "/+#? ") {
			t.Fatalf("%q: Encode gives %q", bag, enc)
		}
		back, err := ParseProperties(enc)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%q: round trip through %q: %+v, %v; want %+v", bag, enc, back, err, p)
		}
	})
}

func FuzzParseC2DTopic(f *testing.F) {
	for _, s := range []string{
		"devices/dev-1/messages/devicebound/",
		"devices/dev-1/messages/devicebound",
		"devices/dev-1/messages/devicebound/%24.mid=1&color=dark%20blue&flag",
		"devices/edge/modules/filter/inputs/in1/%24.cdid=edge",
		"devices//messages/devicebound/",
		"devices/d/modules//inputs/x/",
		"devices/d/messages/devicebound/a=1/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseC2DTopic(in)
		if err != nil {
			checkParseErr(t, in, err)
			return
		}
		if m.DeviceID == "" || strings.Contains(m.DeviceID, "/") || (m.ModuleID == "") != (m.Input == "") ||
			strings.ContainsAny(m.ModuleID+m.Input, "/") {
			t.Fatalf("%q: %+v", in, m)
		}
		// The topic made again from the result parses to the same.
		var again string
		if m.ModuleID != "" {
			again = "devices/" + m.DeviceID + "/modules/" + m.ModuleID + "/inputs/" + m.Input + "/" + m.Properties.Encode()
		} else {
			again = (&Device{DeviceID: m.DeviceID}).C2DFilter()
			again = strings.TrimSuffix(again, "#") + m.Properties.Encode()
		}
		m2, err := ParseC2DTopic(again)
		if err != nil || !reflect.DeepEqual(m2, m) {
			t.Fatalf("%q: again as %q: %+v, %v; want %+v", in, again, m2, err, m)
		}
	})
}

func FuzzParseTwinResponseTopic(f *testing.F) {
	for _, s := range []string{
		"$iothub/twin/res/200/?$rid=1",
		"$iothub/twin/res/204/?$rid=6&$version=7",
		"$iothub/twin/res/429/?%24rid=a%20b&%24version=9223372036854775807",
		"$iothub/twin/res/200/?$rid=1&$version=9223372036854775808",
		"$iothub/twin/res/20/?$rid=1",
		"$iothub/twin/res/200/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseTwinResponseTopic(in)
		if err != nil {
			checkParseErr(t, in, err)
			return
		}
		if r.Status < 100 || r.Status > 999 || r.Version < 0 {
			t.Fatalf("%q: %+v", in, r)
		}
		again := "$iothub/twin/res/" + strconv.Itoa(r.Status) + "/?" + Properties{{Name: "$rid", Value: r.RequestID}}.Encode()
		if r.Version != 0 {
			again += "&$version=" + strconv.FormatInt(r.Version, 10)
		}
		if r2, err := ParseTwinResponseTopic(again); err != nil || r2 != r {
			t.Fatalf("%q: again as %q: %+v, %v; want %+v", in, again, r2, err, r)
		}
	})
}

func FuzzParseTwinDesiredTopic(f *testing.F) {
	for _, s := range []string{
		"$iothub/twin/PATCH/properties/desired/?$version=8",
		"$iothub/twin/PATCH/properties/desired/?%24version=0&x",
		"$iothub/twin/PATCH/properties/desired/?$version=-1",
		"$iothub/twin/PATCH/properties/desired/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseTwinDesiredTopic(in)
		if err != nil {
			checkParseErr(t, in, err)
			return
		}
		if v < 0 || !strings.HasPrefix(in, twinDesiredPrefix+"?") {
			t.Fatalf("%q: version %d", in, v)
		}
	})
}

func FuzzParseMethodTopic(f *testing.F) {
	for _, s := range []string{
		"$iothub/methods/POST/reboot/?$rid=1",
		"$iothub/methods/POST/set-led/?%24rid=a%2Fb",
		"$iothub/methods/POST//?$rid=1",
		"$iothub/methods/POST/a/b/?$rid=1",
		"$iothub/methods/POST/m/?$rid=%g0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMethodTopic(in)
		if err != nil {
			checkParseErr(t, in, err)
			return
		}
		if m.Name == "" || strings.Contains(m.Name, "/") {
			t.Fatalf("%q: %+v", in, m)
		}
		again := methodPrefix + m.Name + "/?" + Properties{{Name: "$rid", Value: m.RequestID}}.Encode()
		if m2, err := ParseMethodTopic(again); err != nil || m2 != m {
			t.Fatalf("%q: again as %q: %+v, %v; want %+v", in, again, m2, err, m)
		}
		// The response topic carries the request ID back.
		res := MethodResponseTopic(200, m.RequestID)
		p, err := ParseProperties(strings.TrimPrefix(res, "$iothub/methods/res/200/"))
		if rid, _ := p.Get("$rid"); err != nil || rid != m.RequestID {
			t.Fatalf("%q: response topic %q: %v", in, res, err)
		}
	})
}

func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		"HostName=h.azure-devices.net;DeviceId=dev-1;SharedAccessKey=" + testKeyB64,
		"HostName=h;DeviceId=d;ModuleId=m;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64,
		"HostName=h;DeviceId=d;x509=true",
		"HostName=h;DeviceId=d;SharedAccessKey=not*base64+0123456789",
		"HostName=h;DeviceId=a/b;SharedAccessKey=" + testKeyB64,
		"garbage",
		";;=;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseConnectionString(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "azure: ") {
				t.Fatalf("error %q does not start with \"azure: \"", err)
			}
			// The key never shows in an error, unless it also stands as
			// another field's value, which errors may quote.
			var key string
			values := make(map[string]int)
			for _, seg := range strings.Split(in, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(seg), "=")
				values[value]++
				if strings.EqualFold(strings.TrimSpace(name), "SharedAccessKey") {
					key = value
				}
			}
			if len(key) >= 12 && strings.ContainsAny(key, "0123456789+/=") && values[key] == 1 && strings.Contains(err.Error(), key) {
				t.Fatal("the error quotes the key")
			}
			return
		}
		if err := d.check(); err != nil {
			t.Fatalf("parsed into an invalid Device: %v", err)
		}
		if len(d.Key) == 0 && d.PolicyName != "" {
			t.Fatal("a policy without a key")
		}
		if strings.Contains(d.String(), "Key: redacted") != (len(d.Key) > 0) {
			t.Fatalf("String: %s", d)
		}
	})
}

// TestFuzzSeedsErrNoMatch: the parsers tell a topic of another kind from
// a malformed one on every seed that is another parser's valid input.
func TestFuzzSeedsErrNoMatch(t *testing.T) {
	valid := []string{
		"devices/dev-1/messages/devicebound/a=1",
		"$iothub/twin/res/200/?$rid=1",
		"$iothub/twin/PATCH/properties/desired/?$version=8",
		"$iothub/methods/POST/reboot/?$rid=1",
	}
	parsers := []func(string) error{
		func(s string) error { _, err := ParseC2DTopic(s); return err },
		func(s string) error { _, err := ParseTwinResponseTopic(s); return err },
		func(s string) error { _, err := ParseTwinDesiredTopic(s); return err },
		func(s string) error { _, err := ParseMethodTopic(s); return err },
	}
	for i, parse := range parsers {
		for j, s := range valid {
			err := parse(s)
			if i == j && err != nil {
				t.Errorf("parser %d on its own %q: %v", i, s, err)
			}
			if i != j && !errors.Is(err, ErrNoMatch) {
				t.Errorf("parser %d on %q: %v, want ErrNoMatch", i, s, err)
			}
		}
	}
}
