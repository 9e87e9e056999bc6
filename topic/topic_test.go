package topic

import (
	"errors"
	"strings"
	"testing"
)

// checkCase is one CheckName or CheckFilter case: want is nil for a valid
// topic, otherwise the sentinel the error must wrap. ref names the source.
type checkCase struct {
	in   string
	want error
	ref  string
}

var (
	long     = strings.Repeat("a", MaxLen)
	tooLong  = strings.Repeat("a", MaxLen+1)
	longHash = strings.Repeat("a/", MaxLen/2) + "#" // exactly MaxLen bytes
)

var nameCases = []checkCase{
	{"sport/tennis/player1", nil, "4.7.1.2"},
	{"sport/tennis/player1/ranking", nil, "4.7.1.2"},
	{"/finance", nil, "4.7.1.3"},
	{"/", nil, "4.7.3: only '/' is valid"},
	{"a//b", nil, "4.7.1.1: zero-length level"},
	{"a/", nil, "4.7.3: trailing '/'"},
	{"//", nil, "4.7.1.1"},
	{"Accounts payable", nil, "4.7.3: space"},
	{"$SYS/monitor/Clients", nil, "4.7.2"},
	{"$share/g/x", nil, "4.7.2: reserved by convention, not forbidden"},
	{"$share", nil, "4.8.2"},
	{"caf\u00e9/\u65e5\u672c/\U0001F600", nil, "MQTT-1.5.4-1: multi-byte"},
	{"\ufeffbom", nil, "MQTT-1.5.4-3: U+FEFF is an ordinary character"},
	{"\ufffd", nil, "MQTT-1.5.4-1: U+FFFD properly encoded"},
	{"\x01\x7f\u0080\ufdd0", nil, "1.5.4: control and non-characters are SHOULD NOT, not MUST NOT"},
	{long, nil, "MQTT-4.7.3-3: exactly MaxLen"},

	{"", ErrEmpty, "MQTT-4.7.3-1"},
	{tooLong, ErrTooLong, "MQTT-4.7.3-3"},
	{"a\x00b", ErrNull, "MQTT-4.7.3-2"},
	{"\x00", ErrNull, "MQTT-4.7.3-2"},
	{"a\xffb", ErrInvalidUTF8, "MQTT-1.5.4-1"},
	{"\xc3", ErrInvalidUTF8, "MQTT-1.5.4-1: truncated sequence"},
	{"\xc0\x80", ErrInvalidUTF8, "MQTT-1.5.4-1: overlong NUL"},
	{"\xed\xa0\x80", ErrInvalidUTF8, "MQTT-1.5.4-1: surrogate U+D800"},
	{"a/\xed\xbf\xbf", ErrInvalidUTF8, "MQTT-1.5.4-1: surrogate U+DFFF"},
	{"\xf4\x90\x80\x80", ErrInvalidUTF8, "MQTT-1.5.4-1: above U+10FFFF"},
	{"sport/+", ErrWildcard, "MQTT-3.3.2-2"},
	{"sport/#", ErrWildcard, "MQTT-3.3.2-2"},
	{"#", ErrWildcard, "MQTT-4.7.0-1"},
	{"+", ErrWildcard, "MQTT-4.7.0-1"},
	{"sport+", ErrWildcard, "MQTT-4.7.0-1"},
	{"a#b", ErrWildcard, "MQTT-4.7.0-1"},
}

var filterCases = []checkCase{
	// Section 4.7.1.2 examples.
	{"sport/tennis/player1/#", nil, "4.7.1.2"},
	{"sport/#", nil, "4.7.1.2"},
	{"#", nil, "4.7.1.2"},
	{"sport/tennis/#", nil, "4.7.1.2"},
	{"sport/tennis#", ErrBadWildcard, "4.7.1.2, MQTT-4.7.1-1"},
	{"sport/tennis/#/ranking", ErrBadWildcard, "4.7.1.2, MQTT-4.7.1-1"},
	// Section 4.7.1.3 examples.
	{"sport/tennis/+", nil, "4.7.1.3"},
	{"sport/+", nil, "4.7.1.3"},
	{"+", nil, "4.7.1.3"},
	{"+/tennis/#", nil, "4.7.1.3"},
	{"sport+", ErrBadWildcard, "4.7.1.3, MQTT-4.7.1-2"},
	{"sport/+/player1", nil, "4.7.1.3"},
	{"+/+", nil, "4.7.1.3"},
	{"/+", nil, "4.7.1.3"},
	// Section 4.7.2 examples.
	{"$SYS/#", nil, "4.7.2"},
	{"+/monitor/Clients", nil, "4.7.2"},
	{"$SYS/monitor/+", nil, "4.7.2"},
	// More wildcard placement (MQTT-4.7.1-1, MQTT-4.7.1-2).
	{"+/+/+", nil, "MQTT-4.7.1-2"},
	{"+/#", nil, "MQTT-4.7.1-1"},
	{"/#", nil, "MQTT-4.7.1-1"},
	{"//#", nil, "MQTT-4.7.1-1"},
	{"a//+//", nil, "4.7.1.1"},
	{"##", ErrBadWildcard, "MQTT-4.7.1-1"},
	{"#/", ErrBadWildcard, "MQTT-4.7.1-1"},
	{"#/a", ErrBadWildcard, "MQTT-4.7.1-1"},
	{"a#", ErrBadWildcard, "MQTT-4.7.1-1"},
	{"a/#b", ErrBadWildcard, "MQTT-4.7.1-1"},
	{"++", ErrBadWildcard, "MQTT-4.7.1-2"},
	{"+a", ErrBadWildcard, "MQTT-4.7.1-2"},
	{"a+/b", ErrBadWildcard, "MQTT-4.7.1-2"},
	{"a/+b", ErrBadWildcard, "MQTT-4.7.1-2"},
	{"+#", ErrBadWildcard, "MQTT-4.7.1-2"},
	{"/", nil, "4.7.3"},
	{"a//b", nil, "4.7.1.1"},
	{"a/", nil, "4.7.3"},
	{long, nil, "MQTT-4.7.3-3"},
	{longHash, nil, "MQTT-4.7.3-3"},
	// Shared subscriptions (section 4.8.2).
	{"$share/consumer1/sport/tennis/+", nil, "4.8.2"},
	{"$share/consumer1//finance", nil, "4.8.2"},
	{"$share/g/#", nil, "4.8.2"},
	{"$share/g/+", nil, "4.8.2"},
	{"$share/g//", nil, "4.8.2"},
	{"$share/g/$share/h/x", nil, "4.8.2: the inner filter is ordinary"},
	{"$share/\u00e9/x", nil, "4.8.2: a non-ASCII ShareName"},
	{"$share", nil, "4.8.2: no '/', so not shared"},
	{"$share+", ErrBadWildcard, "not shared; MQTT-4.7.1-2"},
	{"$sharex/a", nil, "not shared"},
	{"$SHARE/g/x", nil, "not shared: case-sensitive"},
	{"$share/", ErrBadShare, "MQTT-4.8.2-1"},
	{"$share//a", ErrBadShare, "MQTT-4.8.2-1"},
	{"$share/g", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/g/", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/a+b/x", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/+/x", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/#", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/g#/x", ErrBadShare, "MQTT-4.8.2-2"},
	{"$share/g/a#", ErrBadWildcard, "MQTT-4.8.2-2, MQTT-4.7.1-1"},
	{"$share/g/a+", ErrBadWildcard, "MQTT-4.8.2-2, MQTT-4.7.1-2"},
	{"$share/g\x00/x", ErrNull, "MQTT-4.7.3-2"},
	{"$share/\xff/x", ErrInvalidUTF8, "MQTT-1.5.4-1"},
	// Encoding and length.
	{"", ErrEmpty, "MQTT-4.7.3-1"},
	{tooLong, ErrTooLong, "MQTT-4.7.3-3"},
	{longHash + "/", ErrTooLong, "MQTT-4.7.3-3"},
	{"a/\x00", ErrNull, "MQTT-4.7.3-2"},
	{"+/\xed\xa0\x80", ErrInvalidUTF8, "MQTT-1.5.4-1"},
	{"#\x00", ErrBadWildcard, "MQTT-4.7.1-1: first problem from the left"},
	{"\x00#", ErrNull, "MQTT-4.7.3-2: first problem from the left"},
}

func runCheck(t *testing.T, kind string, check func(string) error, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		err := check(c.in)
		short := c.in
		if len(short) > 40 {
			short = short[:40] + "..."
		}
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s(%q) = %v, want nil [%s]", kind, short, err, c.ref)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s(%q) = %v, want %v [%s]", kind, short, err, c.want, c.ref)
		case err != nil:
			checkErrorForm(t, err)
		}
	}
}

// checkErrorForm checks what every returned error must look like.
func checkErrorForm(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "mqtt: ") {
		t.Errorf("error %q does not start with \"mqtt: \"", msg)
	}
	if len(msg) > 400 { // 64 bytes, escaped up to 4x, plus the text
		t.Errorf("error message is %d bytes long: %.80q...", len(msg), msg)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %v is a %T, not an *Error", err, err)
	}
}

func TestCheckName(t *testing.T)   { runCheck(t, "CheckName", CheckName, nameCases) }
func TestCheckFilter(t *testing.T) { runCheck(t, "CheckFilter", CheckFilter, filterCases) }

// TestValidNameIsFilter checks that each valid name in the table is a valid
// filter too, except "$share/" names, which a filter reads as shared.
func TestValidNameIsFilter(t *testing.T) {
	for _, c := range nameCases {
		if c.want != nil {
			continue
		}
		if err := CheckFilter(c.in); err != nil && !strings.HasPrefix(c.in, sharePrefix) {
			t.Errorf("valid name %.40q is not a valid filter: %v", c.in, err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	err := CheckFilter("sport/tennis#")
	const want = `mqtt: topic filter has a misplaced wildcard: filter "sport/tennis#" at byte 12`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := CheckName(""); err == nil || err.Error() != ErrEmpty.Error() {
		t.Errorf("CheckName(\"\") = %v, want %v", err, ErrEmpty)
	}
	// A long topic is cut to 64 bytes and the length reported.
	big := strings.Repeat("x", 1000) + "+"
	msg := CheckName(big).Error()
	if !strings.Contains(msg, `"`+strings.Repeat("x", maxQuote)+`"... (1001 bytes) at byte 1000`) {
		t.Errorf("long name: got %q", msg)
	}
	// Truncation does not split a multi-byte character.
	msg = CheckName(strings.Repeat("x", 63) + "\u00e9" + strings.Repeat("y", 10) + "#").Error()
	if !strings.Contains(msg, `"`+strings.Repeat("x", 63)+`"...`) {
		t.Errorf("long name with rune at the cut: got %q", msg)
	}
	// The message of a too-long topic is short too.
	if msg := CheckFilter(tooLong).Error(); len(msg) > 200 {
		t.Errorf("message for too-long filter is %d bytes", len(msg))
	}
	var e *Error
	if !errors.As(CheckName("a/b\x00"), &e) || e.Offset != 3 || e.Err != ErrNull || e.Filter {
		t.Errorf("CheckName(\"a/b\\x00\") gave %+v", e)
	}
}

func TestSplitShared(t *testing.T) {
	cases := []struct {
		in, group, inner string
		ok               bool
	}{
		{"$share/consumer1/sport/tennis/+", "consumer1", "sport/tennis/+", true},
		{"$share/consumer1//finance", "consumer1", "/finance", true}, // 4.8.2 example
		{"$share/g/#", "g", "#", true},
		{"$share/g/", "g", "", true},
		{"$share/g", "g", "", true},
		{"$share//a", "", "a", true},
		{"$share/", "", "", true},
		{"$share", "", "", false},
		{"$sharex/g/a", "", "", false},
		{"sport/#", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		g, in, ok := SplitShared(c.in)
		if g != c.group || in != c.inner || ok != c.ok {
			t.Errorf("SplitShared(%q) = %q, %q, %v; want %q, %q, %v", c.in, g, in, ok, c.group, c.inner, c.ok)
		}
	}
}

// TestCheckNoAlloc checks that validating valid input does not allocate.
func TestCheckNoAlloc(t *testing.T) {
	for _, c := range nameCases {
		if c.want == nil {
			if n := testing.AllocsPerRun(10, func() { _ = CheckName(c.in) }); n != 0 {
				t.Errorf("CheckName(%.40q): %v allocs, want 0", c.in, n)
			}
		}
	}
	for _, c := range filterCases {
		if c.want == nil {
			if n := testing.AllocsPerRun(10, func() { _ = CheckFilter(c.in) }); n != 0 {
				t.Errorf("CheckFilter(%.40q): %v allocs, want 0", c.in, n)
			}
		}
	}
	if n := testing.AllocsPerRun(10, func() { _, _, _ = SplitShared("$share/g/a/b") }); n != 0 {
		t.Errorf("SplitShared: %v allocs, want 0", n)
	}
}

// TestScanEveryOffset puts each kind of byte that needs a closer look at
// every offset of names of several lengths, so that the eight-bytes-at-a-time
// fast path in scan is tested on both sides of every word boundary.
func TestScanEveryOffset(t *testing.T) {
	for n := 1; n <= 25; n++ {
		for i := 0; i < n; i++ {
			for _, c := range []struct {
				b    string
				want error
			}{
				{"\x00", ErrNull},
				{"+", ErrWildcard},
				{"#", ErrWildcard},
				{"\xff", ErrInvalidUTF8},
				{"\x80", ErrInvalidUTF8},
			} {
				name := strings.Repeat("a", i) + c.b + strings.Repeat("b", n-i-1)
				err := CheckName(name)
				var e *Error
				if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Offset != i {
					t.Fatalf("CheckName(%q) = %v, want %v at byte %d", name, err, c.want, i)
				}
			}
			ok := strings.Repeat("a", i) + "é" + strings.Repeat("b", n-i-1)
			if err := CheckName(ok); err != nil {
				t.Fatalf("CheckName(%q) = %v", ok, err)
			}
		}
	}
}
