package pkcs11

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Config says which token to open and how to log in to it.
type Config struct {
	// Module is the path of the token's PKCS #11 shared library, such as
	// /usr/lib/softhsm/libsofthsm2.so, or a bare file name for the dynamic
	// loader to find in its library path. Required.
	Module string

	// TokenLabel selects the token by its label. If empty, and Slot is nil
	// too, the module must have exactly one initialized token.
	TokenLabel string

	// Slot selects the token by its slot ID. If nil, the token is found by
	// TokenLabel. If both are set, the token in that slot must have that
	// label.
	Slot *uint

	// PIN is the user PIN. If empty, Open does not log in, which suits
	// tokens whose keys need no login. It is never logged nor put in an
	// error message.
	PIN string

	// MaxSessions bounds how many PKCS #11 sessions the Token opens, and so
	// how many signatures it makes at once; others wait for a free
	// session. If zero, 4.
	MaxSessions int
}

// String describes the configuration without the PIN.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pkcs11.Config{Module: %q", c.Module)
	if c.TokenLabel != "" {
		fmt.Fprintf(&b, ", TokenLabel: %q", c.TokenLabel)
	}
	if c.Slot != nil {
		fmt.Fprintf(&b, ", Slot: %d", *c.Slot)
	}
	if c.PIN != "" {
		b.WriteString(", PIN: <redacted>")
	}
	if c.MaxSessions != 0 {
		fmt.Fprintf(&b, ", MaxSessions: %d", c.MaxSessions)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so that %#v leaves the PIN out too.
func (c Config) GoString() string { return c.String() }

// LogValue gives the configuration to log/slog without the PIN.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("module", c.Module)}
	if c.TokenLabel != "" {
		attrs = append(attrs, slog.String("token_label", c.TokenLabel))
	}
	if c.Slot != nil {
		attrs = append(attrs, slog.Uint64("slot", uint64(*c.Slot)))
	}
	if c.PIN != "" {
		attrs = append(attrs, slog.String("pin", "<redacted>"))
	}
	return slog.GroupValue(attrs...)
}

// maxSessions returns MaxSessions or its default.
func (c Config) maxSessions() int {
	if c.MaxSessions <= 0 {
		return 4
	}
	return c.MaxSessions
}

// KeyRef names a key in a token by its label (CKA_LABEL), its ID (CKA_ID),
// or both, in which case an object must match both. A key and its
// certificate usually share an ID; labels are for people.
type KeyRef struct {
	Label string
	ID    []byte
}

// String describes the reference: `label "client" and ID 0a0b`.
func (k KeyRef) String() string {
	var parts []string
	if k.Label != "" {
		parts = append(parts, "label "+strconv.Quote(k.Label))
	}
	if len(k.ID) > 0 {
		parts = append(parts, "ID "+hex.EncodeToString(k.ID))
	}
	if len(parts) == 0 {
		return "no label and no ID"
	}
	return strings.Join(parts, " and ")
}

var (
	// ErrNoCgo is what Open returns in a program built without cgo.
	ErrNoCgo = errors.New("pkcs11: built without cgo, which PKCS #11 modules need (build with CGO_ENABLED=1 and a C compiler)")

	// ErrClosed is what a Token's methods, and the Signers it gave, return
	// after Close.
	ErrClosed = errors.New("pkcs11: token closed")

	// ErrNotFound matches, with errors.Is, the error for a token, a key or a
	// certificate that is not there.
	ErrNotFound = errors.New("pkcs11: not found")

	// ErrPIN matches, with errors.Is, the error of a login whose PIN the
	// token refused: wrong, locked, expired or of the wrong length.
	ErrPIN = errors.New("pkcs11: PIN refused")
)

// tokenError is an error of this package that carries a kind
// (ErrNotFound, ErrPIN) for errors.Is and, usually, the PKCS #11 return
// value that caused it.
type tokenError struct {
	msg  string // starts with "pkcs11: "
	kind error  // ErrNotFound, ErrPIN or nil
	err  error  // the cause, or nil
}

func (e *tokenError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *tokenError) Is(target error) bool { return e.kind != nil && target == e.kind }

func (e *tokenError) Unwrap() error { return e.err }
