// Package topic validates MQTT topic names and topic filters and matches
// names against filters, following sections 4.7 (Topic Names and Topic
// Filters) and 4.8.2 (Shared Subscriptions) of MQTT Version 5.0. The same
// rules hold for MQTT 3.1.1, except that 3.1.1 has no shared subscriptions.
//
// A topic name is what a PUBLISH packet carries; it never contains the
// wildcard characters '+' and '#' (MQTT-3.3.2-2, MQTT-4.7.0-1). A topic
// filter is what SUBSCRIBE and UNSUBSCRIBE carry; it may contain wildcards
// that each occupy a whole level (MQTT-4.7.1-1, MQTT-4.7.1-2), and may take
// the shared-subscription form "$share/{ShareName}/{filter}"
// (MQTT-4.8.2-1, MQTT-4.8.2-2).
//
// Levels are separated by '/'. Empty levels are legal: "a//b", "/a", "a/"
// and "/" are all valid names and filters. Comparison is byte for byte,
// with no normalization of any kind (MQTT-4.7.3-4).
//
// Statement ids such as MQTT-4.7.1-1 are those of MQTT 5.0 (Appendix B).
// MQTT 3.1.1 numbers some of the same rules differently: its MQTT-4.7.1-1,
// -2 and -3 are 5.0's MQTT-4.7.0-1, MQTT-4.7.1-1 and MQTT-4.7.1-2.
//
// CheckName, CheckFilter, SplitShared and Match do not allocate when their
// input is valid.
package topic

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest topic name or filter, in bytes (MQTT-4.7.3-3).
const MaxLen = 65535

// The sentinel errors. Every error returned by CheckName and CheckFilter is
// an *Error for which errors.Is reports true for exactly one of these.
var (
	// ErrEmpty means the topic has zero length (MQTT-4.7.3-1).
	ErrEmpty = errors.New("mqtt: topic is empty")
	// ErrTooLong means the topic is over MaxLen bytes (MQTT-4.7.3-3).
	ErrTooLong = errors.New("mqtt: topic is longer than 65535 bytes")
	// ErrInvalidUTF8 means the topic is not well-formed UTF-8, which
	// includes encoded surrogates and overlong forms (MQTT-1.5.4-1).
	ErrInvalidUTF8 = errors.New("mqtt: topic is not well-formed UTF-8")
	// ErrNull means the topic contains U+0000 (MQTT-4.7.3-2, MQTT-1.5.4-2).
	ErrNull = errors.New("mqtt: topic contains U+0000")
	// ErrWildcard means a topic name contains '+' or '#'
	// (MQTT-3.3.2-2, MQTT-4.7.0-1).
	ErrWildcard = errors.New("mqtt: topic name contains a wildcard")
	// ErrBadWildcard means a topic filter has a '#' that is not a whole,
	// final level, or a '+' that is not a whole level
	// (MQTT-4.7.1-1, MQTT-4.7.1-2).
	ErrBadWildcard = errors.New("mqtt: topic filter has a misplaced wildcard")
	// ErrBadShare means a "$share/" filter has an empty share name, a share
	// name containing '+' or '#', or no filter after the share name
	// (MQTT-4.8.2-1, MQTT-4.8.2-2). A share name cannot contain '/': the
	// first '/' after "$share/" ends it.
	ErrBadShare = errors.New("mqtt: malformed shared subscription filter")
)

// maxQuote is how many bytes of an offending topic an Error keeps.
const maxQuote = 64

// Error describes an invalid topic name or filter. Err is one of the
// sentinel errors, and Unwrap returns it.
type Error struct {
	Err    error  // the sentinel: ErrEmpty, ErrTooLong, ...
	Topic  string // the topic, cut to at most 64 bytes (on a character boundary) if longer
	Len    int    // the length in bytes of the whole topic
	Offset int    // byte offset of the problem, or -1 if it has none
	Filter bool   // whether the topic was checked as a filter
}

// Error returns the sentinel's message followed by the topic, quoted with
// Go escapes and cut as Topic is, and the offset of the problem. For an
// empty topic it is just the sentinel's message.
func (e *Error) Error() string {
	if e.Len == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Filter {
		b.WriteString(": filter ")
	} else {
		b.WriteString(": name ")
	}
	b.WriteString(strconv.Quote(e.Topic))
	if len(e.Topic) < e.Len {
		b.WriteString("... (")
		b.WriteString(strconv.Itoa(e.Len))
		b.WriteString(" bytes)")
	}
	if e.Offset >= 0 {
		b.WriteString(" at byte ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func newError(sentinel error, topic string, off int, filter bool) error {
	e := &Error{Err: sentinel, Topic: topic, Len: len(topic), Offset: off, Filter: filter}
	if len(topic) > maxQuote {
		cut := maxQuote
		// Do not split a multi-byte character when backing up is possible.
		for i := 0; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(topic[cut]); i++ {
			cut--
		}
		e.Topic = strings.Clone(topic[:cut])
	}
	return e
}

// plain[c] is true for the ASCII bytes that need no further look: all but
// NUL, '+' and '#'. Bytes >= 0x80 are false and get decoded as UTF-8.
var plain = func() (t [256]bool) {
	for c := 1; c < utf8.RuneSelf; c++ {
		t[c] = c != '+' && c != '#'
	}
	return t
}()

// What scan is checking; it decides what '+' and '#' mean.
const (
	scanName   = iota // a topic name: wildcards are forbidden
	scanFilter        // a topic filter: wildcards must be whole levels
	scanShare         // a ShareName: wildcards are forbidden
)

// scan checks s[from:] for well-formed UTF-8 (MQTT-1.5.4-1), U+0000
// (MQTT-4.7.3-2) and wildcard placement. For scanFilter, s[from:] is the
// whole (for a shared filter, the inner) filter, so from starts its first
// level. It returns the offset and sentinel of the first problem, or -1
// and nil.
func scan(s string, from, what int) (off int, err error) {
	for i := from; i < len(s); {
		// Skip eight plain bytes at a time: no NUL, '+', '#' or byte >= 0x80.
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return i, ErrInvalidUTF8
			}
			i += n
			continue
		case c == 0:
			return i, ErrNull
		case what == scanName:
			return i, ErrWildcard
		case what == scanShare:
			return i, ErrBadShare
		}
		// A wildcard in a filter must start a level (MQTT-4.7.1-1, MQTT-4.7.1-2) ...
		if i > from && s[i-1] != '/' {
			return i, ErrBadWildcard
		}
		// ... '+' must end it, and '#' must be the last character (MQTT-4.7.1-1).
		if c == '#' && i+1 != len(s) || c == '+' && i+1 != len(s) && s[i+1] != '/' {
			return i, ErrBadWildcard
		}
		i++
	}
	return -1, nil
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 returns the eight bytes of s at i as one little-endian word; the
// compiler makes it a single load.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plain8 reports whether all eight bytes of w are plain: below 0x80 and none
// of NUL, '+' or '#'. zero(x) sets a byte's high bit where x's byte is 0,
// exactly, given that no byte of w has its high bit set.
func plain8(w uint64) bool {
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return (w&highs | zero(w) | zero(w^('+'*ones)) | zero(w^('#'*ones))) == 0
}

// CheckName reports whether name is a valid topic name, as carried by a
// PUBLISH packet. It returns nil if so, and otherwise an *Error wrapping
// ErrEmpty (MQTT-4.7.3-1), ErrTooLong (MQTT-4.7.3-3), ErrInvalidUTF8
// (MQTT-1.5.4-1), ErrNull (MQTT-4.7.3-2) or ErrWildcard (MQTT-3.3.2-2,
// MQTT-4.7.0-1). Length is checked first; the other problems are reported
// for the first offending byte.
//
// Names beginning with '$' (such as "$SYS/...") and with "$share/" are
// accepted: the specification reserves them by convention (section 4.7.2)
// but does not forbid them.
func CheckName(name string) error {
	if len(name) == 0 {
		return newError(ErrEmpty, name, -1, false)
	}
	if len(name) > MaxLen {
		return newError(ErrTooLong, name, -1, false)
	}
	if off, err := scan(name, 0, scanName); err != nil {
		return newError(err, name, off, false)
	}
	return nil
}

// CheckFilter reports whether filter is a valid topic filter, as carried by
// SUBSCRIBE and UNSUBSCRIBE, including the shared form
// "$share/{ShareName}/{filter}". It returns nil if so, and otherwise an
// *Error wrapping ErrEmpty (MQTT-4.7.3-1), ErrTooLong (MQTT-4.7.3-3),
// ErrInvalidUTF8 (MQTT-1.5.4-1), ErrNull (MQTT-4.7.3-2), ErrBadWildcard
// (MQTT-4.7.1-1, MQTT-4.7.1-2) or ErrBadShare (MQTT-4.8.2-1,
// MQTT-4.8.2-2). Length is checked first; otherwise the problem reported
// is the first one found reading left to right.
//
// "#" and "+" alone are valid; "$share" without a following '/' is an
// ordinary filter. In "$share/g/f", wildcard rules apply to f as a filter
// of its own, so "$share/g/#" is valid.
func CheckFilter(filter string) error {
	if len(filter) == 0 {
		return newError(ErrEmpty, filter, -1, true)
	}
	if len(filter) > MaxLen {
		return newError(ErrTooLong, filter, -1, true)
	}
	from := 0
	if group, inner, ok := SplitShared(filter); ok {
		// The ShareName runs from byte len(sharePrefix) to the next '/'.
		end := len(sharePrefix) + len(group)
		if off, err := scan(filter[:end], len(sharePrefix), scanShare); err != nil {
			return newError(err, filter, off, true)
		}
		switch {
		case len(group) == 0: // MQTT-4.8.2-1: at least one character
			return newError(ErrBadShare, filter, end, true)
		case end == len(filter): // MQTT-4.8.2-2: followed by '/'
			return newError(ErrBadShare, filter, end, true)
		case len(inner) == 0: // MQTT-4.8.2-2: '/' followed by a Topic Filter
			return newError(ErrBadShare, filter, end+1, true)
		}
		from = end + 1
	}
	if off, err := scan(filter, from, scanFilter); err != nil {
		return newError(err, filter, off, true)
	}
	return nil
}

// sharePrefix marks a shared subscription's topic filter (MQTT-4.8.2-1).
const sharePrefix = "$share/"

// SplitShared reports whether filter is a shared subscription, that is
// whether it starts with "$share/", and if so returns its ShareName (up to
// the next '/') and the filter after that '/'. It does not validate: for
// "$share/g" it returns ("g", "", true) and for "$share//a" ("", "a", true).
// ok is false, and group and inner empty, when the prefix is absent.
func SplitShared(filter string) (group, inner string, ok bool) {
	if !strings.HasPrefix(filter, sharePrefix) {
		return "", "", false
	}
	rest := filter[len(sharePrefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i+1:], true
	}
	return rest, "", true
}
