package topic

import (
	"strings"
	"testing"
)

type matchCase struct {
	filter, name string
	want         bool
	ref          string
}

var matchCases = []matchCase{
	// Section 4.7.1.2: "#" matches any number of levels, and the parent.
	{"sport/tennis/player1/#", "sport/tennis/player1", true, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player2", false, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis", false, "4.7.1.2"},
	{"sport/tennis/player1/#", "sport/tennis/player10", false, "4.7.1.2"},
	{"sport/#", "sport", true, "4.7.1.2: parent level"},
	{"sport/#", "sport/", true, "4.7.1.2"},
	{"sport/#", "sports", false, "4.7.1.2"},
	{"#", "sport/tennis/player1", true, "4.7.1.2: every message"},
	{"#", "/", true, "4.7.1.2"},
	{"#", "a", true, "4.7.1.2"},
	{"/#", "/", true, "4.7.1.2"},
	{"/#", "", false, "MQTT-4.7.3-1: empty name"},
	{"a/#", "b", false, "4.7.1.2"},
	{"a/b/#", "a", false, "4.7.1.2: only the parent, not the grandparent"},
	// Section 4.7.1.3: "+" matches exactly one level, possibly empty.
	{"sport/tennis/+", "sport/tennis/player1", true, "4.7.1.3"},
	{"sport/tennis/+", "sport/tennis/player2", true, "4.7.1.3"},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false, "4.7.1.3"},
	{"sport/+", "sport", false, "4.7.1.3"},
	{"sport/+", "sport/", true, "4.7.1.3"},
	{"+/+", "/finance", true, "4.7.1.3"},
	{"/+", "/finance", true, "4.7.1.3"},
	{"+", "/finance", false, "4.7.1.3"},
	{"+", "finance", true, "4.7.1.3"},
	{"+", "/", false, "4.7.1.3"},
	{"+/+", "/", true, "4.7.1.3: two empty levels"},
	{"sport/+/player1", "sport/tennis/player1", true, "4.7.1.3"},
	{"sport/+/player1", "sport//player1", true, "4.7.1.3: empty level"},
	{"sport/+/player1", "sport/player1", false, "4.7.1.3"},
	{"+/tennis/#", "sport/tennis", true, "4.7.1.3"},
	{"+/tennis/#", "sport/tennis/player1/ranking", true, "4.7.1.3"},
	{"+/tennis/#", "sport/golf", false, "4.7.1.3"},
	{"+/#", "a", true, "4.7.1.2, 4.7.1.3"},
	{"a/+/#", "a/b", true, "4.7.1.2, 4.7.1.3"},
	{"a/+/#", "a", false, "4.7.1.2, 4.7.1.3"},
	// Section 4.7.2: topics beginning with '$' (MQTT-4.7.2-1).
	{"#", "$SYS/uptime", false, "MQTT-4.7.2-1"},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false, "MQTT-4.7.2-1"},
	{"+", "$SYS", false, "MQTT-4.7.2-1"},
	{"$SYS/#", "$SYS/monitor/Clients", true, "4.7.2"},
	{"$SYS/#", "$SYS", true, "4.7.2"},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true, "4.7.2"},
	{"+/monitor/Clients", "a/monitor/Clients", true, "4.7.2"},
	{"a/#", "a/$b", true, "MQTT-4.7.2-1 concerns only the first character"},
	{"+/b", "x$/b", true, "MQTT-4.7.2-1 concerns only the first character"},
	// Section 4.7.3: exact, case-sensitive, no normalization (MQTT-4.7.3-4).
	{"ACCOUNTS", "Accounts", false, "4.7.3"},
	{"Accounts payable", "Accounts payable", true, "4.7.3"},
	{"/finance", "finance", false, "4.7.3"},
	{"finance/", "finance", false, "4.7.3"},
	{"a//b", "a//b", true, "4.7.1.1"},
	{"a//b", "a/b", false, "4.7.1.1"},
	{"caf\u00e9", "cafe\u0301", false, "MQTT-4.7.3-4: no Unicode normalization"},
	{"caf\u00e9/+", "caf\u00e9/\U0001F600", true, "MQTT-4.7.3-4"},
	{"a/b", "a/b/c", false, "4.7.3"},
	{"a/b/c", "a/b", false, "4.7.3"},
	{"a/bc", "a/b", false, "4.7.3"},
	{"a/b", "a/bc", false, "4.7.3"},
	// Section 4.8.2: a shared filter matches as its inner filter.
	{"$share/consumer1/sport/tennis/+", "sport/tennis/player1", true, "4.8.2"},
	{"$share/consumer2/sport/tennis/+", "sport/tennis/player1", true, "4.8.2"},
	{"$share/consumer1//finance", "/finance", true, "4.8.2"},
	{"$share/consumer1//finance", "finance", false, "4.8.2"},
	{"$share/g/#", "a/b", true, "4.8.2"},
	{"$share/g/#", "$SYS/a", false, "4.8.2, MQTT-4.7.2-1"},
	{"$share/g/a", "$share/g/a", false, "4.8.2: ShareName not taken into account"},
	{"$share/g", "g", false, "4.8.2: no inner filter"},
	{"$share", "$share", true, "not shared"},
	// A name with wildcards never matches (MQTT-4.7.0-1).
	{"#", "a/+", false, "MQTT-4.7.0-1"},
	{"#", "#", false, "MQTT-4.7.0-1"},
	{"+", "+", false, "MQTT-4.7.0-1"},
	{"a/+", "a/b#", false, "MQTT-4.7.0-1"},
	{"a/#", "a/#", false, "MQTT-4.7.0-1"},
	// Invalid filters match nothing and do not panic.
	{"a+", "a+", false, "MQTT-4.7.1-2"},
	{"a#", "a#", false, "MQTT-4.7.1-1"},
	{"a/#/b", "a/x/b", false, "MQTT-4.7.1-1"},
	{"", "a", false, "MQTT-4.7.3-1"},
	{"a", "", false, "MQTT-4.7.3-1"},
	{"", "", false, "MQTT-4.7.3-1"},
	{"/", "/", true, "4.7.3"},
	{"//", "/", false, "4.7.3"},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		if got := Match(c.filter, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v [%s]", c.filter, c.name, got, c.want, c.ref)
		}
		// The test-only reference must agree wherever both are valid.
		if CheckFilter(c.filter) == nil && CheckName(c.name) == nil {
			if ref := refMatch(c.filter, c.name); ref != c.want {
				t.Errorf("refMatch(%q, %q) = %v, want %v", c.filter, c.name, ref, c.want)
			}
		}
	}
}

func TestMatchLong(t *testing.T) {
	name := strings.Repeat("ab/", MaxLen/3-1) + "end"
	filter := strings.Repeat("+/", MaxLen/3-1) + "end"
	if !Match(filter, name) {
		t.Error("long '+' filter does not match")
	}
	if Match(filter, name+"/x") {
		t.Error("long '+' filter matches a deeper name")
	}
	if !Match(name, name) || !Match("ab/#", name) {
		t.Error("long name does not match itself or ab/#")
	}
}

func TestMatchNoAlloc(t *testing.T) {
	for _, c := range matchCases {
		if n := testing.AllocsPerRun(10, func() { _ = Match(c.filter, c.name) }); n != 0 {
			t.Errorf("Match(%q, %q): %v allocs, want 0", c.filter, c.name, n)
		}
	}
}
