//go:build !cgo

package pkcs11

import (
	"crypto"
	"crypto/tls"
)

// Token is an open PKCS #11 token. In this program, built without cgo, no
// token can be opened: see Open.
type Token struct{}

// Open returns ErrNoCgo: PKCS #11 modules are C libraries, and this program
// was built without cgo. Build it with CGO_ENABLED=1 and a C compiler.
func Open(cfg Config) (*Token, error) { return nil, ErrNoCgo }

// Close returns nil.
func (t *Token) Close() error { return nil }

// Label returns "".
func (t *Token) Label() string { return "" }

// Slot returns 0.
func (t *Token) Slot() uint { return 0 }

// Signer returns ErrNoCgo.
func (t *Token) Signer(k KeyRef) (crypto.Signer, error) { return nil, ErrNoCgo }

// Certificate returns ErrNoCgo.
func (t *Token) Certificate(k KeyRef) (tls.Certificate, error) { return tls.Certificate{}, ErrNoCgo }
