package azure

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoMatch is wrapped by the errors of the Parse functions when the topic
// is not of the kind they parse (a twin response given to ParseMethodTopic),
// as opposed to one of that kind that is malformed. A handler subscribed to
// several filters can try each parser in turn.
var ErrNoMatch = errors.New("azure: topic does not match")

// Topic filters to subscribe to. IoT Hub grants at most QoS 1 and takes
// only these filters (and those of Device.C2DFilter), up to five at a time.
const (
	// TwinResponseFilter receives the answers to twin requests
	// (TwinGetTopic, TwinReportedTopic); see ParseTwinResponseTopic.
	TwinResponseFilter = "$iothub/twin/res/#"
	// TwinDesiredFilter receives changes of the desired properties while
	// connected; see ParseTwinDesiredTopic. IoT Hub sends none for
	// changes made while the device was away: get the whole twin after
	// each connection.
	TwinDesiredFilter = "$iothub/twin/PATCH/properties/desired/#"
	// MethodFilter receives direct method calls; see ParseMethodTopic and
	// MethodResponseTopic.
	MethodFilter = "$iothub/methods/POST/#"
)

const (
	twinResPrefix     = "$iothub/twin/res/"
	twinDesiredPrefix = "$iothub/twin/PATCH/properties/desired/"
	methodPrefix      = "$iothub/methods/POST/"
)

// TelemetryTopic returns the topic to publish d's telemetry
// (device-to-cloud messages) to, with props as the message's properties:
// "devices/{deviceID}/messages/events/{props}", or
// "devices/{deviceID}/modules/{moduleID}/messages/events/{props}" for a
// module. It is also the topic for a Will that IoT Hub forwards as
// telemetry. props may be nil.
func (d *Device) TelemetryTopic(props Properties) string {
	t := "devices/" + d.DeviceID
	if d.ModuleID != "" {
		t += "/modules/" + d.ModuleID
	}
	return t + "/messages/events/" + props.Encode()
}

// C2DFilter returns the filter to subscribe to for d's incoming messages:
// "devices/{deviceID}/messages/devicebound/#" for a device's
// cloud-to-device messages; "devices/{deviceID}/modules/{moduleID}/#" for
// a module, to which IoT Hub sends no cloud-to-device messages but an IoT
// Edge hub delivers the messages routed to the module's inputs. See
// ParseC2DTopic.
func (d *Device) C2DFilter() string {
	if d.ModuleID != "" {
		return "devices/" + d.DeviceID + "/modules/" + d.ModuleID + "/#"
	}
	return "devices/" + d.DeviceID + "/messages/devicebound/#"
}

// C2DTopic is what the topic of an incoming message says.
type C2DTopic struct {
	DeviceID string
	// ModuleID and Input are set for a message an IoT Edge hub routed to
	// a module's input.
	ModuleID, Input string
	// Properties are the message's system properties ($.mid, $.to, ...)
	// and application properties.
	Properties Properties
}

// ParseC2DTopic parses the topic of a message received on a
// Device.C2DFilter: "devices/{deviceID}/messages/devicebound/{properties}"
// (a cloud-to-device message) or
// "devices/{deviceID}/modules/{moduleID}/inputs/{input}/{properties}" (a
// message routed to a module's input by IoT Edge).
func ParseC2DTopic(topic string) (C2DTopic, error) {
	rest, ok := strings.CutPrefix(topic, "devices/")
	if !ok {
		return C2DTopic{}, noMatch("cloud-to-device", topic)
	}
	var m C2DTopic
	var bag string
	if id, after, ok := strings.Cut(rest, "/messages/devicebound"); ok && !strings.Contains(id, "/") {
		if after != "" && after[0] != '/' {
			return C2DTopic{}, noMatch("cloud-to-device", topic)
		}
		m.DeviceID = id
		bag = strings.TrimPrefix(after, "/")
	} else if id, after, ok := strings.Cut(rest, "/modules/"); ok && !strings.Contains(id, "/") {
		mod, after, ok := strings.Cut(after, "/inputs/")
		if !ok || strings.Contains(mod, "/") {
			return C2DTopic{}, noMatch("module input", topic)
		}
		input, props, _ := strings.Cut(after, "/")
		if input == "" {
			return C2DTopic{}, fmt.Errorf("azure: module input topic %q: no input name", clip(topic))
		}
		if mod == "" {
			return C2DTopic{}, fmt.Errorf("azure: module input topic %q: no module ID", clip(topic))
		}
		m.DeviceID, m.ModuleID, m.Input = id, mod, input
		bag = props
	} else {
		return C2DTopic{}, noMatch("cloud-to-device", topic)
	}
	if m.DeviceID == "" {
		return C2DTopic{}, fmt.Errorf("azure: cloud-to-device topic %q: no device ID", clip(topic))
	}
	if strings.Contains(bag, "/") {
		return C2DTopic{}, fmt.Errorf("azure: cloud-to-device topic %q: a \"/\" in the properties", clip(topic))
	}
	p, err := parseProperties(bag)
	if err != nil {
		return C2DTopic{}, fmt.Errorf("azure: cloud-to-device topic %q: %v", clip(topic), err)
	}
	m.Properties = p
	return m, nil
}

// TwinGetTopic returns the topic to publish an empty message to, to get
// the device's (or module's) twin: "$iothub/twin/GET/?$rid={rid}". The
// answer comes on TwinResponseFilter with the same request ID, which may
// be any text that tells the device's requests apart (a counter will do).
func TwinGetTopic(rid string) string {
	return "$iothub/twin/GET/?$rid=" + escape(rid)
}

// TwinReportedTopic returns the topic to publish a JSON patch of the
// twin's reported properties to:
// "$iothub/twin/PATCH/properties/reported/?$rid={rid}". The answer (status
// 204 and the new version) comes on TwinResponseFilter.
func TwinReportedTopic(rid string) string {
	return "$iothub/twin/PATCH/properties/reported/?$rid=" + escape(rid)
}

// TwinResponse is what the topic of a twin response says.
type TwinResponse struct {
	// Status is the HTTP-like status: 200 with the twin for a GET, 204 for
	// a reported-properties update, 400 for a malformed request, 429 when
	// throttled, 5xx for the hub's errors.
	Status int
	// RequestID is the request's $rid.
	RequestID string
	// Version is the reported properties' new $version after an update,
	// or 0 when the topic carries none.
	Version int64
}

// ParseTwinResponseTopic parses the topic of a message received on
// TwinResponseFilter: "$iothub/twin/res/{status}/?$rid={rid}", with
// "&$version={version}" after an update.
func ParseTwinResponseTopic(topic string) (TwinResponse, error) {
	rest, ok := strings.CutPrefix(topic, twinResPrefix)
	if !ok {
		return TwinResponse{}, noMatch("twin response", topic)
	}
	status, bag, ok := strings.Cut(rest, "/")
	if !ok {
		return TwinResponse{}, fmt.Errorf("azure: twin response topic %q: no request ID", clip(topic))
	}
	var r TwinResponse
	var err error
	if r.Status, err = parseStatus(status); err != nil {
		return TwinResponse{}, fmt.Errorf("azure: twin response topic %q: %w", clip(topic), err)
	}
	p, err := parseBag("twin response", topic, bag)
	if err != nil {
		return TwinResponse{}, err
	}
	rid, ok := p.Get("$rid")
	if !ok {
		return TwinResponse{}, fmt.Errorf("azure: twin response topic %q: no $rid", clip(topic))
	}
	r.RequestID = rid
	if v, ok := p.Get("$version"); ok {
		if r.Version, err = parseVersion(v); err != nil {
			return TwinResponse{}, fmt.Errorf("azure: twin response topic %q: %w", clip(topic), err)
		}
	}
	return r, nil
}

// ParseTwinDesiredTopic parses the topic of a message received on
// TwinDesiredFilter, "$iothub/twin/PATCH/properties/desired/?$version={version}",
// and returns the desired properties' new version. The payload is a JSON
// patch: members set to null are deleted.
func ParseTwinDesiredTopic(topic string) (version int64, err error) {
	bag, ok := strings.CutPrefix(topic, twinDesiredPrefix)
	if !ok {
		return 0, noMatch("desired properties", topic)
	}
	p, err := parseBag("desired properties", topic, bag)
	if err != nil {
		return 0, err
	}
	v, ok := p.Get("$version")
	if !ok {
		return 0, fmt.Errorf("azure: desired properties topic %q: no $version", clip(topic))
	}
	if version, err = parseVersion(v); err != nil {
		return 0, fmt.Errorf("azure: desired properties topic %q: %w", clip(topic), err)
	}
	return version, nil
}

// MethodRequest is what the topic of a direct method call says.
type MethodRequest struct {
	Name      string // the method's name
	RequestID string // the request's $rid, for MethodResponseTopic
}

// ParseMethodTopic parses the topic of a message received on MethodFilter:
// "$iothub/methods/POST/{method name}/?$rid={rid}". The payload is the
// call's JSON argument, or empty.
func ParseMethodTopic(topic string) (MethodRequest, error) {
	rest, ok := strings.CutPrefix(topic, methodPrefix)
	if !ok {
		return MethodRequest{}, noMatch("direct method", topic)
	}
	name, bag, ok := strings.Cut(rest, "/")
	if !ok {
		return MethodRequest{}, fmt.Errorf("azure: direct method topic %q: no request ID", clip(topic))
	}
	if name == "" {
		return MethodRequest{}, fmt.Errorf("azure: direct method topic %q: no method name", clip(topic))
	}
	p, err := parseBag("direct method", topic, bag)
	if err != nil {
		return MethodRequest{}, err
	}
	rid, ok := p.Get("$rid")
	if !ok {
		return MethodRequest{}, fmt.Errorf("azure: direct method topic %q: no $rid", clip(topic))
	}
	return MethodRequest{Name: name, RequestID: rid}, nil
}

// MethodResponseTopic returns the topic to publish a direct method's
// result to: "$iothub/methods/res/{status}/?$rid={rid}", rid being the
// call's MethodRequest.RequestID. status is the method's own result code,
// which the caller receives (200 for success, by convention); the payload
// is a JSON value, or empty.
func MethodResponseTopic(status int, rid string) string {
	return "$iothub/methods/res/" + strconv.Itoa(status) + "/?$rid=" + escape(rid)
}

// parseBag parses the property bag at the end of a twin or method topic:
// one level, starting with "?".
func parseBag(kind, topic, bag string) (Properties, error) {
	if !strings.HasPrefix(bag, "?") || strings.Contains(bag, "/") {
		return nil, fmt.Errorf("azure: %s topic %q: the last level is not \"?$rid=...\"", kind, clip(topic))
	}
	p, err := parseProperties(bag)
	if err != nil {
		return nil, fmt.Errorf("azure: %s topic %q: %v", kind, clip(topic), err)
	}
	return p, nil
}

// parseStatus parses a status code: three decimal digits.
func parseStatus(s string) (int, error) {
	if len(s) != 3 || s[0] < '1' || s[0] > '9' {
		return 0, fmt.Errorf("status %q is not a three-digit number", clip(s))
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("status %q is not a three-digit number", clip(s))
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

// parseVersion parses a twin version: decimal digits, at most
// math.MaxInt64.
func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("$version %q is not a non-negative number", clip(s))
	}
	return int64(v), nil
}

// noMatch returns the error of a parser given a topic of another kind.
func noMatch(kind, topic string) error {
	return fmt.Errorf("%w: %q is not a %s topic", ErrNoMatch, clip(topic), kind)
}
