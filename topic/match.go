package topic

// isWildcard reports whether c is '+' or '#'.
func isWildcard(c byte) bool { return c == '+' || c == '#' }

// hasWildcard reports whether s contains '+' or '#'.
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		if isWildcard(s[i]) {
			return true
		}
	}
	return false
}

// Match reports whether the topic name name matches the topic filter
// filter. It walks both strings by index, level by level, and does not
// allocate.
//
//   - A shared filter "$share/{ShareName}/{f}" matches as f: the $share and
//     ShareName portions are not taken into account (section 4.8.2).
//   - '#' matches any number of levels, including the parent level: "a/#"
//     matches "a", "a/" and "a/b/c" (section 4.7.1.2).
//   - '+' matches exactly one level, which may be empty: "a/+" matches "a/"
//     but not "a" or "a/b/c" (section 4.7.1.3).
//   - A filter whose first character is '+' or '#' does not match a name
//     beginning with '$' (MQTT-4.7.2-1). For a shared filter this applies
//     to f.
//   - Levels other than wildcards compare byte for byte, with no
//     normalization (MQTT-4.7.3-4): "ACCOUNTS" does not match "Accounts".
//   - An empty name or filter, and a name containing '+' or '#'
//     (MQTT-4.7.0-1), match nothing.
//
// Match checks the filter only as far as it must: a '+' or '#' that is not
// a whole level (or a '#' that is not last) is compared as an ordinary
// character, and since a name with wildcards never matches, such a level
// matches nothing. Match never panics. Use CheckFilter and CheckName to
// validate.
func Match(filter, name string) bool {
	if _, inner, ok := SplitShared(filter); ok {
		filter = inner
	}
	if len(filter) == 0 || len(name) == 0 {
		return false
	}
	if name[0] == '$' && isWildcard(filter[0]) { // MQTT-4.7.2-1
		return false
	}
	// f and n index filter and name. At the top of each iteration both are
	// at the start of a level (possibly an empty one at the very end).
	f, n := 0, 0
	for {
		if f < len(filter) && filter[f] == '#' && f+1 == len(filter) {
			// '#' as the last level matches all that is left of the name.
			return !hasWildcard(name[n:])
		}
		if f < len(filter) && filter[f] == '+' && (f+1 == len(filter) || filter[f+1] == '/') {
			// '+' consumes one whole name level, whatever it holds.
			for ; n < len(name) && name[n] != '/'; n++ {
				if isWildcard(name[n]) {
					return false
				}
			}
			f++
		} else {
			// A literal level must equal the name's level byte for byte.
			for ; f < len(filter) && filter[f] != '/'; f, n = f+1, n+1 {
				if n == len(name) || name[n] != filter[f] || isWildcard(name[n]) {
					return false
				}
			}
			if n < len(name) && name[n] != '/' {
				return false
			}
		}
		// Both levels ended: each index is at the end or at a '/'.
		if n == len(name) {
			// The name has no more levels. The filter must be done too, or
			// have just "/#" left, '#' matching the parent level.
			return f == len(filter) || len(filter)-f == 2 && filter[f+1] == '#'
		}
		if f == len(filter) {
			return false
		}
		f, n = f+1, n+1
	}
}
