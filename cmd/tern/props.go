package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ternmq/mqtt/packet"
)

// propList is the repeatable -D flag: each value is "command\x00identifier
// \x00value" (or four words for a user property), as joinProperties makes
// it, or the same words separated by spaces.
type propList []string

func (p *propList) String() string     { return strings.Join(*p, ", ") }
func (p *propList) Set(s string) error { *p = append(*p, s); return nil }
func (p *propList) reset()             { *p = nil }

// properties are the MQTT 5.0 properties -D gives, by the packet that
// carries them.
type properties struct {
	connect, publish, will, subscribe, unsubscribe, disconnect packet.Properties
	any                                                        bool
	cmds                                                       map[string]bool // the commands given
}

// propertyIDs are the properties by the names mosquitto_pub gives them:
// the specification's, lower case, words joined by '-'.
var propertyIDs = map[string]packet.PropertyID{
	"payload-format-indicator":          packet.PropPayloadFormat,
	"message-expiry-interval":           packet.PropMessageExpiry,
	"content-type":                      packet.PropContentType,
	"response-topic":                    packet.PropResponseTopic,
	"correlation-data":                  packet.PropCorrelationData,
	"subscription-identifier":           packet.PropSubscriptionID,
	"session-expiry-interval":           packet.PropSessionExpiry,
	"assigned-client-identifier":        packet.PropAssignedClientID,
	"server-keep-alive":                 packet.PropServerKeepAlive,
	"authentication-method":             packet.PropAuthMethod,
	"authentication-data":               packet.PropAuthData,
	"request-problem-information":       packet.PropRequestProblemInfo,
	"will-delay-interval":               packet.PropWillDelay,
	"request-response-information":      packet.PropRequestResponseInfo,
	"response-information":              packet.PropResponseInfo,
	"server-reference":                  packet.PropServerReference,
	"reason-string":                     packet.PropReasonString,
	"receive-maximum":                   packet.PropReceiveMaximum,
	"topic-alias-maximum":               packet.PropTopicAliasMaximum,
	"topic-alias":                       packet.PropTopicAlias,
	"maximum-qos":                       packet.PropMaximumQoS,
	"retain-available":                  packet.PropRetainAvailable,
	"user-property":                     packet.PropUser,
	"maximum-packet-size":               packet.PropMaximumPacketSize,
	"wildcard-subscription-available":   packet.PropWildcardSubAvailable,
	"subscription-identifier-available": packet.PropSubIDAvailable,
	"shared-subscription-available":     packet.PropSharedSubAvailable,
}

// propertyCommands are the packets -D names, with their types; "will" is
// the Will Properties of CONNECT.
var propertyCommands = map[string]packet.Type{
	"connect": packet.TypeConnect, "publish": packet.TypePublish, "puback": packet.TypePuback,
	"pubrec": packet.TypePubrec, "pubrel": packet.TypePubrel, "pubcomp": packet.TypePubcomp,
	"subscribe": packet.TypeSubscribe, "unsubscribe": packet.TypeUnsubscribe,
	"disconnect": packet.TypeDisconnect, "auth": packet.TypeAuth, "will": 0,
}

// parseProperties parses the -D values; allowed are the commands (packets)
// the tern command sends and lets the user fill.
func parseProperties(list []string, allowed ...string) (properties, error) {
	var p properties
	for _, spec := range list {
		words := strings.Split(spec, "\x00")
		if len(words) == 1 {
			words = strings.Fields(spec)
		}
		if len(words) < 3 {
			return p, fmt.Errorf("-D %q: give a command, a property and its value, as -D publish content-type text/plain", spec)
		}
		cmd, name := strings.ToLower(words[0]), strings.ToLower(words[1])
		t, ok := propertyCommands[cmd]
		if !ok {
			return p, fmt.Errorf("-D %s: unknown command; give one of %s", words[0], strings.Join(allowed, ", "))
		}
		dst := p.target(cmd, allowed)
		if dst == nil {
			return p, fmt.Errorf("-D %s: this command sends no %s packet whose properties it may set; give one of %s",
				cmd, strings.ToUpper(cmd), strings.Join(allowed, ", "))
		}
		id, ok := propertyIDs[name]
		if !ok {
			return p, fmt.Errorf("-D %s %s: unknown property; the names are the specification's, as content-type or user-property", cmd, words[1])
		}
		if cmd == "will" && !id.AllowedInWill() || cmd != "will" && !id.AllowedIn(t) {
			return p, fmt.Errorf("-D %s %s: %s does not carry this property", cmd, name, strings.ToUpper(cmd))
		}
		values := words[2:]
		want := 1
		if id == packet.PropUser {
			want = 2
		}
		if len(values) != want {
			return p, fmt.Errorf("-D %s %s takes %d value(s)", cmd, name, want)
		}
		if err := setProperty(dst, id, values); err != nil {
			return p, fmt.Errorf("-D %s %s: %v", cmd, name, err)
		}
		p.any = true
		if p.cmds == nil {
			p.cmds = make(map[string]bool)
		}
		p.cmds[cmd] = true
	}
	return p, nil
}

// target returns the properties of the packet cmd names, nil when the
// command does not let the user set them.
func (p *properties) target(cmd string, allowed []string) *packet.Properties {
	found := false
	for _, a := range allowed {
		found = found || a == cmd
	}
	if !found {
		return nil
	}
	switch cmd {
	case "connect":
		return &p.connect
	case "publish":
		return &p.publish
	case "will":
		return &p.will
	case "subscribe":
		return &p.subscribe
	case "unsubscribe":
		return &p.unsubscribe
	case "disconnect":
		return &p.disconnect
	}
	return nil
}

// setProperty sets the property id of dst from its value(s) on the command line.
func setProperty(dst *packet.Properties, id packet.PropertyID, values []string) error {
	v := values[0]
	num := func(bits int) (uint64, error) {
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number from 0 to %d", v, uint64(1)<<bits-1)
		}
		return n, nil
	}
	var n uint64
	var err error
	switch id.DataType() {
	case packet.DataByte:
		n, err = num(8)
	case packet.DataTwoByteInt:
		n, err = num(16)
	case packet.DataFourByteInt, packet.DataVarInt:
		n, err = num(32)
	}
	if err != nil {
		return err
	}
	u32 := uint32(n)
	switch id {
	case packet.PropPayloadFormat:
		if n > 1 {
			return fmt.Errorf("give 0 (bytes) or 1 (UTF-8 text)")
		}
		dst.PayloadFormat = byte(n)
	case packet.PropMessageExpiry:
		dst.MessageExpiryInterval = &u32
	case packet.PropContentType:
		dst.ContentType = v
	case packet.PropResponseTopic:
		dst.ResponseTopic = v
	case packet.PropCorrelationData:
		dst.CorrelationData = []byte(v)
	case packet.PropSubscriptionID:
		if n < 1 || n > 268435455 {
			return fmt.Errorf("give a number from 1 to 268435455")
		}
		dst.SubscriptionIDs = []uint32{u32}
	case packet.PropSessionExpiry:
		dst.SessionExpiryInterval = &u32
	case packet.PropAuthMethod:
		dst.AuthMethod = v
	case packet.PropAuthData:
		dst.AuthData = []byte(v)
	case packet.PropRequestProblemInfo:
		if n > 1 {
			return fmt.Errorf("give 0 or 1")
		}
		b := n == 1
		dst.RequestProblemInfo = &b
	case packet.PropWillDelay:
		dst.WillDelayInterval = u32
	case packet.PropRequestResponseInfo:
		if n > 1 {
			return fmt.Errorf("give 0 or 1")
		}
		dst.RequestResponseInfo = n == 1
	case packet.PropReasonString:
		dst.ReasonString = v
	case packet.PropReceiveMaximum:
		if n == 0 {
			return fmt.Errorf("give a number from 1 to 65535")
		}
		dst.ReceiveMaximum = uint16(n)
	case packet.PropTopicAliasMaximum:
		dst.TopicAliasMaximum = uint16(n)
	case packet.PropTopicAlias:
		if n == 0 {
			return fmt.Errorf("give a number from 1 to 65535")
		}
		dst.TopicAlias = uint16(n)
	case packet.PropUser:
		dst.User = append(dst.User, packet.UserProperty{Key: values[0], Value: values[1]})
	case packet.PropMaximumPacketSize:
		if n == 0 {
			return fmt.Errorf("give a number from 1 to 4294967295")
		}
		dst.MaximumPacketSize = u32
	default:
		return fmt.Errorf("tern does not send this property")
	}
	return nil
}
