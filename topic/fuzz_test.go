package topic

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// refMatch is a deliberately simple reference for Match, valid only for
// filters CheckFilter accepts and names CheckName accepts.
func refMatch(filter, name string) bool {
	if strings.HasPrefix(filter, "$share/") { // 4.8.2
		filter = strings.SplitN(filter, "/", 3)[2]
	}
	if strings.HasPrefix(name, "$") && strings.ContainsAny(filter[:1], "+#") { // MQTT-4.7.2-1
		return false
	}
	fl, nl := strings.Split(filter, "/"), strings.Split(name, "/")
	for i, f := range fl {
		if f == "#" { // 4.7.1.2: the rest, including the parent level
			return true
		}
		if i >= len(nl) || f != "+" && f != nl[i] { // 4.7.1.3
			return false
		}
	}
	return len(fl) == len(nl)
}

// refValid is a simple reference for CheckName (filter false) and
// CheckFilter (filter true).
func refValid(s string, filter bool) bool {
	if s == "" || len(s) > MaxLen || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return false // MQTT-4.7.3-1, MQTT-4.7.3-3, MQTT-1.5.4-1, MQTT-4.7.3-2
	}
	if !filter {
		return !strings.ContainsAny(s, "+#") // MQTT-3.3.2-2
	}
	if strings.HasPrefix(s, "$share/") { // MQTT-4.8.2-1, MQTT-4.8.2-2
		parts := strings.SplitN(s, "/", 3)
		if len(parts) < 3 || parts[1] == "" || parts[2] == "" || strings.ContainsAny(parts[1], "+#") {
			return false
		}
		s = parts[2]
	}
	levels := strings.Split(s, "/")
	for i, l := range levels {
		if l == "#" && i != len(levels)-1 || l != "+" && l != "#" && strings.ContainsAny(l, "+#") {
			return false // MQTT-4.7.1-1, MQTT-4.7.1-2
		}
	}
	return true
}

var sentinels = []error{ErrEmpty, ErrTooLong, ErrInvalidUTF8, ErrNull, ErrWildcard, ErrBadWildcard, ErrBadShare}

// checkErr checks that err, from CheckName or CheckFilter, has the
// documented form and agrees with the reference validator.
func checkErr(t *testing.T, what, s string, err error, refOK bool) {
	t.Helper()
	if (err == nil) != refOK {
		t.Fatalf("%s(%.80q) = %v, reference says valid=%v", what, s, err, refOK)
	}
	if err == nil {
		return
	}
	n := 0
	for _, e := range sentinels {
		if errors.Is(err, e) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s(%.80q) = %v, which wraps %d sentinels", what, s, err, n)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "mqtt: ") || len(msg) > 400 { // 64 bytes, escaped up to 4x, plus the text
		t.Fatalf("%s(%.80q): bad message %.400q", what, s, msg)
	}
}

func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.filter, c.name)
	}
	f.Add("$share/g/+/b/#", "a/b/c")
	f.Add("+/+/+/+", "a//b/")
	f.Add("a/\xff/#", "a/\xff")
	f.Fuzz(func(t *testing.T, filter, name string) {
		// (a) Match never panics, whatever the input, and a name that is
		// empty or has wildcards matches nothing (MQTT-4.7.0-1).
		got := Match(filter, name)
		if got && (name == "" || strings.ContainsAny(name, "+#")) {
			t.Fatalf("Match(%q, %q) = true for an empty or wildcard name", filter, name)
		}
		validName := CheckName(name) == nil
		if validName && CheckFilter(filter) == nil {
			// (b) For valid input Match agrees with the reference.
			if want := refMatch(filter, name); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", filter, name, got, want)
			}
		}
		if validName && !strings.HasPrefix(name, sharePrefix) && !Match(name, name) {
			t.Fatalf("valid name %q does not match itself as a filter", name)
		}
	})
}

func FuzzCheck(f *testing.F) {
	for _, c := range nameCases {
		if len(c.in) < 100 {
			f.Add(c.in)
		}
	}
	for _, c := range filterCases {
		if len(c.in) < 100 {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		nameErr, filterErr := CheckName(s), CheckFilter(s)
		checkErr(t, "CheckName", s, nameErr, refValid(s, false))
		checkErr(t, "CheckFilter", s, filterErr, refValid(s, true))
		// Every valid name is a valid filter, except that a filter starting
		// with "$share/" is read as a shared subscription (4.8.2) and so may
		// be rejected with ErrBadShare.
		if nameErr == nil && filterErr != nil &&
			!(strings.HasPrefix(s, sharePrefix) && errors.Is(filterErr, ErrBadShare)) {
			t.Fatalf("valid name %q is not a valid filter: %v", s, filterErr)
		}
		if g, in, ok := SplitShared(s); ok && sharePrefix+g+"/"+in != s && sharePrefix+g != s {
			t.Fatalf("SplitShared(%q) = %q, %q: does not rebuild the input", s, g, in)
		}
	})
}
