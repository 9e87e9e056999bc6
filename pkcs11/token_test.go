//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ternmq/mqtt/internal/certtest"
)

// TestWrongPIN: a PIN the token refuses is an error that matches ErrPIN,
// names the token and holds no PIN; the right PIN works after it.
func TestWrongPIN(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "pin")
	for _, pin := range []string{wrongPIN, testPIN + "x"} {
		tok, err := Open(Config{Module: h.module, TokenLabel: "pin", PIN: pin})
		if err == nil {
			tok.Close()
			t.Fatal("Open succeeded with a wrong PIN")
		}
		if !errors.Is(err, ErrPIN) {
			t.Errorf("error %q does not match ErrPIN", err)
		}
		msg := err.Error()
		noPIN(t, "the error", msg)
		t.Log(msg)
		if strings.Contains(msg, pin) {
			t.Errorf("the error holds the wrong PIN")
		}
		if !strings.HasPrefix(msg, "pkcs11: ") || !strings.Contains(msg, `"pin"`) || !strings.Contains(msg, "CKR_PIN_INCORRECT") {
			t.Errorf("unclear error: %s", msg)
		}
		noPIN(t, "the error's %#v", fmt.Sprintf("%#v", err))
	}
	h.open(t, "pin")
}

// TestNotFound: a token, a key or a certificate that is not there is an
// error that matches ErrNotFound and says what was looked for.
func TestNotFound(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "here")
	h.importKey(t, "here", "client", []byte{0xc1}, certtest.NewKey(t, "ec"))

	check := func(t *testing.T, err error, want ...string) {
		t.Helper()
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error %v does not match ErrNotFound", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		noPIN(t, "the error", err.Error())
		t.Log(err)
	}
	t.Run("module", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "libnothing.so")
		_, err := Open(Config{Module: missing, PIN: testPIN})
		check(t, err, missing)
	})
	t.Run("token", func(t *testing.T) {
		_, err := Open(Config{Module: h.module, TokenLabel: "elsewhere", PIN: testPIN})
		check(t, err, `"elsewhere"`, `"here"`)
	})
	tok := h.open(t, "here")
	t.Run("label", func(t *testing.T) {
		_, err := tok.Signer(KeyRef{Label: "nobody"})
		check(t, err, `label "nobody"`, `"here"`)
	})
	t.Run("ID", func(t *testing.T) {
		_, err := tok.Certificate(KeyRef{ID: []byte{0xde, 0xad}})
		check(t, err, "ID dead")
	})
	t.Run("label and ID", func(t *testing.T) {
		_, err := tok.Signer(KeyRef{Label: "client", ID: []byte{0xc2}})
		check(t, err, `label "client" and ID c2`)
	})
	t.Run("certificate", func(t *testing.T) {
		if _, err := tok.Signer(KeyRef{Label: "client"}); err != nil {
			t.Fatal(err)
		}
		_, err := tok.Certificate(KeyRef{Label: "client"})
		check(t, err, "no certificate", `"client"`)
	})
	t.Run("empty KeyRef", func(t *testing.T) {
		if _, err := tok.Signer(KeyRef{}); err == nil || !strings.Contains(err.Error(), "no label and no ID") {
			t.Errorf("Signer(KeyRef{}): %v", err)
		}
	})
}

// TestAmbiguousKey: a label that two keys share is an error; the ID
// tells them apart.
func TestAmbiguousKey(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "twins")
	k1, k2 := certtest.NewKey(t, "ec"), certtest.NewKey(t, "ec")
	h.importKey(t, "twins", "same", []byte{1}, k1)
	h.importKey(t, "twins", "same", []byte{2}, k2)
	tok := h.open(t, "twins")
	if _, err := tok.Signer(KeyRef{Label: "same"}); err == nil || !strings.Contains(err.Error(), "2 private keys") {
		t.Errorf("Signer by a shared label: %v", err)
	}
	s, err := tok.Signer(KeyRef{Label: "same", ID: []byte{2}})
	if err != nil {
		t.Fatal(err)
	}
	if !samePublic(s.Public(), k2.Public()) {
		t.Error("label and ID found the other key")
	}
}

// TestTokenSelection: with two tokens, Open needs a label or a slot, finds
// each by label or slot, and keeps both open at once in one process (one
// module, initialized once).
func TestTokenSelection(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "alpha")
	h.initToken(t, "beta")
	ka, kb := certtest.NewKey(t, "ec"), certtest.NewKey(t, "rsa")
	h.importKey(t, "alpha", "k", []byte{1}, ka)
	h.importKey(t, "beta", "k", []byte{1}, kb)

	_, err := Open(Config{Module: h.module, PIN: testPIN})
	if err == nil || !strings.Contains(err.Error(), `"alpha"`) || !strings.Contains(err.Error(), `"beta"`) {
		t.Fatalf("Open without a label or slot among two tokens: %v", err)
	}
	a := h.open(t, "alpha")
	b := h.open(t, "beta")
	if a.Label() != "alpha" || b.Label() != "beta" || a.Slot() == b.Slot() {
		t.Fatalf("opened %q in slot %d and %q in slot %d", a.Label(), a.Slot(), b.Label(), b.Slot())
	}
	slot := b.Slot()
	bySlot, err := Open(Config{Module: h.module, Slot: &slot, PIN: testPIN})
	if err != nil {
		t.Fatal(err)
	}
	if bySlot.Label() != "beta" {
		t.Errorf("slot %d has token %q", slot, bySlot.Label())
	}
	if _, err := Open(Config{Module: h.module, Slot: &slot, TokenLabel: "alpha", PIN: testPIN}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open with the slot of one token and the label of another: %v", err)
	}

	for _, c := range []struct {
		tok  *Token
		want crypto.Signer
	}{{a, ka}, {b, kb}, {bySlot, kb}} {
		s, err := c.tok.Signer(KeyRef{Label: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if !samePublic(s.Public(), c.want.Public()) {
			t.Errorf("token %q gave another key", c.tok.Label())
		}
	}
	// Closing one Token leaves the others of the same module working.
	if err := bySlot.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(KeyRef{Label: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, digestOf(crypto.SHA256, "still"), crypto.SHA256); err != nil {
		t.Errorf("a Token of the same module, after another closed: %v", err)
	}
}

// TestConfigHidesPIN: printing or logging a Config leaves the PIN out.
func TestConfigHidesPIN(t *testing.T) {
	slot := uint(7)
	cfg := Config{Module: "/lib/m.so", TokenLabel: "tok", Slot: &slot, PIN: testPIN}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opening", "config", cfg, "ptr", &cfg)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg),
		fmt.Sprintf("%+v", []Config{cfg}), logged.String(),
	} {
		noPIN(t, "the output", s)
		if !strings.Contains(s, "tok") || !strings.Contains(s, "redacted") {
			t.Errorf("the output does not describe the config: %s", s)
		}
	}
}

// TestModuleByName: a bare file name of a module is left to the dynamic
// loader, and one it cannot find is a clear error.
func TestModuleByName(t *testing.T) {
	_, err := Open(Config{Module: "libnothing-tern.so", PIN: testPIN})
	if err == nil || !strings.Contains(err.Error(), `"libnothing-tern.so"`) {
		t.Errorf("Open of a module that is nowhere: %v", err)
	}
}
