package main

import "strings"

// Topic matching is measured against a plain matcher written here, because
// paho's matchers are unexported (paho.mqtt.golang's router and
// paho.golang's paho package keep theirs private).

type matchPair struct {
	filter, name string
	want         bool
}

var matchPairs = []matchPair{
	{pubTopic, pubTopic, true},
	{"sensors/+/floor-3/+/temperature", pubTopic, true},
	{"sensors/#", pubTopic, true},
	{"sensors/+/floor-4/#", pubTopic, false},
	{"devices/+/telemetry/3/#", "devices/d-0042/telemetry/3", true},
	{"devices/+/telemetry/3/#", "devices/d-0042/telemetry/4/cpu", false},
	{"#", "$SYS/broker/load/messages", false},
	{"+/+/+", "a/b", false},
}

// splitMatch is the obvious matcher: split both on '/' and compare level by
// level. It handles '+', '#' (including the parent level) and the rule that
// a leading wildcard does not match a '$' topic; not shared subscriptions.
func splitMatch(filter, name string) bool {
	if filter == "" || name == "" {
		return false
	}
	if name[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	f := strings.Split(filter, "/")
	n := strings.Split(name, "/")
	for i, level := range f {
		if level == "#" {
			return true
		}
		if i >= len(n) || (level != "+" && level != n[i]) {
			return false
		}
	}
	return len(f) == len(n)
}
