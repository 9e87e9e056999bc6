package packet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// invalid is a packet a receiver must refuse, with the reason code it must
// answer with and a word of the error that says which check fired.
type invalid struct {
	name string
	ref  string
	v    Version
	hex  string
	code ReasonCode
	says string
}

var invalids = []invalid{
	// Fixed header.
	{"packet type 0", "5.0 Table 2-1 (Reserved)", V5, "00 00", 0x81, "type 0"},
	{"AUTH before 5.0", "3.1.1 Table 2.1 (15 Reserved)", V311, "f0 00", 0x81, "AUTH"},
	{"PUBACK flags", "MQTT-2.1.3-1", V5, "41 02 0001", 0x81, "flags"},
	{"PUBREL flags 0000", "MQTT-2.1.3-1, section 3.6.1", V311, "60 02 0001", 0x81, "flags"},
	{"SUBSCRIBE flags 0000", "3.1.1 MQTT-2.2.2-1, section 3.8.1", V311, "80 06 0001 0001 61 00", 0x81, "flags"},
	{"UNSUBSCRIBE flags 0011", "MQTT-2.1.3-1", V5, "a3 05 0001 00 0001 61", 0x81, "flags"},
	{"CONNACK flags", "MQTT-2.1.3-1", V311, "28 02 00 00", 0x81, "flags"},
	{"remaining length of five bytes", "5.0 section 1.5.5", V5, "30 ff ff ff ff 01", 0x81, "four bytes"},
	{"remaining length not minimal", "MQTT-1.5.5-1", V311, "c0 80 00", 0x81, "minimally"},
	{"remaining length too long for the fields", "3.1.1 section 3.4.1 (Remaining Length 2)", V311, "40 03 0001 00", 0x81, "remaining length"},
	{"PINGREQ with a body", "section 3.12.1", V5, "c0 01 00", 0x81, "remaining length"},
	{"DISCONNECT 3.1.1 with a body", "3.1.1 section 3.14.1", V311, "e0 01 00", 0x81, "remaining length"},
	{"UNSUBACK 3.1.1 with reason codes", "3.1.1 section 3.11.1", V311, "b0 03 0002 00", 0x81, "remaining length"},
	{"remaining length too short for a string", "section 1.5.4", V311, "10 0c 0004 4d515454 04 02 003c 0004", 0x81, "past the end"},
	{"property length past the packet", "5.0 section 2.2.2.1", V5, "30 04 0001 74 09", 0x81, "past the end"},
	{"property past the property length", "5.0 section 2.2.2.1", V5, "40 08 0001 80 02 1f 0001 61", 0x81, "past the end"},
	{"property identifier not minimal", "MQTT-1.5.5-1", V5, "30 07 0001 74 03 81 00 01", 0x81, "minimally"},

	// UTF-8 Encoded Strings.
	{"ill-formed UTF-8 topic", "MQTT-1.5.4-1", V5, "30 05 0002 c328 00", 0x81, "UTF-8"},
	{"surrogate in topic", "MQTT-1.5.4-1 (U+D800 to U+DFFF)", V311, "30 05 0003 eda080", 0x81, "UTF-8"},
	{"U+0000 in topic", "MQTT-1.5.4-2, 3.1.1 MQTT-1.5.3-2", V311, "30 05 0003 610062", 0x81, "U+0000"},
	{"U+0000 in a user property", "MQTT-1.5.7-1", V5, "40 0a 0001 00 06 26 0001 00 0001 61", 0x81, "U+0000"},
	{"ill-formed UTF-8 client identifier", "MQTT-1.5.4-1", V311, "10 0e 0004 4d515454 04 02 003c 0002 c328", 0x81, "UTF-8"},
	{"ill-formed UTF-8 topic filter", "MQTT-3.8.3-1", V311, "82 06 0001 0001 ff 00", 0x81, "UTF-8"},

	// PUBLISH.
	{"QoS 3", "MQTT-3.3.1-4", V311, "36 07 0003 612f62 0001", 0x81, "QoS 3"},
	{"DUP on QoS 0", "MQTT-3.3.1-2", V5, "38 06 0003 612f62 00", 0x82, "DUP"},
	{"Packet Identifier 0", "MQTT-2.2.1-3, 3.1.1 MQTT-2.3.1-1", V311, "32 07 0003 612f62 0000", 0x82, "Identifier 0"},
	{"# in Topic Name", "MQTT-3.3.2-2", V311, "30 05 0003 612f23", 0x82, "wildcard"},
	{"+ in Topic Name", "MQTT-4.7.0-1", V5, "30 06 0003 2b2f62 00", 0x82, "wildcard"},
	{"empty Topic Name 3.1.1", "MQTT-4.7.3-1", V311, "30 02 0000", 0x82, "empty Topic"},
	{"empty Topic Name, no alias", "5.0 section 3.3.2.1", V5, "30 03 0000 00", 0x82, "Topic Alias"},
	{"Topic Alias 0", "MQTT-3.3.2-8", V5, "30 06 0000 03 23 0000", 0x94, "Topic Alias of 0"},
	{"property not allowed in PUBLISH", "5.0 section 2.2.2.2", V5, "30 09 0001 74 05 11 00000001", 0x81, "not allowed"},
	{"repeated property", "5.0 section 3.3.2.3.2", V5, "30 08 0001 74 04 01 01 01 01", 0x82, "more than once"},
	{"unknown property", "5.0 section 2.2.2.2", V5, "30 06 0001 74 02 05 00", 0x81, "unknown property"},
	{"Payload Format Indicator 2", "5.0 section 3.3.2.3.2", V5, "30 06 0001 74 02 01 02", 0x82, "0 or 1"},
	{"Subscription Identifier 0", "5.0 section 3.3.2.3.8", V5, "30 06 0001 74 02 0b 00", 0x82, "Subscription Identifier of 0"},
	{"wildcard in Response Topic", "MQTT-3.3.2-14", V5, "30 09 0001 74 05 08 0002 612b", 0x82, "Response Topic"},

	// CONNECT.
	{"reserved Connect Flag", "MQTT-3.1.2-3", V311, "10 0d 0004 4d515454 04 03 003c 0001 61", 0x81, "reserved"},
	{"Will QoS without Will Flag", "MQTT-3.1.2-11", V311, "10 0d 0004 4d515454 04 0a 003c 0001 61", 0x81, "without a Will"},
	{"Will Retain without Will Flag", "MQTT-3.1.2-13", V5, "10 0e 0004 4d515454 05 22 003c 00 0001 61", 0x81, "without a Will"},
	{"Will QoS 3", "MQTT-3.1.2-12, 3.1.1 MQTT-3.1.2-14", V311, "10 0d 0004 4d515454 04 1c 003c 0001 61", 0x81, "Will QoS 3"},
	{"password without user name", "3.1.1 MQTT-3.1.2-22", V311, "10 10 0004 4d515454 04 40 003c 0001 61 0001 70", 0x81, "Password Flag"},
	{"protocol name MQTX", "MQTT-3.1.2-1", V311, "10 0d 0004 4d515458 04 02 003c 0001 61", 0x84, "protocol"},
	{"protocol level 6", "MQTT-3.1.2-2", V5, "10 0e 0004 4d515454 06 02 003c 00 0001 61", 0x84, "protocol"},
	{"level 5 read as 3.1.1", "MQTT-3.1.2-2", V311, "10 0e 0004 4d515454 05 02 003c 00 0001 61", 0x84, "protocol"},
	{"MQIsdp with level 4", "3.1.1 section 3.1.2.1", V311, "10 0f 0006 4d5149736470 04 02 003c 0001 61", 0x84, "protocol"},
	{"Topic Alias in CONNECT", "5.0 section 2.2.2.2", V5, "10 11 0004 4d515454 05 02 003c 03 23 0001 0001 61", 0x81, "not allowed"},
	{"Session Expiry in Will Properties", "5.0 section 3.1.3.2", V5, "10 17 0004 4d515454 05 06 003c 00 0001 61 05 11 00000001 0001 77 0000", 0x81, "not allowed in Will Properties"},
	{"Authentication Data without Method", "5.0 section 3.1.2.11.10", V5, "10 12 0004 4d515454 05 02 003c 04 16 0001 01 0001 61", 0x82, "Authentication Method"},
	{"Receive Maximum 0", "5.0 section 3.1.2.11.3", V5, "10 11 0004 4d515454 05 02 003c 03 21 0000 0001 61", 0x82, "Receive Maximum of 0"},
	{"Maximum Packet Size 0", "5.0 section 3.1.2.11.4", V5, "10 13 0004 4d515454 05 02 003c 05 27 00000000 0001 61", 0x82, "Maximum Packet Size of 0"},
	{"Request Problem Information 2", "5.0 section 3.1.2.11.7", V5, "10 10 0004 4d515454 05 02 003c 02 17 02 0001 61", 0x82, "0 or 1"},
	{"wildcard in Will Topic", "MQTT-3.3.2-2, 5.0 section 3.2.2.2 (0x90)", V311, "10 12 0004 4d515454 04 06 003c 0001 61 0001 23 0000", 0x90, "Will Topic"},

	// CONNACK.
	{"reserved acknowledge flags", "MQTT-3.2.2-1", V311, "20 02 02 00", 0x81, "reserved"},
	{"Session Present with a refusal 3.1.1", "3.1.1 MQTT-3.2.2-4", V311, "20 02 01 05", 0x82, "Session Present"},
	{"Session Present with a refusal 5.0", "MQTT-3.2.2-6", V5, "20 03 01 87 00", 0x82, "Session Present"},
	{"reserved return code 6", "3.1.1 Table 3.1", V311, "20 02 00 06", 0x82, "return code"},
	{"reason code not for CONNACK", "MQTT-3.2.2-8", V5, "20 03 00 10 00", 0x82, "not valid in CONNACK"},
	{"CONNACK without Property Length", "MQTT-2.2.2-1", V5, "20 02 00 00", 0x81, "past the end"},
	{"Maximum QoS 2", "5.0 section 3.2.2.3.4", V5, "20 05 00 00 02 24 02", 0x82, "Maximum QoS"},
	{"Retain Available 2", "5.0 section 3.2.2.3.5", V5, "20 05 00 00 02 25 02", 0x82, "0 or 1"},
	{"Server Keep Alive twice", "5.0 section 3.2.2.3.14", V5, "20 09 00 00 06 13 0001 13 0002", 0x82, "more than once"},
	{"Topic Alias in CONNACK", "5.0 section 2.2.2.2", V5, "20 06 00 00 03 23 0001", 0x81, "not allowed"},

	// Acknowledgements.
	{"PUBACK Packet Identifier 0", "MQTT-2.2.1-5", V311, "40 02 0000", 0x82, "Identifier 0"},
	{"PUBCOMP Packet Identifier 0", "MQTT-2.2.1-5", V5, "70 02 0000", 0x82, "Identifier 0"},
	{"PUBACK with a PUBREL reason code", "5.0 section 3.4.2.1", V5, "40 03 0001 92", 0x82, "not valid in PUBACK"},
	{"PUBREL with a PUBACK reason code", "5.0 section 3.6.2.1", V5, "62 03 0001 10", 0x82, "not valid in PUBREL"},
	{"PUBACK with Topic Alias", "5.0 section 3.4.2.2", V5, "40 07 0001 00 03 23 0001", 0x81, "not allowed"},
	{"PUBREC Reason String twice", "5.0 section 3.5.2.2.2", V5, "50 0c 0001 80 08 1f 0001 61 1f 0001 62", 0x82, "more than once"},

	// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK.
	{"SUBSCRIBE without filters 3.1.1", "3.1.1 MQTT-3.8.3-3", V311, "82 02 0001", 0x82, "no topic filters"},
	{"SUBSCRIBE without filters 5.0", "MQTT-3.8.3-2", V5, "82 03 0001 00", 0x82, "no topic filters"},
	{"SUBSCRIBE Packet Identifier 0", "MQTT-2.2.1-3", V311, "82 06 0000 0001 61 00", 0x82, "Identifier 0"},
	{"subscription options reserved bits 3.1.1", "3.1.1 MQTT-3-8.3-4", V311, "82 06 0001 0001 61 04", 0x81, "reserved"},
	{"subscription options reserved bits 5.0", "MQTT-3.8.3-5", V5, "82 07 0001 00 0001 61 40", 0x81, "reserved"},
	{"subscription QoS 3", "5.0 section 3.8.3.1", V5, "82 07 0001 00 0001 61 03", 0x81, "QoS 3"},
	{"Retain Handling 3", "5.0 section 3.8.3.1", V5, "82 07 0001 00 0001 61 30", 0x82, "Retain Handling"},
	{"No Local on a shared subscription", "MQTT-3.8.3-4", V5, "82 10 0001 00 000a 2473686172652f672f78 04", 0x82, "No Local"},
	{"two Subscription Identifiers in SUBSCRIBE", "5.0 section 3.8.2.1.2", V5, "82 0b 0001 04 0b 01 0b 02 0001 61 00", 0x82, "more than once"},
	{"SUBSCRIBE missing options byte", "section 3.8.3", V311, "82 05 0001 0001 61", 0x81, "past the end"},
	{"SUBACK 3.1.1 return code 3", "3.1.1 section 3.9.3", V311, "90 03 0001 03", 0x82, "not valid in SUBACK"},
	{"SUBACK 5.0 reason code 0x11", "5.0 section 3.9.3", V5, "90 04 0001 00 11", 0x82, "not valid in SUBACK"},
	{"SUBACK without reason codes", "5.0 section 3.9.3", V5, "90 03 0001 00", 0x82, "no reason codes"},
	{"UNSUBSCRIBE without filters", "MQTT-3.10.3-2", V311, "a2 02 0001", 0x82, "no topic filters"},
	{"UNSUBSCRIBE without filters 5.0", "MQTT-3.10.3-2", V5, "a2 03 0001 00", 0x82, "no topic filters"},
	{"UNSUBACK 5.0 without reason codes", "5.0 section 3.11.3", V5, "b0 03 0002 00", 0x82, "no reason codes"},
	{"UNSUBACK 5.0 granted QoS code", "5.0 section 3.11.3", V5, "b0 04 0002 00 01", 0x82, "not valid in UNSUBACK"},

	// DISCONNECT and AUTH.
	{"DISCONNECT reason code 0x01", "5.0 section 3.14.2.1", V5, "e0 01 01", 0x82, "not valid in DISCONNECT"},
	{"Assigned Client Identifier in DISCONNECT", "5.0 section 3.14.2.2", V5, "e0 06 00 04 12 0001 61", 0x81, "not allowed"},
	{"AUTH reason code 0x80", "5.0 section 3.15.2.1", V5, "f0 01 80", 0x82, "not valid in AUTH"},
}

func TestInvalid(t *testing.T) {
	for _, c := range invalids {
		t.Run(c.name, func(t *testing.T) {
			b := unhex(t, c.hex)
			check := func(how string, err error) {
				t.Helper()
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: %v, want an *Error with code %v (%s)", how, err, c.code, c.ref)
				}
				if e.Code != c.code || !strings.Contains(e.Error(), c.says) {
					t.Fatalf("%s: %v (code 0x%02x), want code 0x%02x saying %q (%s)", how, e, byte(e.Code), byte(c.code), c.says, c.ref)
				}
				if !strings.HasPrefix(e.Error(), "mqtt: ") {
					t.Errorf("message %q does not start with mqtt: ", e.Error())
				}
			}
			p, _, err := Decode(b, c.v)
			if err == nil {
				t.Fatalf("Decode accepted %x as %#v (%s)", b, p, c.ref)
			}
			check("Decode", err)
			_, err = NewReader(bytes.NewReader(b), 0).ReadPacket(c.v)
			check("ReadPacket", err)
		})
	}
}

func TestErrorsIs(t *testing.T) {
	_, _, err := Decode(unhex(t, "36 07 0003 612f62 0001"), V311)
	if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrProtocol) {
		t.Errorf("QoS 3: errors.Is(ErrMalformed) = %v, errors.Is(ErrProtocol) = %v", errors.Is(err, ErrMalformed), errors.Is(err, ErrProtocol))
	}
	_, _, err = Decode(unhex(t, "40 02 0000"), V311)
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("Packet Identifier 0: %v is not ErrProtocol", err)
	}
	_, _, err = Decode(unhex(t, "30 06 0000 03 23 0000"), V5)
	if !errors.Is(err, ErrTopicAlias) {
		t.Errorf("Topic Alias 0: %v is not ErrTopicAlias", err)
	}
}
