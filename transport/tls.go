package transport

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// TLSOptions describe a TLS client configuration the way configuration
// files and command lines give it: file names, PEM bytes, a PKCS#12 bundle.
// Config turns them into a *tls.Config.
type TLSOptions struct {
	// The roots that verify the server, from any of CAFile (PEM, several
	// certificates allowed), CAPEM and CAPool, together. If none is set,
	// the system's roots.
	CAFile string
	CAPEM  []byte
	CAPool *x509.CertPool

	// The client certificate, for mutual TLS: its chain (leaf first) from
	// CertFile or CertPEM, and its private key from KeyFile or KeyPEM (PKCS
	// #1, PKCS #8 or SEC 1, unencrypted) or Key, any crypto.Signer (a key
	// held in hardware: see the pkcs11 package).
	CertFile string
	CertPEM  []byte
	KeyFile  string
	KeyPEM   []byte
	Key      crypto.Signer

	// PKCS12File or PKCS12 is a PKCS #12 bundle (.p12, .pfx) holding the
	// client key, its certificate and perhaps the chain; PKCS12Password
	// opens it. Bundles OpenSSL 3 writes by default (AES-256-CBC, PBKDF2,
	// SHA-256 MAC) load, as do the legacy ones (RC2, 3DES, SHA-1).
	PKCS12File     string
	PKCS12         []byte
	PKCS12Password string

	// ServerName is the name the server's certificate must carry, and the
	// SNI sent. If empty, the broker URL's host.
	ServerName string
	// ALPN is the list of application protocols offered (for example
	// "x-amzn-mqtt-ca" for AWS IoT Core on port 443).
	ALPN []string
	// MinVersion is the lowest TLS version accepted. If zero, TLS 1.2.
	// MaxVersion, if not zero, the highest (tls.VersionTLS12 to refuse 1.3).
	MinVersion, MaxVersion uint16
	// CipherSuites, if not empty, are the TLS 1.2 cipher suites offered;
	// TLS 1.3's are not configurable in Go. See CipherSuite.
	CipherSuites []uint16
	// InsecureSkipVerify accepts any server certificate. It exists for
	// tests against a broker with a throwaway certificate; the connection
	// can be intercepted, and the Dialer logs a warning at each use.
	InsecureSkipVerify bool
}

// Config builds the *tls.Config the options describe. Errors name the file
// or field at fault and never include a password.
func (o *TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         o.ServerName,
		NextProtos:         o.ALPN,
		MinVersion:         o.MinVersion,
		MaxVersion:         o.MaxVersion,
		CipherSuites:       o.CipherSuites,
		InsecureSkipVerify: o.InsecureSkipVerify,
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MaxVersion != 0 && cfg.MaxVersion < cfg.MinVersion {
		return nil, fmt.Errorf("transport: TLS MaxVersion %s is below MinVersion %s",
			tls.VersionName(cfg.MaxVersion), tls.VersionName(cfg.MinVersion))
	}
	roots, err := o.roots()
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = roots
	cert, err := o.certificate()
	if err != nil {
		return nil, err
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg, nil
}

func (o *TLSOptions) roots() (*x509.CertPool, error) {
	if o.CAFile == "" && o.CAPEM == nil && o.CAPool == nil {
		return nil, nil // the system's
	}
	pool := x509.NewCertPool()
	if o.CAPool != nil {
		pool = o.CAPool.Clone()
	}
	add := func(name string, data []byte) error {
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("transport: %s holds no PEM certificate", name)
		}
		return nil
	}
	if o.CAFile != "" {
		data, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("transport: CA file: %w", err)
		}
		if err := add(o.CAFile, data); err != nil {
			return nil, err
		}
	}
	if o.CAPEM != nil {
		if err := add("CAPEM", o.CAPEM); err != nil {
			return nil, err
		}
	}
	return pool, nil
}

// certificate returns the client certificate, or nil if none is set.
func (o *TLSOptions) certificate() (*tls.Certificate, error) {
	hasPEM := o.CertFile != "" || o.CertPEM != nil
	hasKey := o.KeyFile != "" || o.KeyPEM != nil || o.Key != nil
	hasP12 := o.PKCS12File != "" || o.PKCS12 != nil
	switch {
	case hasP12 && (hasPEM || hasKey):
		return nil, errors.New("transport: give the client certificate either as PKCS#12 or as certificate and key, not both")
	case hasP12:
		return o.pkcs12()
	case hasPEM != hasKey:
		return nil, errors.New("transport: a client certificate needs both the certificate and its key")
	case !hasPEM:
		return nil, nil
	}
	certPEM, err := fileOr("certificate", o.CertFile, o.CertPEM)
	if err != nil {
		return nil, err
	}
	if o.Key != nil {
		if o.KeyFile != "" || o.KeyPEM != nil {
			return nil, errors.New("transport: give the client key either as Key or as PEM, not both")
		}
		return signerCertificate(certPEM, o.Key)
	}
	keyPEM, err := fileOr("key", o.KeyFile, o.KeyPEM)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// X509KeyPair's errors never quote the key.
		return nil, fmt.Errorf("transport: client certificate and key: %w", err)
	}
	return &cert, nil
}

func fileOr(what, name string, data []byte) ([]byte, error) {
	if name != "" && data != nil {
		return nil, fmt.Errorf("transport: give the %s either as a file or as bytes, not both", what)
	}
	if name == "" {
		return data, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("transport: %s file: %w", what, err)
	}
	return b, nil
}

// signerCertificate pairs a PEM certificate chain with key, checking that
// the leaf's public key is key's.
func signerCertificate(certPEM []byte, key crypto.Signer) (*tls.Certificate, error) {
	var cert tls.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			cert.Certificate = append(cert.Certificate, b.Bytes)
		}
	}
	if len(cert.Certificate) == 0 {
		return nil, errors.New("transport: the client certificate holds no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("transport: client certificate: %w", err)
	}
	if !samePublicKey(leaf.PublicKey, key.Public()) {
		return nil, errors.New("transport: the client certificate's public key is not the key's")
	}
	cert.PrivateKey = key
	cert.Leaf = leaf
	return &cert, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func (o *TLSOptions) pkcs12() (*tls.Certificate, error) {
	data, err := fileOr("PKCS#12", o.PKCS12File, o.PKCS12)
	if err != nil {
		return nil, err
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, o.PKCS12Password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, errors.New("transport: PKCS#12: wrong password")
		}
		return nil, fmt.Errorf("transport: PKCS#12: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("transport: PKCS#12: a %T key cannot sign", key)
	}
	cert := &tls.Certificate{PrivateKey: signer, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		if c.Equal(leaf) || isSelfSigned(c) {
			continue // roots are the server's to have; send only intermediates
		}
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// CipherSuite returns the ID of a TLS 1.2 cipher suite by its IANA name
// (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) or its OpenSSL name
// (ECDHE-ECDSA-AES128-GCM-SHA256), including the insecure ones Go knows.
func CipherSuite(name string) (uint16, error) {
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	for _, s := range all {
		if strings.EqualFold(s.Name, name) {
			return s.ID, nil
		}
	}
	if n, ok := openSSLNames[strings.ToUpper(name)]; ok {
		for _, s := range all {
			if s.Name == n {
				return s.ID, nil
			}
		}
	}
	return 0, fmt.Errorf("transport: unknown TLS cipher suite %q", name)
}

// openSSLNames maps OpenSSL's names of the TLS 1.2 suites Go offers to
// IANA's.
var openSSLNames = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	// Insecure; OpenSSL 3 builds usually leave them out, 1.1 had them.
	"ECDHE-RSA-DES-CBC3-SHA": "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"DES-CBC3-SHA":           "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-ECDSA-RC4-SHA":    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":      "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	"RC4-SHA":                "TLS_RSA_WITH_RC4_128_SHA",
}
