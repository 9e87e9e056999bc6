//go:build cgo

package pkcs11

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// Token is an open PKCS #11 token, logged in. Its methods, and the Signers
// it gives, are safe for concurrent use: each PKCS #11 operation runs in a
// session of its own, taken from a pool of at most Config.MaxSessions.
type Token struct {
	mod   *module
	slot  uint
	label string // the token's label, for messages
	pin   string // never logged nor put in an error

	// sem holds one element per session in use, so its capacity bounds the
	// sessions; Close fills it to wait for the operations in progress.
	sem  chan struct{}
	done chan struct{} // closed by Close

	mu     sync.Mutex          // guards the fields below
	idle   []p11.SessionHandle // open sessions not in use
	closed bool
}

// Open loads the PKCS #11 module of cfg, finds the token, opens a session
// and logs in with the PIN. Its error says which of these failed, never
// with the PIN; a refused PIN matches ErrPIN and a token that is not there
// ErrNotFound. Close the Token when done.
//
// A process may open several Tokens, of one module or of several: a module
// is loaded once and finalized when its last Token closes.
func Open(cfg Config) (*Token, error) {
	mod, err := loadModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	slot, label, err := findToken(mod, cfg)
	if err != nil {
		mod.release()
		return nil, err
	}
	t := &Token{
		mod:   mod,
		slot:  slot,
		label: label,
		pin:   cfg.PIN,
		sem:   make(chan struct{}, cfg.maxSessions()),
		done:  make(chan struct{}),
	}
	// The first session logs in, which tells a wrong PIN now rather than at
	// the first signature, and stays in the pool: a token is logged in as
	// long as one of the application's sessions is open.
	s, err := t.openSession()
	if err != nil {
		mod.release()
		return nil, err
	}
	t.idle = append(t.idle, s)
	return t, nil
}

// Close waits for the signatures in progress, closes the Token's sessions,
// which logs out when they were the process's last on the token, and
// unloads the module when no other Token uses it. Signers of the Token fail
// with ErrClosed afterwards. Closing twice returns nil.
func (t *Token) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.done)
	t.mu.Unlock()
	for range cap(t.sem) {
		t.sem <- struct{}{}
	}
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	var first error
	for _, s := range idle {
		if err := t.mod.ctx.CloseSession(s); err != nil && first == nil {
			first = &tokenError{msg: fmt.Sprintf("pkcs11: close a session of token %q", t.label), err: rvError(err)}
		}
	}
	if err := t.mod.release(); err != nil && first == nil {
		first = err
	}
	return first
}

// Label returns the token's label.
func (t *Token) Label() string { return t.label }

// Slot returns the ID of the token's slot.
func (t *Token) Slot() uint { return t.slot }

// findToken returns the slot and label of the token cfg asks for.
func findToken(mod *module, cfg Config) (uint, string, error) {
	if cfg.Slot != nil {
		info, err := mod.ctx.GetTokenInfo(*cfg.Slot)
		if err != nil {
			return 0, "", &tokenError{msg: fmt.Sprintf("pkcs11: no token in slot %d of module %q", *cfg.Slot, cfg.Module), kind: ErrNotFound, err: rvError(err)}
		}
		if cfg.TokenLabel != "" && info.Label != cfg.TokenLabel {
			return 0, "", &tokenError{msg: fmt.Sprintf("pkcs11: the token in slot %d of module %q is labelled %q, not %q", *cfg.Slot, cfg.Module, info.Label, cfg.TokenLabel), kind: ErrNotFound}
		}
		return *cfg.Slot, info.Label, nil
	}
	slots, err := mod.ctx.GetSlotList(true)
	if err != nil {
		return 0, "", &tokenError{msg: fmt.Sprintf("pkcs11: list the slots of module %q", cfg.Module), err: rvError(err)}
	}
	var found []uint
	var labels []string // of every initialized token, for messages
	for _, slot := range slots {
		info, err := mod.ctx.GetTokenInfo(slot)
		if err != nil || info.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		labels = append(labels, strconv.Quote(info.Label))
		if cfg.TokenLabel == "" || info.Label == cfg.TokenLabel {
			found = append(found, slot)
		}
	}
	tokens := "no initialized token"
	if len(labels) > 0 {
		tokens = "tokens " + strings.Join(labels, ", ")
	}
	switch {
	case len(found) == 1:
		info, _ := mod.ctx.GetTokenInfo(found[0])
		return found[0], info.Label, nil
	case len(found) == 0 && cfg.TokenLabel != "":
		return 0, "", &tokenError{msg: fmt.Sprintf("pkcs11: no token labelled %q in module %q (it has %s)", cfg.TokenLabel, cfg.Module, tokens), kind: ErrNotFound}
	case len(found) == 0:
		return 0, "", &tokenError{msg: fmt.Sprintf("pkcs11: module %q has no initialized token", cfg.Module), kind: ErrNotFound}
	case cfg.TokenLabel != "":
		return 0, "", fmt.Errorf("pkcs11: %d tokens of module %q are labelled %q: set Config.Slot", len(found), cfg.Module, cfg.TokenLabel)
	default:
		return 0, "", fmt.Errorf("pkcs11: module %q has %s: set Config.TokenLabel or Config.Slot", cfg.Module, tokens)
	}
}

// openSession opens a session and, if the token is not logged in yet and
// there is a PIN, logs in.
func (t *Token) openSession() (p11.SessionHandle, error) {
	s, err := t.mod.ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return 0, &tokenError{msg: fmt.Sprintf("pkcs11: open a session with token %q", t.label), err: rvError(err)}
	}
	if err := t.login(s); err != nil {
		t.mod.ctx.CloseSession(s)
		return 0, err
	}
	return s, nil
}

// login logs in with the PIN, if there is one and the token is not logged
// in already.
func (t *Token) login(s p11.SessionHandle) error {
	if t.pin == "" {
		return nil
	}
	if info, err := t.mod.ctx.GetSessionInfo(s); err == nil &&
		info.State != p11.CKS_RO_PUBLIC_SESSION && info.State != p11.CKS_RW_PUBLIC_SESSION {
		return nil
	}
	err := t.mod.ctx.Login(s, p11.CKU_USER, t.pin)
	switch {
	case err == nil, isRV(err, p11.CKR_USER_ALREADY_LOGGED_IN):
		return nil
	case isRV(err, p11.CKR_PIN_INCORRECT), isRV(err, p11.CKR_PIN_INVALID), isRV(err, p11.CKR_PIN_LEN_RANGE),
		isRV(err, p11.CKR_PIN_EXPIRED), isRV(err, p11.CKR_PIN_LOCKED):
		return &tokenError{msg: fmt.Sprintf("pkcs11: log in to token %q: PIN refused", t.label), kind: ErrPIN, err: rvError(err)}
	default:
		return &tokenError{msg: fmt.Sprintf("pkcs11: log in to token %q", t.label), err: rvError(err)}
	}
}

// do runs f with a session of the pool, waiting for one if MaxSessions are
// in use. If the token forgot the login meanwhile (CKR_USER_NOT_LOGGED_IN),
// do logs in again and runs f once more.
func (t *Token) do(f func(s p11.SessionHandle) error) error {
	select {
	case t.sem <- struct{}{}:
	case <-t.done:
		return ErrClosed
	}
	defer func() { <-t.sem }()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	var s p11.SessionHandle
	if n := len(t.idle); n > 0 {
		s = t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
	} else {
		t.mu.Unlock()
		var err error
		if s, err = t.openSession(); err != nil {
			return err
		}
	}
	err := f(s)
	if isRV(err, p11.CKR_USER_NOT_LOGGED_IN) && t.pin != "" {
		if lerr := t.login(s); lerr != nil {
			err = lerr
		} else {
			err = f(s)
		}
	}
	if broken(err) {
		t.mod.ctx.CloseSession(s)
	} else {
		t.mu.Lock()
		t.idle = append(t.idle, s)
		t.mu.Unlock()
	}
	return err
}

// broken reports whether err means the session can no longer be used.
func broken(err error) bool {
	for _, rv := range []uint{p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_DEVICE_REMOVED,
		p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_ERROR, p11.CKR_OPERATION_ACTIVE} {
		if isRV(err, rv) {
			return true
		}
	}
	return false
}
