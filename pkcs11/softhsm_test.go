//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// The PINs of the test tokens. They are test secrets, yet the tests check
// that no error or log carries them, as they would a real PIN.
const (
	testPIN   = "tern-user-4711"
	testSOPIN = "tern-so-0815"
)

// softHSMModules are where distributions put SoftHSM2's PKCS #11 module.
var softHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",                  // Debian, Ubuntu
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", // Debian, multiarch
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so", // Fedora
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// hsm is a SoftHSM2 whose tokens live in a temporary folder of one test.
type hsm struct {
	module string // the PKCS #11 module
	util   string // softhsm2-util
	dir    string
}

// newHSM sets SOFTHSM2_CONF for the test to a configuration whose tokens
// are in a temporary folder. Without SoftHSM2 the test fails when the CI
// variable is set (CI installs it) and skips otherwise.
func newHSM(t *testing.T) *hsm {
	t.Helper()
	h := &hsm{dir: t.TempDir()}
	for _, m := range softHSMModules {
		if _, err := os.Stat(m); err == nil {
			h.module = m
			break
		}
	}
	util, err := exec.LookPath("softhsm2-util")
	if h.module == "" || err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("SoftHSM2 is not installed (its module or softhsm2-util is missing); CI must install the Debian package softhsm2")
		}
		t.Skip("SoftHSM2 is not installed (apt-get install softhsm2): skipping")
	}
	h.util = util
	tokens := filepath.Join(h.dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(h.dir, "softhsm2.conf")
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	return h
}

// run runs softhsm2-util with args, for at most a minute.
func (h *hsm) run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, h.util, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util %s: %v\n%s", args[0], err, out)
	}
}

// initToken makes a token labelled label in a free slot, with the test
// PINs. Make every token, and import keys with importKey, before the test
// opens the module: SoftHSM2 lists its tokens when the module initializes.
func (h *hsm) initToken(t *testing.T, label string) {
	t.Helper()
	h.run(t, "--init-token", "--free", "--label", label, "--pin", testPIN, "--so-pin", testSOPIN)
}

// importKey imports key, a Go private key, into the token with the label
// and ID given, with softhsm2-util as a user would. The PEM file it goes
// through is removed at once.
func (h *hsm) importKey(t *testing.T, token, label string, id []byte, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	h.run(t, "--import", path, "--token", token, "--label", label, "--id", fmt.Sprintf("%x", id), "--pin", testPIN)
}

// session runs f in a read-write session of the token, logged in, through
// the same module as the package's Tokens (a module initializes once per
// process).
func (h *hsm) session(t *testing.T, token string, f func(ctx *p11.Ctx, s p11.SessionHandle) error) {
	t.Helper()
	mod, err := loadModule(h.module)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.release()
	slot, _, err := findToken(mod, Config{Module: h.module, TokenLabel: token})
	if err != nil {
		t.Fatal(err)
	}
	s, err := mod.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.ctx.CloseSession(s)
	if err := mod.ctx.Login(s, p11.CKU_USER, testPIN); err != nil && !isRV(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		t.Fatal(err)
	}
	if err := f(mod.ctx, s); err != nil {
		t.Fatal(err)
	}
}

// generateKey makes a key pair in the token ("ec" for P-256, "rsa" for
// 2048 bits), which never leaves it.
func (h *hsm) generateKey(t *testing.T, token, label string, id []byte, kind string) {
	t.Helper()
	common := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	pub := append([]*p11.Attribute{p11.NewAttribute(p11.CKA_VERIFY, true)}, common...)
	priv := append([]*p11.Attribute{
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
	}, common...)
	var mech uint
	switch kind {
	case "ec":
		mech = p11.CKM_EC_KEY_PAIR_GEN
		p256, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
		pub = append(pub, p11.NewAttribute(p11.CKA_EC_PARAMS, p256))
	case "rsa":
		mech = p11.CKM_RSA_PKCS_KEY_PAIR_GEN
		pub = append(pub, p11.NewAttribute(p11.CKA_MODULUS_BITS, 2048), p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	h.session(t, token, func(ctx *p11.Ctx, s p11.SessionHandle) error {
		_, _, err := ctx.GenerateKeyPair(s, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, pub, priv)
		return err
	})
}

// destroy removes the objects of class with the ID given.
func (h *hsm) destroy(t *testing.T, token string, class uint, id []byte) {
	t.Helper()
	h.session(t, token, func(ctx *p11.Ctx, s p11.SessionHandle) error {
		if err := ctx.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class), p11.NewAttribute(p11.CKA_ID, id)}); err != nil {
			return err
		}
		hs, _, err := ctx.FindObjects(s, 100)
		ctx.FindObjectsFinal(s)
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			return errors.New("no object to destroy")
		}
		for _, o := range hs {
			if err := ctx.DestroyObject(s, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// importCert stores an X.509 certificate in the token (C_CreateObject) with
// the label and ID given.
func (h *hsm) importCert(t *testing.T, token, label string, id []byte, cert *x509.Certificate) {
	t.Helper()
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	h.session(t, token, func(ctx *p11.Ctx, s p11.SessionHandle) error {
		_, err := ctx.CreateObject(s, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_CERTIFICATE),
			p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_SUBJECT, cert.RawSubject),
			p11.NewAttribute(p11.CKA_ISSUER, cert.RawIssuer),
			p11.NewAttribute(p11.CKA_SERIAL_NUMBER, serial),
			p11.NewAttribute(p11.CKA_VALUE, cert.Raw),
		})
		return err
	})
}

// open opens the token with the test PIN and closes it when the test ends.
func (h *hsm) open(t *testing.T, token string) *Token {
	t.Helper()
	tok, err := Open(Config{Module: h.module, TokenLabel: token, PIN: testPIN})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := tok.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tok
}

// noPIN fails the test if s holds a PIN of the tests.
func noPIN(t *testing.T, what, s string) {
	t.Helper()
	for _, pin := range []string{testPIN, testSOPIN, wrongPIN} {
		if strings.Contains(s, pin) {
			t.Errorf("%s holds a PIN: %s", what, strings.ReplaceAll(s, pin, "<PIN>"))
		}
	}
}

const wrongPIN = "not-the-pin-1234"

// samePublic reports whether a and b are the same public key.
func samePublic(a, b crypto.PublicKey) bool {
	switch a := a.(type) {
	case *ecdsa.PublicKey:
		return a.Equal(b)
	case *rsa.PublicKey:
		return a.Equal(b)
	}
	return false
}
