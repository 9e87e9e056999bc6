package main

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ternmq/mqtt"
)

// format is a compiled -F format string, mosquitto_sub's output language:
// %-sequences print the message's fields, @-sequences the time it arrived
// (as strftime would), and \-sequences characters hard to type.
type format struct{ items []fitem }

// fitem is a literal run of text or one sequence of a format.
type fitem struct {
	lit   string // kind 0
	kind  byte   // 0 literal, '%' message field, '@' time field
	conv  byte
	zero  bool // '0' flag: pad numbers with zeros
	left  bool // '-' flag: align left
	width int
	prec  int // maximum width; -1 if none
}

// formatFields are the % sequences: MQTT fields, then helpers.
const formatFields = "%ACDEFlmPpqRrStxXIjJU"

// strftimeConvs are the @ sequences, strftime's (@N is nanoseconds).
const strftimeConvs = "aAbBcCdDeFgGhHIjklmMnNpPrRsStTuVwyYzZ@"

// parseFormat compiles a -F format string.
func parseFormat(s string) (*format, error) {
	f := &format{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.items = append(f.items, fitem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '%':
			it := fitem{kind: '%', prec: -1}
			j := i + 1
			for ; j < len(s) && (s[j] == '0' || s[j] == '-'); j++ {
				it.zero = it.zero || s[j] == '0'
				it.left = it.left || s[j] == '-'
			}
			j, it.width = digits(s, j)
			if j < len(s) && s[j] == '.' {
				j, it.prec = digits(s, j+1)
			}
			if j >= len(s) {
				return nil, fmt.Errorf("-F %q: a %% sequence is cut short at the end", s)
			}
			it.conv = s[j]
			if !strings.ContainsRune(formatFields, rune(it.conv)) {
				return nil, fmt.Errorf("-F %q: unknown %%%c (the fields are %%t %%p %%q %%r %%l %%m %%x %%X %%I %%U %%j %%J and, for MQTT 5.0, %%A %%C %%D %%E %%F %%P %%R %%S)", s, it.conv)
			}
			if it.conv == '%' {
				lit.WriteByte('%')
			} else {
				flush()
				f.items = append(f.items, it)
			}
			i = j
		case '@':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("-F %q: an @ sequence is cut short at the end (@@ prints @)", s)
			}
			i++
			if !strings.ContainsRune(strftimeConvs, rune(s[i])) {
				return nil, fmt.Errorf("-F %q: unknown @%c (the time fields are strftime's, as @Y @m @d @H @M @S, and @N for nanoseconds)", s, s[i])
			}
			if s[i] == '@' {
				lit.WriteByte('@')
			} else {
				flush()
				f.items = append(f.items, fitem{kind: '@', conv: s[i]})
			}
		case '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("-F %q: a \\ sequence is cut short at the end (\\\\ prints \\)", s)
			}
			i++
			e, ok := map[byte]byte{'\\': '\\', '0': 0, 'a': '\a', 'e': 0x1b, 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[s[i]]
			if !ok {
				return nil, fmt.Errorf("-F %q: unknown \\%c (the escapes are \\n \\t \\r \\v \\a \\e \\0 \\\\)", s, s[i])
			}
			lit.WriteByte(e)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return f, nil
}

// digits reads a decimal number at s[i:], returning the index after it
// and its value (0 if none).
func digits(s string, i int) (int, int) {
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<20 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return i, n
}

// appendMessage appends m, received at t, as the format says. JSON
// errors (%J of a payload that is not JSON) go to errs.
func (f *format) appendMessage(dst []byte, m *mqtt.Message, t time.Time, pretty bool, errs func(string)) []byte {
	for _, it := range f.items {
		switch it.kind {
		case 0:
			dst = append(dst, it.lit...)
		case '@':
			dst = appendStrftime(dst, it.conv, t)
		case '%':
			dst = it.appendField(dst, m, t, pretty, errs)
		}
	}
	return dst
}

// appendField appends one % field, padded and cut as its flags, width and
// precision say. An MQTT 5.0 property the message lacks prints nothing.
func (it fitem) appendField(dst []byte, m *mqtt.Message, t time.Time, pretty bool, errs func(string)) []byte {
	p := &m.Properties
	var s string
	numeric, cut := false, false
	num := func(n uint64) { s, numeric = strconv.FormatUint(n, 10), true }
	switch it.conv {
	case 't':
		s, cut = m.Topic, true
	case 'p':
		s = string(m.Payload)
	case 'q':
		s = strconv.Itoa(int(m.QoS))
	case 'r':
		s = strconv.Itoa(b2i(m.Retain))
	case 'l':
		num(uint64(len(m.Payload)))
	case 'm':
		num(uint64(m.PacketID))
	case 'x':
		s, numeric = hex.EncodeToString(m.Payload), true
	case 'X':
		s, numeric = strings.ToUpper(hex.EncodeToString(m.Payload)), true
	case 'I':
		s, cut = t.Format("2006-01-02T15:04:05-0700"), true
	case 'U':
		s = fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
	case 'j', 'J':
		b, ok := appendMosquittoJSON(nil, m, t, it.conv == 'J', pretty)
		if !ok {
			errs(fmt.Sprintf("the payload on %s is not valid JSON (%%J)", m.Topic))
			return dst
		}
		return append(dst, b...)
	case 'A':
		if p.TopicAlias != 0 {
			num(uint64(p.TopicAlias))
		}
	case 'C':
		s, cut = p.ContentType, true
	case 'D':
		s = string(p.CorrelationData)
	case 'E':
		if p.MessageExpiryInterval != nil {
			num(uint64(*p.MessageExpiryInterval))
		}
	case 'F':
		if p.PayloadFormat != 0 {
			num(uint64(p.PayloadFormat))
		}
	case 'P':
		kv := make([]string, len(p.User))
		for i, u := range p.User {
			kv[i] = u.Key + ":" + u.Value
		}
		s = strings.Join(kv, " ")
	case 'R':
		s, cut = p.ResponseTopic, true
	case 'S':
		ids := make([]string, len(p.SubscriptionIDs))
		for i, id := range p.SubscriptionIDs {
			ids[i] = strconv.FormatUint(uint64(id), 10)
		}
		s, numeric = strings.Join(ids, ","), len(ids) == 1
	}
	if cut && it.prec >= 0 && utf8.RuneCountInString(s) > it.prec {
		s = string([]rune(s)[:it.prec])
	}
	n := utf8.RuneCountInString(s)
	if s == "" || n >= it.width {
		return append(dst, s...)
	}
	pad := strings.Repeat(" ", it.width-n)
	switch {
	case it.left:
		return append(append(dst, s...), pad...)
	case it.zero && numeric:
		return append(append(dst, strings.Repeat("0", it.width-n)...), s...)
	}
	return append(append(dst, pad...), s...)
}

// appendStrftime appends t as strftime's %c would, for the conversions
// of strftimeConvs, in the C locale; @N is nanoseconds.
func appendStrftime(dst []byte, c byte, t time.Time) []byte {
	two := func(n int) []byte { return fmt.Appendf(dst, "%02d", n) }
	switch c {
	case 'a':
		return t.AppendFormat(dst, "Mon")
	case 'A':
		return t.AppendFormat(dst, "Monday")
	case 'b', 'h':
		return t.AppendFormat(dst, "Jan")
	case 'B':
		return t.AppendFormat(dst, "January")
	case 'c':
		return t.AppendFormat(dst, "Mon Jan _2 15:04:05 2006")
	case 'C':
		return two(t.Year() / 100)
	case 'd':
		return two(t.Day())
	case 'D':
		return t.AppendFormat(dst, "01/02/06")
	case 'e':
		return fmt.Appendf(dst, "%2d", t.Day())
	case 'F':
		return t.AppendFormat(dst, "2006-01-02")
	case 'g':
		y, _ := t.ISOWeek()
		return two(y % 100)
	case 'G':
		y, _ := t.ISOWeek()
		return fmt.Appendf(dst, "%d", y)
	case 'H':
		return two(t.Hour())
	case 'I':
		return t.AppendFormat(dst, "03")
	case 'j':
		return fmt.Appendf(dst, "%03d", t.YearDay())
	case 'k':
		return fmt.Appendf(dst, "%2d", t.Hour())
	case 'l':
		return t.AppendFormat(dst, "_3")
	case 'm':
		return two(int(t.Month()))
	case 'M':
		return two(t.Minute())
	case 'n':
		return append(dst, '\n')
	case 'N':
		return fmt.Appendf(dst, "%09d", t.Nanosecond())
	case 'p':
		return t.AppendFormat(dst, "PM")
	case 'P':
		return t.AppendFormat(dst, "pm")
	case 'r':
		return t.AppendFormat(dst, "03:04:05 PM")
	case 'R':
		return t.AppendFormat(dst, "15:04")
	case 's':
		return strconv.AppendInt(dst, t.Unix(), 10)
	case 'S':
		return two(t.Second())
	case 't':
		return append(dst, '\t')
	case 'T':
		return t.AppendFormat(dst, "15:04:05")
	case 'u':
		return strconv.AppendInt(dst, int64((int(t.Weekday())+6)%7+1), 10)
	case 'V':
		_, w := t.ISOWeek()
		return two(w)
	case 'w':
		return strconv.AppendInt(dst, int64(t.Weekday()), 10)
	case 'y':
		return two(t.Year() % 100)
	case 'Y':
		return strconv.AppendInt(dst, int64(t.Year()), 10)
	case 'z':
		return t.AppendFormat(dst, "-0700")
	case 'Z':
		return t.AppendFormat(dst, "MST")
	}
	return dst
}
