package main

import (
	"fmt"
	"strconv"
	"strings"
)

// topicTemplate is a topic (or filter) of tern bench with placeholders
// filled in for each client: %i its number, %c its client ID, %u the user
// name, %% a percent sign (emqtt-bench's placeholders).
type topicTemplate struct {
	parts []templatePart
}

// templatePart is literal text, or the placeholder verb ('i', 'c', 'u').
type templatePart struct {
	text string
	verb byte
}

// parseTemplate parses a topic template; flag names the flag in errors.
func parseTemplate(flag, s string) (*topicTemplate, error) {
	t := new(topicTemplate)
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("%s %q ends with %%: write %%%% for a percent sign", flag, s)
		}
		i++
		switch v := s[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'i', 'c', 'u':
			if lit.Len() > 0 {
				t.parts = append(t.parts, templatePart{text: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, templatePart{verb: v})
		default:
			return nil, fmt.Errorf("%s %q: unknown %%%c; the placeholders are %%i (the client's number), %%c (its client ID), %%u (the user name) and %%%% (a percent sign)", flag, s, v)
		}
	}
	if lit.Len() > 0 || len(t.parts) == 0 {
		t.parts = append(t.parts, templatePart{text: lit.String()})
	}
	return t, nil
}

// expand returns the topic of client number n, whose ID is id.
func (t *topicTemplate) expand(n int, id, username string) string {
	if len(t.parts) == 1 && t.parts[0].verb == 0 {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.verb {
		case 0:
			b.WriteString(p.text)
		case 'i':
			b.WriteString(strconv.Itoa(n))
		case 'c':
			b.WriteString(id)
		case 'u':
			b.WriteString(username)
		}
	}
	return b.String()
}
