//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	p11 "github.com/miekg/pkcs11"
)

// Signer finds the private key k names and returns it as a crypto.Signer
// whose Public is an *ecdsa.PublicKey or an *rsa.PublicKey. Exactly one
// private key must match k. The public key is read from the private key
// object (RSA), else from the public key object with the same ID (or, for
// a key without an ID, label), else from the certificate with the same ID
// or label. The Signer is safe for concurrent use
// and fails with ErrClosed once the Token is closed.
func (t *Token) Signer(k KeyRef) (crypto.Signer, error) {
	s, err := t.signer(k)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Certificate finds the private key k names and the X.509 certificate
// object that goes with it, and returns both as a tls.Certificate for
// tls.Config.Certificates, with Leaf set. The certificate is the one with
// the key's ID (CKA_ID), or, when none has it, with the key's label. It must
// be for the key: Certificate fails when the certificate's public key is not
// the key's, and, when the token holds no public key for the key other than
// the certificate's, it makes a signature to prove the pair. Of several
// certificates for the key (one renewed), the one that became valid last
// is taken. The tls.Certificate holds no intermediate certificates: append
// them to its Certificate field if the server needs them.
func (t *Token) Certificate(k KeyRef) (tls.Certificate, error) {
	s, err := t.signer(k)
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, where, err := t.certificates(s.id, s.label)
	if err != nil {
		return tls.Certificate{}, err
	}
	if len(certs) == 0 {
		return tls.Certificate{}, &tokenError{msg: fmt.Sprintf("pkcs11: no certificate for the private key with %v in token %q", s.ref(), t.label), kind: ErrNotFound}
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(s.pub) &&
			(leaf == nil || c.NotBefore.After(leaf.NotBefore)) {
			leaf = c
		}
	}
	if leaf == nil {
		return tls.Certificate{}, fmt.Errorf("pkcs11: the certificate with %s in token %q is not for the private key with %v: its public key is another", where, t.label, s.ref())
	}
	if s.pubFromCert {
		if err := prove(s); err != nil {
			return tls.Certificate{}, fmt.Errorf("pkcs11: the certificate with %s in token %q is not for the private key with %v: %w", where, t.label, s.ref(), err)
		}
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: s, Leaf: leaf}, nil
}

// signer finds the private key k names and its public key.
func (t *Token) signer(k KeyRef) (*signer, error) {
	if k.Label == "" && len(k.ID) == 0 {
		return nil, errors.New("pkcs11: KeyRef has no label and no ID")
	}
	s := &signer{t: t}
	err := t.do(func(sess p11.SessionHandle) error {
		hs, err := t.find(sess, p11.CKO_PRIVATE_KEY, k.Label, k.ID)
		if err != nil {
			return err
		}
		switch len(hs) {
		case 0:
			return &tokenError{msg: fmt.Sprintf("pkcs11: no private key with %v in token %q", k, t.label), kind: ErrNotFound}
		case 1:
		default:
			return fmt.Errorf("pkcs11: %d private keys have %v in token %q: name one by label and ID", len(hs), k, t.label)
		}
		s.h = hs[0]
		attrs, err := t.mod.ctx.GetAttributeValue(sess, s.h, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
			p11.NewAttribute(p11.CKA_ID, nil),
			p11.NewAttribute(p11.CKA_LABEL, nil),
		})
		if err != nil {
			return &tokenError{msg: fmt.Sprintf("pkcs11: read the private key with %v in token %q", k, t.label), err: rvError(err)}
		}
		kt := attrUint(attrs[0].Value)
		s.id, s.label = attrs[1].Value, string(attrs[2].Value)
		switch kt {
		case p11.CKK_RSA:
			s.pub, err = t.rsaPublic(sess, s)
		case p11.CKK_EC:
			s.pub, err = t.ecPublic(sess, s)
		default:
			return fmt.Errorf("pkcs11: the private key with %v in token %q is of type 0x%X: only RSA and EC keys can sign here", s.ref(), t.label, kt)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// rsaPublic reads the RSA public key of s: from the private key object,
// which usually has its modulus and exponent, else from the public key
// object or the certificate.
func (t *Token) rsaPublic(sess p11.SessionHandle, s *signer) (crypto.PublicKey, error) {
	rsaAttrs := []*p11.Attribute{p11.NewAttribute(p11.CKA_MODULUS, nil), p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil)}
	attrs, err := t.mod.ctx.GetAttributeValue(sess, s.h, rsaAttrs)
	if err != nil || len(attrs[0].Value) == 0 {
		pubs, perr := t.findPublic(sess, s)
		if perr != nil {
			return nil, perr
		}
		if len(pubs) != 1 {
			return t.certPublic(sess, s, "RSA")
		}
		if attrs, err = t.mod.ctx.GetAttributeValue(sess, pubs[0], rsaAttrs); err != nil {
			return nil, &tokenError{msg: fmt.Sprintf("pkcs11: read the public key with %v in token %q", s.ref(), t.label), err: rvError(err)}
		}
	}
	n := new(big.Int).SetBytes(attrs[0].Value)
	e := new(big.Int).SetBytes(attrs[1].Value)
	if n.Sign() == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("pkcs11: the RSA key with %v in token %q has an invalid modulus or exponent", s.ref(), t.label)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// ecPublic reads the EC public key of s from the public key object with its
// ID (a private key object holds the curve but not the point), else from
// the certificate.
func (t *Token) ecPublic(sess p11.SessionHandle, s *signer) (crypto.PublicKey, error) {
	pubs, err := t.findPublic(sess, s)
	if err != nil {
		return nil, err
	}
	if len(pubs) != 1 {
		return t.certPublic(sess, s, "ECDSA")
	}
	attrs, err := t.mod.ctx.GetAttributeValue(sess, pubs[0], []*p11.Attribute{
		p11.NewAttribute(p11.CKA_EC_PARAMS, nil),
		p11.NewAttribute(p11.CKA_EC_POINT, nil),
	})
	if err != nil {
		return nil, &tokenError{msg: fmt.Sprintf("pkcs11: read the public key with %v in token %q", s.ref(), t.label), err: rvError(err)}
	}
	pub, err := parseECPoint(attrs[0].Value, attrs[1].Value)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: the public key with %v in token %q: %w", s.ref(), t.label, err)
	}
	return pub, nil
}

// certPublic takes the public key of s from its certificate, when the token
// has no public key object for it, and marks it so for Certificate.
func (t *Token) certPublic(sess p11.SessionHandle, s *signer, alg string) (crypto.PublicKey, error) {
	certs, _, err := t.certificatesSession(sess, s.id, s.label)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		switch c.PublicKey.(type) {
		case *ecdsa.PublicKey:
			if alg != "ECDSA" {
				continue
			}
		case *rsa.PublicKey:
			if alg != "RSA" {
				continue
			}
		default:
			continue
		}
		s.pubFromCert = true
		return c.PublicKey, nil
	}
	return nil, &tokenError{msg: fmt.Sprintf("pkcs11: no public key for the %s private key with %v in token %q: the token has no public key object nor certificate with its ID", alg, s.ref(), t.label), kind: ErrNotFound}
}

// certificates returns the X.509 certificates with the given ID or, if
// none has it, the given label, and which of the two it used.
func (t *Token) certificates(id []byte, label string) ([]*x509.Certificate, string, error) {
	var certs []*x509.Certificate
	var where string
	err := t.do(func(sess p11.SessionHandle) error {
		var err error
		certs, where, err = t.certificatesSession(sess, id, label)
		return err
	})
	return certs, where, err
}

// certificatesSession is certificates in the session given.
func (t *Token) certificatesSession(sess p11.SessionHandle, id []byte, label string) ([]*x509.Certificate, string, error) {
	tries := []struct {
		label string
		id    []byte
		where string
	}{
		{"", id, "ID " + hex.EncodeToString(id)},
		{label, nil, "label " + strconv.Quote(label)},
	}
	for _, try := range tries {
		if len(try.id) == 0 && try.label == "" {
			continue
		}
		hs, err := t.find(sess, p11.CKO_CERTIFICATE, try.label, try.id, p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509))
		if err != nil {
			return nil, "", err
		}
		var certs []*x509.Certificate
		for _, h := range hs {
			attrs, err := t.mod.ctx.GetAttributeValue(sess, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
			if err != nil {
				return nil, "", &tokenError{msg: fmt.Sprintf("pkcs11: read the certificate with %s in token %q", try.where, t.label), err: rvError(err)}
			}
			c, err := x509.ParseCertificate(attrs[0].Value)
			if err != nil {
				return nil, "", fmt.Errorf("pkcs11: the certificate with %s in token %q: %w", try.where, t.label, err)
			}
			certs = append(certs, c)
		}
		if len(certs) > 0 {
			return certs, try.where, nil
		}
	}
	return nil, "", nil
}

// findPublic returns the public key objects that pair with the private key
// of s: those with its ID or, when it has none, its label.
func (t *Token) findPublic(sess p11.SessionHandle, s *signer) ([]p11.ObjectHandle, error) {
	switch {
	case len(s.id) > 0:
		return t.find(sess, p11.CKO_PUBLIC_KEY, "", s.id)
	case s.label != "":
		return t.find(sess, p11.CKO_PUBLIC_KEY, s.label, nil)
	}
	return nil, nil
}

// find returns the objects of class with the label and the ID given (an
// empty one matches any) and the extra attributes.
func (t *Token) find(sess p11.SessionHandle, class uint, label string, id []byte, extra ...*p11.Attribute) ([]p11.ObjectHandle, error) {
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)}
	if label != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, id))
	}
	tmpl = append(tmpl, extra...)
	ctx := t.mod.ctx
	if err := ctx.FindObjectsInit(sess, tmpl); err != nil {
		return nil, &tokenError{msg: fmt.Sprintf("pkcs11: search token %q", t.label), err: rvError(err)}
	}
	var all []p11.ObjectHandle
	for {
		hs, _, err := ctx.FindObjects(sess, 16)
		if err != nil {
			ctx.FindObjectsFinal(sess)
			return nil, &tokenError{msg: fmt.Sprintf("pkcs11: search token %q", t.label), err: rvError(err)}
		}
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	if err := ctx.FindObjectsFinal(sess); err != nil {
		return nil, &tokenError{msg: fmt.Sprintf("pkcs11: search token %q", t.label), err: rvError(err)}
	}
	return all, nil
}

// parseECPoint makes an ECDSA public key of CKA_EC_PARAMS (the DER of the
// curve's OID) and CKA_EC_POINT (an uncompressed point, as the DER of an
// OCTET STRING as the standard says, or bare as some tokens give it). The
// point is checked to be on the curve.
func parseECPoint(params, point []byte) (*ecdsa.PublicKey, error) {
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		point = inner
	}
	spki, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}{
		Algorithm: pkix.AlgorithmIdentifier{
			Algorithm:  asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, // id-ecPublicKey
			Parameters: asn1.RawValue{FullBytes: params},
		},
		Key: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("not an EC public key on a known curve: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an ECDSA public key but %T", pub)
	}
	return ec, nil
}

// attrUint decodes a CK_ULONG attribute, which the binding gives in the
// host's byte order and size.
func attrUint(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

// prove signs a random digest with s and verifies it with s's public key.
func prove(s *signer) error {
	var msg [32]byte
	if _, err := rand.Read(msg[:]); err != nil {
		return err
	}
	digest := sha256.Sum256(msg[:])
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return err
	}
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			return errors.New("a signature of the key does not verify with the certificate's public key")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			return errors.New("a signature of the key does not verify with the certificate's public key")
		}
	}
	return nil
}
