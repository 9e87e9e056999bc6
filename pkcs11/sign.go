//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// signer is a private key in a token, as a crypto.Signer.
type signer struct {
	t           *Token
	h           p11.ObjectHandle // the private key object
	id          []byte           // its CKA_ID
	label       string           // its CKA_LABEL
	pub         crypto.PublicKey // *ecdsa.PublicKey or *rsa.PublicKey
	pubFromCert bool             // pub was read from a certificate, not from the key
}

// Public returns the key's public key: an *ecdsa.PublicKey or an
// *rsa.PublicKey.
func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, a hash made with opts.HashFunc(), in the token. An
// ECDSA signature is ASN.1 DER, as ecdsa.SignASN1 makes it. For RSA, opts of
// type *rsa.PSSOptions ask for PSS, any other opts for PKCS #1 v1.5 (with a
// zero hash or crypto.MD5SHA1, digest is signed without a DigestInfo, as
// rsa.SignPKCS1v15 does). rand is not used: the token has its own.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	if h != 0 && len(digest) != h.Size() {
		return nil, fmt.Errorf("pkcs11: the digest to sign is %d bytes, not the %d of %v", len(digest), h.Size(), h)
	}
	var mech *p11.Mechanism
	var input []byte
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		// The token signs what it is given; ECDSA uses the leftmost bits of a
		// digest longer than the curve's order (SEC 1, 4.1.3), so cut it here
		// as crypto/ecdsa would. The curves' orders are whole bytes, except
		// P-521's, which no digest here is longer than.
		size := (pub.Curve.Params().N.BitLen() + 7) / 8
		input = digest
		if len(input) > size {
			input = input[:size]
		}
		mech = p11.NewMechanism(p11.CKM_ECDSA, nil)
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			hashMech, mgf, ok := pssHash(h)
			if !ok {
				return nil, fmt.Errorf("pkcs11: RSA-PSS with %v is not supported", h)
			}
			salt := pss.SaltLength
			switch salt {
			case rsa.PSSSaltLengthEqualsHash:
				salt = h.Size()
			case rsa.PSSSaltLengthAuto: // the largest, as rsa.SignPSS makes it
				salt = (pub.N.BitLen()-1+7)/8 - h.Size() - 2
			}
			if salt < 0 {
				return nil, fmt.Errorf("pkcs11: RSA-PSS salt length %d is invalid", pss.SaltLength)
			}
			mech = p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, p11.NewPSSParams(hashMech, mgf, uint(salt)))
			input = digest
		} else {
			prefix, ok := digestInfo[h]
			if !ok {
				return nil, fmt.Errorf("pkcs11: RSA PKCS #1 v1.5 with %v is not supported", h)
			}
			input = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
			mech = p11.NewMechanism(p11.CKM_RSA_PKCS, nil)
		}
	}
	var sig []byte
	err := s.t.do(func(sess p11.SessionHandle) error {
		ctx := s.t.mod.ctx
		if err := ctx.SignInit(sess, []*p11.Mechanism{mech}, s.h); err != nil {
			return err
		}
		var err error
		sig, err = ctx.Sign(sess, input)
		return err
	})
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	if err != nil {
		return nil, &tokenError{msg: fmt.Sprintf("pkcs11: sign with the private key with %v in token %q", s.ref(), s.t.label), err: rvError(err)}
	}
	if _, ok := s.pub.(*ecdsa.PublicKey); ok {
		return ecdsaDER(sig)
	}
	return sig, nil
}

// ref describes the key for messages: `label "client" and ID 0a0b`.
func (s *signer) ref() string {
	var parts []string
	if s.label != "" {
		parts = append(parts, "label "+strconv.Quote(s.label))
	}
	if len(s.id) > 0 {
		parts = append(parts, "ID "+hex.EncodeToString(s.id))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("handle %d", s.h)
	}
	return strings.Join(parts, " and ")
}

// ecdsaDER turns CKM_ECDSA's signature, r and s as two big-endian numbers
// of the same size, into the ASN.1 DER that Go and TLS use.
func ecdsaDER(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, fmt.Errorf("pkcs11: the token gave an ECDSA signature of %d bytes", len(sig))
	}
	half := len(sig) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:half]),
		new(big.Int).SetBytes(sig[half:]),
	})
}

// pssHash returns the PKCS #11 hash mechanism and MGF1 function of h.
func pssHash(h crypto.Hash) (hashMech, mgf uint, ok bool) {
	switch h {
	case crypto.SHA1:
		return p11.CKM_SHA_1, p11.CKG_MGF1_SHA1, true
	case crypto.SHA224:
		return p11.CKM_SHA224, p11.CKG_MGF1_SHA224, true
	case crypto.SHA256:
		return p11.CKM_SHA256, p11.CKG_MGF1_SHA256, true
	case crypto.SHA384:
		return p11.CKM_SHA384, p11.CKG_MGF1_SHA384, true
	case crypto.SHA512:
		return p11.CKM_SHA512, p11.CKG_MGF1_SHA512, true
	}
	return 0, 0, false
}

// digestInfo holds the DER prefix of a PKCS #1 v1.5 DigestInfo for each
// hash (RFC 8017, section 9.2, note 1): the hash's algorithm identifier and
// the header of the OCTET STRING that the digest completes. Unhashed input
// (0) and TLS 1.0's MD5+SHA-1 have none.
var digestInfo = map[crypto.Hash][]byte{
	0:              {},
	crypto.MD5SHA1: {},
	crypto.SHA1:    {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224:  {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256:  {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384:  {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512:  {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}
