package azure

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ternmq/mqtt/topic"
)

func TestTopicBuilders(t *testing.T) {
	dev := &Device{Hub: "h", DeviceID: "dev-1"}
	mod := &Device{Hub: "h", DeviceID: "dev-1", ModuleID: "mod-1"}
	props := Properties{
		{Name: PropContentType, Value: "application/json"},
		{Name: PropContentEncoding, Value: "utf-8"},
		{Name: "alert", Value: "a&b=c d"},
		{Name: "flag", Null: true},
		{Name: "empty"},
	}
	for _, tt := range []struct{ got, want string }{
		{dev.TelemetryTopic(nil), "devices/dev-1/messages/events/"},
		{dev.TelemetryTopic(props), "devices/dev-1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&alert=a%26b%3Dc%20d&flag&empty="},
		{mod.TelemetryTopic(Properties{{Name: "k", Value: "v"}}), "devices/dev-1/modules/mod-1/messages/events/k=v"},
		{dev.C2DFilter(), "devices/dev-1/messages/devicebound/#"},
		{mod.C2DFilter(), "devices/dev-1/modules/mod-1/#"},
		{TwinGetTopic("1"), "$iothub/twin/GET/?$rid=1"},
		{TwinGetTopic("a b/c"), "$iothub/twin/GET/?$rid=a%20b%2Fc"},
		{TwinReportedTopic("42"), "$iothub/twin/PATCH/properties/reported/?$rid=42"},
		{MethodResponseTopic(200, "7"), "$iothub/methods/res/200/?$rid=7"},
		{MethodResponseTopic(404, "x+y"), "$iothub/methods/res/404/?$rid=x%2By"},
	} {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
		if strings.HasSuffix(tt.want, "#") {
			if err := topic.CheckFilter(tt.got); err != nil {
				t.Errorf("%s: %v", tt.got, err)
			}
		} else if err := topic.CheckName(tt.got); err != nil {
			t.Errorf("%s: %v", tt.got, err)
		}
	}
	for _, f := range []string{TwinResponseFilter, TwinDesiredFilter, MethodFilter} {
		if err := topic.CheckFilter(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseProperties(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Properties
	}{
		{"", nil},
		{"?", nil},
		{"a=1", Properties{{Name: "a", Value: "1"}}},
		{"?prop1&prop2=&prop3=a%20string", Properties{{Name: "prop1", Null: true}, {Name: "prop2"}, {Name: "prop3", Value: "a string"}}},
		{"%24.mid=m1&%24.to=%2Fdevices%2Fd%2Fmessages%2FdeviceBound&iothub-ack=full",
			Properties{{Name: "$.mid", Value: "m1"}, {Name: "$.to", Value: "/devices/d/messages/deviceBound"}, {Name: "iothub-ack", Value: "full"}}},
		{"$.ct=application%2Fjson&$.ce=utf-8", Properties{{Name: "$.ct", Value: "application/json"}, {Name: "$.ce", Value: "utf-8"}}},
		{"a=b=c&&x=1+2", Properties{{Name: "a", Value: "b=c"}, {Name: "x", Value: "1 2"}}},
	} {
		got, err := ParseProperties(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"=v", "a=%zz", "%2=v", "a=1&=2", "a=%"} {
		if p, err := ParseProperties(in); err == nil || !strings.HasPrefix(err.Error(), "azure: property bag: ") {
			t.Errorf("%q: got %v, %v", in, p, err)
		}
	}
	p := Properties{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}, {Name: "a", Value: "3"}}
	if v, ok := p.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q, %v", v, ok)
	}
	if _, ok := p.Get("c"); ok {
		t.Error("Get(c) found something")
	}
}

func TestParseC2DTopic(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want C2DTopic
	}{
		{"devices/dev-1/messages/devicebound/", C2DTopic{DeviceID: "dev-1"}},
		{"devices/dev-1/messages/devicebound", C2DTopic{DeviceID: "dev-1"}},
		{"devices/dev-1/messages/devicebound/%24.mid=1&color=dark%20blue&flag",
			C2DTopic{DeviceID: "dev-1", Properties: Properties{{Name: "$.mid", Value: "1"}, {Name: "color", Value: "dark blue"}, {Name: "flag", Null: true}}}},
		{"devices/dev-1/messages/devicebound/?a=1", C2DTopic{DeviceID: "dev-1", Properties: Properties{{Name: "a", Value: "1"}}}},
		{"devices/edge/modules/filter/inputs/in1/%24.cdid=edge&%24.cmid=sender",
			C2DTopic{DeviceID: "edge", ModuleID: "filter", Input: "in1", Properties: Properties{{Name: "$.cdid", Value: "edge"}, {Name: "$.cmid", Value: "sender"}}}},
		{"devices/edge/modules/filter/inputs/in1", C2DTopic{DeviceID: "edge", ModuleID: "filter", Input: "in1"}},
	} {
		got, err := ParseC2DTopic(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in      string
		noMatch bool
	}{
		{"", true},
		{"devices/", true},
		{"devices/d/messages/events/", true},
		{"devices/d/messages/deviceboundx", true},
		{"other/d/messages/devicebound/", true},
		{"devices/a/b/messages/devicebound/", true},
		{"devices/d/modules/m/messages/devicebound/", true},
		{"$iothub/twin/res/200/?$rid=1", true},
		{"devices//messages/devicebound/", false},
		{"devices/d/messages/devicebound/a=1/b=2", false},
		{"devices/d/messages/devicebound/a=%zz", false},
		{"devices/d/modules//inputs/x/", false},
		{"devices/d/modules/m/inputs//", false},
	} {
		got, err := ParseC2DTopic(tt.in)
		if err == nil {
			t.Errorf("%q: no error, got %+v", tt.in, got)
			continue
		}
		if errors.Is(err, ErrNoMatch) != tt.noMatch || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%q: %v (ErrNoMatch %v, want %v)", tt.in, err, errors.Is(err, ErrNoMatch), tt.noMatch)
		}
	}
}

func TestParseTwinResponseTopic(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want TwinResponse
	}{
		{"$iothub/twin/res/200/?$rid=1", TwinResponse{Status: 200, RequestID: "1"}},
		{"$iothub/twin/res/204/?$rid=6&$version=7", TwinResponse{Status: 204, RequestID: "6", Version: 7}},
		{"$iothub/twin/res/429/?%24rid=a%20b&%24version=9223372036854775807", TwinResponse{Status: 429, RequestID: "a b", Version: 1<<63 - 1}},
		{"$iothub/twin/res/500/?$version=3&$rid=", TwinResponse{Status: 500, Version: 3}},
	} {
		got, err := ParseTwinResponseTopic(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
		} else if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in      string
		noMatch bool
	}{
		{"", true},
		{"$iothub/twin/GET/?$rid=1", true},
		{"$iothub/methods/POST/m/?$rid=1", true},
		{"$iothub/twin/res/", false},
		{"$iothub/twin/res/200", false},
		{"$iothub/twin/res/200/", false},
		{"$iothub/twin/res/200/$rid=1", false},
		{"$iothub/twin/res/200/?$version=1", false},
		{"$iothub/twin/res/20/?$rid=1", false},
		{"$iothub/twin/res/2000/?$rid=1", false},
		{"$iothub/twin/res/abc/?$rid=1", false},
		{"$iothub/twin/res/-20/?$rid=1", false},
		{"$iothub/twin/res/200/?$rid=1&$version=-1", false},
		{"$iothub/twin/res/200/?$rid=1&$version=+1", false},
		{"$iothub/twin/res/200/?$rid=1&$version=9223372036854775808", false},
		{"$iothub/twin/res/200/?$rid=1&$version=", false},
		{"$iothub/twin/res/200/?$rid=%", false},
		{"$iothub/twin/res/200/x/?$rid=1", false},
	} {
		got, err := ParseTwinResponseTopic(tt.in)
		if err == nil {
			t.Errorf("%q: no error, got %+v", tt.in, got)
			continue
		}
		if errors.Is(err, ErrNoMatch) != tt.noMatch || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%q: %v", tt.in, err)
		}
	}
}

func TestParseTwinDesiredTopic(t *testing.T) {
	for in, want := range map[string]int64{
		"$iothub/twin/PATCH/properties/desired/?$version=8":          8,
		"$iothub/twin/PATCH/properties/desired/?%24version=0":        0,
		"$iothub/twin/PATCH/properties/desired/?x=y&$version=123456": 123456,
	} {
		got, err := ParseTwinDesiredTopic(in)
		if err != nil || got != want {
			t.Errorf("%s: got %d, %v; want %d", in, got, err, want)
		}
	}
	for in, noMatch := range map[string]bool{
		"": true,
		"$iothub/twin/PATCH/properties/reported/?$rid=1":      true,
		"$iothub/twin/PATCH/properties/desired":               true,
		"$iothub/twin/PATCH/properties/desired/":              false,
		"$iothub/twin/PATCH/properties/desired/?$rid=1":       false,
		"$iothub/twin/PATCH/properties/desired/?$version=x":   false,
		"$iothub/twin/PATCH/properties/desired/$version=1":    false,
		"$iothub/twin/PATCH/properties/desired/a/?$version=1": false,
	} {
		got, err := ParseTwinDesiredTopic(in)
		if err == nil {
			t.Errorf("%q: no error, got %d", in, got)
		} else if errors.Is(err, ErrNoMatch) != noMatch || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestParseMethodTopic(t *testing.T) {
	for in, want := range map[string]MethodRequest{
		"$iothub/methods/POST/reboot/?$rid=1":        {Name: "reboot", RequestID: "1"},
		"$iothub/methods/POST/set-led/?%24rid=a%2Fb": {Name: "set-led", RequestID: "a/b"},
		"$iothub/methods/POST/m/?$rid=":              {Name: "m"},
	} {
		got, err := ParseMethodTopic(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, noMatch := range map[string]bool{
		"":                                  true,
		"$iothub/methods/res/200/?$rid=1":   true,
		"$iothub/methods/POST":              true,
		"$iothub/methods/POST/":             false,
		"$iothub/methods/POST/reboot":       false,
		"$iothub/methods/POST//?$rid=1":     false,
		"$iothub/methods/POST/reboot/":      false,
		"$iothub/methods/POST/reboot/?x=1":  false,
		"$iothub/methods/POST/a/b/?$rid=1":  false,
		"$iothub/methods/POST/m/?$rid=%g0":  false,
		"$iothub/methods/POST/m/?=1&$rid=1": false,
	} {
		got, err := ParseMethodTopic(in)
		if err == nil {
			t.Errorf("%q: no error, got %+v", in, got)
		} else if errors.Is(err, ErrNoMatch) != noMatch || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// TestLongTopicErrors: an error quotes a long topic clipped.
func TestLongTopicErrors(t *testing.T) {
	long := "$iothub/methods/POST/m/?$rid=" + strings.Repeat("x", 10000) + "%"
	_, err := ParseMethodTopic(long)
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
}
