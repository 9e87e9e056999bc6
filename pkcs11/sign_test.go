//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ternmq/mqtt/internal/certtest"
)

// digestOf hashes msg with h.
func digestOf(h crypto.Hash, msg string) []byte {
	if h == crypto.MD5SHA1 {
		return append(digestOf(crypto.MD5, msg), digestOf(crypto.SHA1, msg)...)
	}
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

// signKeys makes a token "sign" with four keys, EC P-256 and RSA-2048,
// each imported from Go and generated in the token, and opens it. It
// returns the Go keys of the imported ones by label.
func signKeys(t *testing.T) (*Token, map[string]crypto.Signer) {
	h := newHSM(t)
	h.initToken(t, "sign")
	goKeys := map[string]crypto.Signer{
		"ec-imported":  certtest.NewKey(t, "ec"),
		"rsa-imported": certtest.NewKey(t, "rsa"),
	}
	h.importKey(t, "sign", "ec-imported", []byte{1}, goKeys["ec-imported"])
	h.importKey(t, "sign", "rsa-imported", []byte{2}, goKeys["rsa-imported"])
	h.generateKey(t, "sign", "ec-generated", []byte{3}, "ec")
	h.generateKey(t, "sign", "rsa-generated", []byte{4}, "rsa")
	return h.open(t, "sign"), goKeys
}

// TestSignVerify: signatures made in the token verify with the public key
// the Signer gives, which is the key's: ECDSA over every hash TLS uses (a
// digest longer than the curve is cut as Go cuts it), RSA PKCS #1 v1.5
// (byte for byte what Go makes with the same key) and RSA-PSS with each
// kind of salt length.
func TestSignVerify(t *testing.T) {
	tok, goKeys := signKeys(t)
	hashes := []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for _, label := range []string{"ec-imported", "ec-generated", "rsa-imported", "rsa-generated"} {
		t.Run(label, func(t *testing.T) {
			s, err := tok.Signer(KeyRef{Label: label})
			if err != nil {
				t.Fatal(err)
			}
			if k := goKeys[label]; k != nil && !samePublic(s.Public(), k.Public()) {
				t.Fatal("Public is not the imported key's public key")
			}
			switch pub := s.Public().(type) {
			case *ecdsa.PublicKey:
				if pub.Curve.Params().Name != "P-256" {
					t.Fatalf("curve %s", pub.Curve.Params().Name)
				}
				for _, h := range hashes {
					d := digestOf(h, "ecdsa "+h.String())
					sig, err := s.Sign(rand.Reader, d, h)
					if err != nil {
						t.Fatalf("%v: %v", h, err)
					}
					if !ecdsa.VerifyASN1(pub, d, sig) {
						t.Errorf("ECDSA with %v does not verify", h)
					}
				}
			case *rsa.PublicKey:
				if pub.N.BitLen() != 2048 {
					t.Fatalf("RSA key of %d bits", pub.N.BitLen())
				}
				for _, h := range append(hashes, crypto.MD5SHA1) {
					d := digestOf(h, "pkcs1 "+h.String())
					sig, err := s.Sign(rand.Reader, d, h)
					if err != nil {
						t.Fatalf("PKCS #1 v1.5 %v: %v", h, err)
					}
					if err := rsa.VerifyPKCS1v15(pub, h, d, sig); err != nil {
						t.Errorf("PKCS #1 v1.5 with %v: %v", h, err)
					}
					if k, ok := goKeys[label].(*rsa.PrivateKey); ok {
						want, _ := rsa.SignPKCS1v15(nil, k, h, d)
						if string(sig) != string(want) {
							t.Errorf("PKCS #1 v1.5 with %v: not the signature Go makes with the same key", h)
						}
					}
				}
				for _, h := range hashes {
					for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
						d := digestOf(h, fmt.Sprintf("pss %v %d", h, salt))
						sig, err := s.Sign(rand.Reader, d, &rsa.PSSOptions{Hash: h, SaltLength: salt})
						if err != nil {
							t.Fatalf("PSS %v salt %d: %v", h, salt, err)
						}
						if err := rsa.VerifyPSS(pub, h, d, sig, &rsa.PSSOptions{SaltLength: salt}); err != nil {
							t.Errorf("PSS with %v, salt length %d: %v", h, salt, err)
						}
					}
				}
			default:
				t.Fatalf("Public is a %T", pub)
			}
			if _, err := s.Sign(rand.Reader, []byte("short"), crypto.SHA256); err == nil {
				t.Error("a digest of the wrong length was signed")
			}
		})
	}
}

// TestConcurrentSign: goroutines sign at once, more than there are
// sessions, with both kinds of key, and every signature verifies.
func TestConcurrentSign(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "busy")
	h.importKey(t, "busy", "ec", []byte{1}, certtest.NewKey(t, "ec"))
	h.importKey(t, "busy", "rsa", []byte{2}, certtest.NewKey(t, "rsa"))
	tok, err := Open(Config{Module: h.module, TokenLabel: "busy", PIN: testPIN, MaxSessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	ec, err := tok.Signer(KeyRef{Label: "ec"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := tok.Signer(KeyRef{ID: []byte{2}})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 15
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d := digestOf(crypto.SHA256, fmt.Sprintf("%d/%d", w, i))
				if (w+i)%2 == 0 {
					sig, err := ec.Sign(rand.Reader, d, crypto.SHA256)
					if err == nil && !ecdsa.VerifyASN1(ec.Public().(*ecdsa.PublicKey), d, sig) {
						err = errors.New("ECDSA signature does not verify")
					}
					errs <- err
				} else {
					opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
					sig, err := rs.Sign(rand.Reader, d, opts)
					if err == nil {
						err = rsa.VerifyPSS(rs.Public().(*rsa.PublicKey), crypto.SHA256, d, sig, opts)
					}
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseWhileSigning: Close waits for the signatures in progress, and
// the Signers fail with ErrClosed afterwards.
func TestCloseWhileSigning(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "closing")
	h.importKey(t, "closing", "ec", []byte{1}, certtest.NewKey(t, "ec"))
	tok, err := Open(Config{Module: h.module, TokenLabel: "closing", PIN: testPIN, MaxSessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tok.Signer(KeyRef{Label: "ec"})
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf(crypto.SHA256, "x")
	started := make(chan struct{}, 4)
	results := make(chan error, 4)
	for range 4 {
		go func() {
			for i := 0; ; i++ {
				if i == 3 {
					started <- struct{}{}
				}
				if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
					results <- err
					return
				}
			}
		}()
	}
	for range 4 {
		<-started
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := <-results; !errors.Is(err, ErrClosed) {
			t.Errorf("a signature after Close: %v, want ErrClosed", err)
		}
	}
	if err := tok.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tok.Signer(KeyRef{Label: "ec"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Signer after Close: %v, want ErrClosed", err)
	}
}
