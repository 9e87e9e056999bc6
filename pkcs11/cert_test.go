//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"
	"github.com/ternmq/mqtt/internal/certtest"
)

// TestCertificate: a key generated in the token, its certificate issued by
// the CA for the public key the token gives and stored beside it, come
// back as a tls.Certificate, by label or by ID; of two certificates for the
// key, the newer is taken.
func TestCertificate(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "certs")
	id := []byte{0xbe, 0xef}
	h.generateKey(t, "certs", "device", id, "ec")
	tok := h.open(t, "certs")
	ca := certtest.NewCA(t, "Tern test CA")
	s, err := tok.Signer(KeyRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	old := ca.Issue(t, certtest.Spec{CommonName: "old", Client: true, Key: s, NotBefore: time.Now().Add(-48 * time.Hour)})
	cur := ca.Issue(t, certtest.Spec{CommonName: "device", Client: true, Key: s})
	h.importCert(t, "certs", "device", id, cur.Cert)
	h.importCert(t, "certs", "device", id, old.Cert)

	for _, k := range []KeyRef{{Label: "device"}, {ID: id}, {Label: "device", ID: id}} {
		c, err := tok.Certificate(k)
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		if len(c.Certificate) != 1 || string(c.Certificate[0]) != string(cur.Cert.Raw) || c.Leaf == nil || c.Leaf.Subject.CommonName != "device" {
			t.Fatalf("%v: not the newer certificate", k)
		}
		signer, ok := c.PrivateKey.(crypto.Signer)
		if !ok || !samePublic(signer.Public(), cur.Cert.PublicKey) {
			t.Fatalf("%v: PrivateKey is not the certificate's key", k)
		}
	}
}

// TestCertificateMismatch: a certificate stored with the key's ID but
// issued for another key is an error, not a tls.Certificate that would
// fail in the handshake.
func TestCertificateMismatch(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "mixed")
	h.importKey(t, "mixed", "mine", []byte{1}, certtest.NewKey(t, "rsa"))
	tok := h.open(t, "mixed")
	ca := certtest.NewCA(t, "Tern test CA")
	other := ca.Issue(t, certtest.Spec{CommonName: "other", Client: true, Key: certtest.NewKey(t, "rsa")})
	h.importCert(t, "mixed", "mine", []byte{1}, other.Cert)
	_, err := tok.Certificate(KeyRef{Label: "mine"})
	if err == nil {
		t.Fatal("Certificate paired a key with another key's certificate")
	}
	if errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not for the private key") {
		t.Errorf("unclear error: %v", err)
	}
}

// TestCertificateWithoutPublicKey: an EC private key whose token holds no
// public key object (only the certificate) takes its public key from the
// certificate; Certificate proves with a signature that the two are a
// pair, and refuses a certificate of another key.
func TestCertificateWithoutPublicKey(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "bare")
	h.generateKey(t, "bare", "a", []byte{0xa}, "ec")
	h.generateKey(t, "bare", "b", []byte{0xb}, "ec")
	ca := certtest.NewCA(t, "Tern test CA")
	tok := h.open(t, "bare")
	sa, err := tok.Signer(KeyRef{Label: "a"})
	if err != nil {
		t.Fatal(err)
	}
	certA := ca.Issue(t, certtest.Spec{CommonName: "a", Client: true, Key: sa})
	h.destroy(t, "bare", p11.CKO_PUBLIC_KEY, []byte{0xa})
	h.destroy(t, "bare", p11.CKO_PUBLIC_KEY, []byte{0xb})
	// Key a gets its own certificate, key b the certificate of key a.
	h.importCert(t, "bare", "a", []byte{0xa}, certA.Cert)
	h.importCert(t, "bare", "b", []byte{0xb}, certA.Cert)

	c, err := tok.Certificate(KeyRef{Label: "a"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.PrivateKey.(crypto.Signer)
	if !samePublic(s.Public(), certA.Cert.PublicKey) {
		t.Fatal("Public is not the certificate's key")
	}
	d := digestOf(crypto.SHA256, "from the certificate")
	sig, err := s.Sign(rand.Reader, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d, sig) {
		t.Error("the signature does not verify with the certificate's key")
	}
	if _, err := tok.Certificate(KeyRef{Label: "b"}); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("key b with key a's certificate: %v", err)
	}
}
