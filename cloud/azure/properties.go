package azure

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// System properties a device may set on a telemetry message, and that
// cloud-to-device messages carry. Application properties have names
// without the "$." prefix.
const (
	PropMessageID       = "$.mid"   // message ID
	PropCorrelationID   = "$.cid"   // correlation ID
	PropUserID          = "$.uid"   // user ID
	PropContentType     = "$.ct"    // content type: "application/json"; needed to route on the body
	PropContentEncoding = "$.ce"    // content encoding: "utf-8"
	PropCreationTime    = "$.ctime" // creation time, ISO 8601
	PropTo              = "$.to"    // cloud-to-device: the destination
	PropExpiry          = "$.exp"   // cloud-to-device: the expiry time
)

// Property is one entry of a message's property bag.
type Property struct {
	Name, Value string
	// Null marks a name without a value ("name" alone in the bag, not
	// "name="), which is how IoT Hub sends a property whose value is
	// null. Value is then empty.
	Null bool
}

// Properties is a message's property bag: the part of a telemetry or
// cloud-to-device topic after its last "/", in order. Names and values are
// plain text; Encode and ParseProperties do the percent-encoding.
type Properties []Property

// Get returns the value of the first property named name, and whether
// there is one.
func (p Properties) Get(name string) (string, bool) {
	for _, q := range p {
		if q.Name == name {
			return q.Value, true
		}
	}
	return "", false
}

// Encode returns the bag as it goes in a topic: "name=value" pairs joined
// by "&", in order, each name and value percent-encoded (every byte but
// letters, digits and - . _ ~, so "$.ct" is "%24.ct" and "a b" is
// "a%20b", as the Azure IoT Embedded C SDK writes them); a Null property is
// its name alone. Encode of an empty bag is "".
func (p Properties) Encode() string {
	var b strings.Builder
	for i, q := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(q.Name))
		if !q.Null {
			b.WriteByte('=')
			b.WriteString(escape(q.Value))
		}
	}
	return b.String()
}

// ParseProperties parses a property bag from a topic: "name=value" pairs
// separated by "&", percent-encoded ("+" too is taken for a space, as in a
// query string), with an optional "?" in front. A pair without "=" is a
// Null property; empty pairs are skipped. It fails on a bad escape or an
// empty name.
func ParseProperties(bag string) (Properties, error) {
	p, err := parseProperties(bag)
	if err != nil {
		return nil, fmt.Errorf("azure: property bag: %v", err)
	}
	return p, nil
}

// parseProperties is ParseProperties with errors that say what is wrong
// but not where, for its callers to prefix.
func parseProperties(bag string) (Properties, error) {
	bag = strings.TrimPrefix(bag, "?")
	if bag == "" {
		return nil, nil
	}
	var p Properties
	for _, pair := range strings.Split(bag, "&") {
		if pair == "" {
			continue
		}
		rawName, rawValue, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, fmt.Errorf("bad escape in the name %q", clip(rawName))
		}
		if name == "" {
			return nil, fmt.Errorf("empty name in %q", clip(pair))
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("bad escape in the value of %q", clip(name))
		}
		p = append(p, Property{Name: name, Value: value, Null: !hasValue})
	}
	return p, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64 // bytes of the quoted text, as %q prints it
	w := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w += 4 // \xNN
		} else {
			w += len(strconv.QuoteRune(r)) - 2
		}
		if w > max {
			return s[:i] + "..."
		}
		i += size
	}
	return s
}
