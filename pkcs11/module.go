//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// module is a loaded and initialized PKCS #11 library. A library is
// initialized once per process (C_Initialize), so every Token of the process
// that uses the same library shares one module, counted by refs, and the
// last one to close finalizes it.
type module struct {
	key  string // the library's path with symbolic links resolved
	ctx  *p11.Ctx
	refs int  // Tokens using it; guarded by modulesMu
	own  bool // we initialized it, so we finalize it
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*module{} // by key; guarded by modulesMu
)

// loadModule loads and initializes the library at path, or returns the
// module already loaded from it, counting one more user. Call release when
// done.
func loadModule(path string) (*module, error) {
	if path == "" {
		return nil, errors.New("pkcs11: Config.Module is empty: give the path of the token's PKCS #11 library")
	}
	key := path // a bare file name, which dlopen looks for in the library path
	if strings.ContainsRune(path, filepath.Separator) {
		var err error
		if key, err = filepath.EvalSymlinks(path); err != nil {
			return nil, &tokenError{msg: fmt.Sprintf("pkcs11: module %q", path), kind: ErrNotFound, err: unwrapPathError(err)}
		}
	}
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m := modules[key]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := p11.New(key)
	if ctx == nil {
		return nil, fmt.Errorf("pkcs11: cannot load %q as a PKCS #11 module (dlopen failed, or it has no C_GetFunctionList)", path)
	}
	m := &module{key: key, ctx: ctx, refs: 1, own: true}
	if err := ctx.Initialize(); err != nil {
		// Some other code of this process initialized the library; use it,
		// and leave finalizing it to that code.
		if !isRV(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, &tokenError{msg: fmt.Sprintf("pkcs11: initialize module %q", path), err: rvError(err)}
		}
		m.own = false
	}
	modules[key] = m
	return m, nil
}

// release counts one user less, and finalizes and unloads the library when
// it was the last.
func (m *module) release() error {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules, m.key)
	var err error
	if m.own {
		if e := m.ctx.Finalize(); e != nil {
			err = &tokenError{msg: fmt.Sprintf("pkcs11: finalize module %q", m.key), err: rvError(e)}
		}
	}
	m.ctx.Destroy()
	return err
}

// unwrapPathError drops the path and operation from an *os.PathError, which
// the message around it already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// rvErr is a PKCS #11 return value as an error: "CKR_PIN_INCORRECT (0xA0)".
// It unwraps to the binding's error.
type rvErr struct{ e p11.Error }

func (r rvErr) Error() string {
	// The binding's text is "pkcs11: 0xA0: CKR_PIN_INCORRECT".
	s := r.e.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s[i+2:], "CKR_") {
		return fmt.Sprintf("%s (0x%X)", s[i+2:], uint(r.e))
	}
	return fmt.Sprintf("CKR 0x%X", uint(r.e))
}

func (r rvErr) Unwrap() error { return r.e }

// rvError turns the binding's error into an rvErr; other errors pass as
// they are.
func rvError(err error) error {
	var e p11.Error
	if errors.As(err, &e) {
		return rvErr{e}
	}
	return err
}

// isRV reports whether err is the PKCS #11 return value rv.
func isRV(err error, rv uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == rv
}
