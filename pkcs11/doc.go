// Package pkcs11 uses a private key held in a PKCS #11 token (a hardware
// security module, a smart card, a secure element such as Infineon's OPTIGA
// Trust M behind its PKCS #11 library, or SoftHSM2) as the client key of
// mutual TLS, without the key ever leaving the token.
//
// Open loads the token's PKCS #11 module (a shared library), logs in with
// the PIN, and keeps a small pool of sessions. Token.Signer finds a private
// key by label, by ID, or by both, and gives it as a crypto.Signer;
// Token.Certificate also finds the certificate object that goes with the
// key and gives both as a tls.Certificate for tls.Config.Certificates:
//
//	tok, err := pkcs11.Open(pkcs11.Config{
//		Module:     "/usr/lib/softhsm/libsofthsm2.so",
//		TokenLabel: "device",
//		PIN:        pin,
//	})
//	...
//	defer tok.Close()
//	cert, err := tok.Certificate(pkcs11.KeyRef{Label: "client"})
//	...
//	cfg := mqtt.Config{Broker: "mqtts://broker:8883",
//		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
//
// Signers support ECDSA keys on P-256, P-384 and P-521 (CKM_ECDSA) and RSA
// keys of any size with PKCS #1 v1.5 (CKM_RSA_PKCS, as TLS 1.2 uses it) and
// PSS (CKM_RSA_PKCS_PSS, which TLS 1.3 requires for RSA), over SHA-1,
// SHA-224, SHA-256, SHA-384 and SHA-512. The token hashes nothing: Go
// hashes, the token signs the digest.
//
// # Binding
//
// The package is built on github.com/miekg/pkcs11, a thin cgo binding of
// the PKCS #11 C API with no dependencies of its own, rather than on
// github.com/ThalesGroup/crypto11, which is built on it and already gives a
// crypto.Signer. What we need above the binding is small (find objects,
// three signing mechanisms, a session pool) and is written here with the
// errors, the PIN handling and the lookup rules this package promises;
// crypto11 would bring its own session pool, global module state and error
// package, and its current releases need a newer Go than this module's.
//
// # cgo
//
// PKCS #11 modules are C shared libraries, so this package needs cgo; it is
// the only package of the module that does. Built without cgo
// (CGO_ENABLED=0) the package still compiles, so programs that import it
// still build, but Open returns ErrNoCgo.
//
// # Secrets
//
// The PIN is never logged nor put in an error message; Config's String,
// GoString and LogValue methods leave it out. Private keys stay in the
// token: nothing here asks for CKA_VALUE of a private key.
package pkcs11
