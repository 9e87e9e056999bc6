package transport_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
	"github.com/ternmq/mqtt/transport"
)

// openSSLPKCS12 writes a PKCS#12 bundle of leaf's key and certificate and
// ca's certificate with the real openssl, adding args (-legacy), and
// returns its path. The password goes through the environment, not the
// command line.
func openSSLPKCS12(t *testing.T, ca *certtest.CA, leaf *certtest.Leaf, password string, args ...string) string {
	t.Helper()
	openssl := needTool(t, "openssl", "openssl")
	dir := t.TempDir()
	out := filepath.Join(dir, "client.p12")
	cmd := exec.Command(openssl, append([]string{"pkcs12", "-export",
		"-in", certtest.Write(t, dir, "cert.pem", leaf.CertPEM),
		"-inkey", certtest.Write(t, dir, "key.pem", leaf.KeyPEM),
		"-certfile", certtest.Write(t, dir, "ca.pem", ca.CertPEM),
		"-name", "tern test client",
		"-out", out, "-passout", "env:TERN_P12_PASSWORD"}, args...)...)
	cmd.Env = append(os.Environ(), "TERN_P12_PASSWORD="+password)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12 -export %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out
}

// TestPKCS12OpenSSL: bundles the real openssl writes, with OpenSSL 3's
// defaults (AES-256-CBC, PBKDF2, SHA-256 MAC) and with -legacy (RC2,
// 3DES, SHA-1 MAC), for EC and RSA keys, load and authenticate the client
// to Mosquitto, which requires a certificate. A wrong password is a clear
// error that does not quote the password; so is an empty one.
func TestPKCS12OpenSSL(t *testing.T) {
	ca := certtest.NewCA(t, "Tern mTLS CA")
	broker := mosquittoTLS(t, ca, true)
	const password = "P12-Passw0rd"
	for _, tc := range []struct {
		name string
		key  string
		args []string
	}{
		{"default EC", "ec", nil},
		{"default RSA", "rsa", nil},
		{"legacy EC", "ec", []string{"-legacy"}},
		{"legacy RSA", "rsa", []string{"-legacy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf := ca.Issue(t, certtest.Spec{CommonName: "device-" + tc.key, Client: true, Key: certtest.NewKey(t, tc.key)})
			p12 := openSSLPKCS12(t, ca, leaf, password, tc.args...)
			cfg, err := (&transport.TLSOptions{PKCS12File: p12, PKCS12Password: password, CAPEM: ca.CertPEM}).Config()
			if err != nil {
				t.Fatalf("Config: %v", err)
			}
			if len(cfg.Certificates) != 1 {
				t.Fatalf("%d certificates", len(cfg.Certificates))
			}
			c := cfg.Certificates[0]
			if len(c.Certificate) != 1 || !bytes.Equal(c.Certificate[0], leaf.Cert.Raw) {
				t.Errorf("the chain sent holds %d certificates, want the leaf only (the root is left out)", len(c.Certificate))
			}
			roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})

			// The same from bytes.
			data, err := os.ReadFile(p12)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err = (&transport.TLSOptions{PKCS12: data, PKCS12Password: password, CAPEM: ca.CertPEM}).Config()
			if err != nil {
				t.Fatalf("Config from bytes: %v", err)
			}
			roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})

			for _, wrong := range []string{"wrong-" + password, ""} {
				_, err = (&transport.TLSOptions{PKCS12File: p12, PKCS12Password: wrong}).Config()
				noSecret(t, err, password)
				if !strings.Contains(err.Error(), "password") {
					t.Errorf("Config with a wrong password: %v, want it to say so", err)
				}
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		_, err := mqtt.Dial(ctxT(t), mqtt.Config{Broker: broker, TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
		if err == nil {
			t.Fatal("Mosquitto let a client without a certificate in: the test proves nothing")
		}
	})
	t.Run("not PKCS12", func(t *testing.T) {
		_, err := (&transport.TLSOptions{PKCS12: []byte("not a bundle"), PKCS12Password: password}).Config()
		noSecret(t, err, password)
		if !strings.Contains(err.Error(), "PKCS#12") {
			t.Errorf("%v does not name PKCS#12", err)
		}
	})
}

// onlySigner is a key that is a crypto.Signer and nothing else, as a key
// in hardware is: no concrete type to assert.
type onlySigner struct{ s crypto.Signer }

func (k onlySigner) Public() crypto.PublicKey { return k.s.Public() }
func (k onlySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.s.Sign(r, digest, opts)
}

// TestSignerKey: a client key that is only a crypto.Signer authenticates
// the client to Mosquitto, with TLS 1.3 and 1.2, EC and RSA; a signer
// that is not the certificate's key is refused by Config.
func TestSignerKey(t *testing.T) {
	t.Run("mismatch", func(t *testing.T) {
		leaf := certtest.NewCA(t, "Tern CA").Client(t, "a")
		_, err := (&transport.TLSOptions{CertPEM: leaf.CertPEM, Key: onlySigner{certtest.NewKey(t, "ec")}}).Config()
		if err == nil || !strings.Contains(err.Error(), "public key") {
			t.Fatalf("Config with another key: %v", err)
		}
	})
	ca := certtest.NewCA(t, "Tern mTLS CA")
	broker := mosquittoTLS(t, ca, true)
	for _, kind := range []string{"ec", "rsa"} {
		leaf := ca.Issue(t, certtest.Spec{CommonName: "hsm-" + kind, Client: true, Key: certtest.NewKey(t, kind)})
		for _, max := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			t.Run(kind+" "+tls.VersionName(max), func(t *testing.T) {
				cfg, err := (&transport.TLSOptions{CertPEM: leaf.CertPEM, Key: onlySigner{leaf.Key}, CAPEM: ca.CertPEM, MaxVersion: max}).Config()
				if err != nil {
					t.Fatal(err)
				}
				roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})
			})
		}
	}
}

// TestTLSOptionsFiles: the certificate and key as files and as PEM; the
// roots from a file of several certificates, PEM and a pool together;
// errors for mismatches and missing parts.
func TestTLSOptionsFiles(t *testing.T) {
	ca := certtest.NewCA(t, "Tern mTLS CA")
	other := certtest.NewCA(t, "another CA")
	third := certtest.NewCA(t, "a third CA")
	dir := t.TempDir()
	leaf := ca.Client(t, "files")
	certFile := certtest.Write(t, dir, "cert.pem", leaf.CertPEM)
	keyFile := certtest.Write(t, dir, "key.pem", leaf.KeyPEM)
	bothCAs := certtest.Write(t, dir, "cas.pem", append(append([]byte(nil), other.CertPEM...), ca.CertPEM...))

	t.Run("files", func(t *testing.T) {
		broker := mosquittoTLS(t, ca, true)
		cfg, err := (&transport.TLSOptions{CertFile: certFile, KeyFile: keyFile, CAFile: bothCAs}).Config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("MinVersion %s, want TLS 1.2", tls.VersionName(cfg.MinVersion))
		}
		roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})
	})
	t.Run("PEM and pool", func(t *testing.T) {
		broker := mosquittoTLS(t, ca, true)
		cfg, err := (&transport.TLSOptions{CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM, CAPEM: third.CertPEM, CAPool: ca.Pool()}).Config()
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})
	})
	t.Run("the pool is not changed", func(t *testing.T) {
		pool := x509.NewCertPool()
		if _, err := (&transport.TLSOptions{CAPEM: ca.CertPEM, CAPool: pool}).Config(); err != nil {
			t.Fatal(err)
		}
		if !pool.Equal(x509.NewCertPool()) {
			t.Error("Config added to the caller's CAPool")
		}
	})
	t.Run("wrong roots", func(t *testing.T) {
		broker := mosquittoTLS(t, ca, true)
		cfg, err := (&transport.TLSOptions{CertFile: certFile, KeyFile: keyFile, CAPEM: other.CertPEM}).Config()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mqtt.Dial(ctxT(t), mqtt.Config{Broker: broker, TLSConfig: cfg}); err == nil {
			t.Fatal("the broker's certificate was accepted with roots that did not issue it")
		}
	})
	errCases := []struct {
		name string
		o    transport.TLSOptions
		want string // in the error
	}{
		{"cert and key mismatch", transport.TLSOptions{CertPEM: leaf.CertPEM, KeyPEM: ca.Client(t, "other").KeyPEM}, "does not match"},
		{"cert without key", transport.TLSOptions{CertFile: certFile}, "both"},
		{"key without cert", transport.TLSOptions{KeyFile: keyFile}, "both"},
		{"Key and KeyPEM", transport.TLSOptions{CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM, Key: leaf.Key}, "not both"},
		{"file and PEM", transport.TLSOptions{CertFile: certFile, CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM}, "not both"},
		{"PKCS12 and PEM", transport.TLSOptions{PKCS12: []byte("x"), CertPEM: leaf.CertPEM, KeyPEM: leaf.KeyPEM}, "not both"},
		{"missing cert file", transport.TLSOptions{CertFile: filepath.Join(dir, "none.pem"), KeyFile: keyFile}, "none.pem"},
		{"missing CA file", transport.TLSOptions{CAFile: filepath.Join(dir, "none-ca.pem")}, "none-ca.pem"},
		{"CA file without certificates", transport.TLSOptions{CAFile: keyFile}, "key.pem"},
		{"CAPEM without certificates", transport.TLSOptions{CAPEM: []byte("junk")}, "CAPEM"},
		{"Key with a cert of no PEM", transport.TLSOptions{CertPEM: []byte("junk"), Key: leaf.Key}, "no PEM"},
		{"MaxVersion below the default MinVersion", transport.TLSOptions{MaxVersion: tls.VersionTLS11}, "MaxVersion"},
		{"MaxVersion below MinVersion", transport.TLSOptions{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS12}, "MaxVersion"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.o.Config()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "transport: ") {
				t.Fatalf("Config: %v, want a transport error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(leaf.KeyPEM[30:60])) {
				t.Fatalf("the error quotes the key")
			}
		})
	}
}

// TestTLSVersionsAndSuites: MinVersion, MaxVersion, CipherSuites and ALPN
// reach the handshake, against a Go TLS listener in front of Mochi that
// offers TLS 1.2 and 1.3 and protocol names.
func TestTLSVersionsAndSuites(t *testing.T) {
	ca := certtest.NewCA(t, "Tern CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCfg := &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()},
		NextProtos: []string{"x-amzn-mqtt-ca", "mqtt"}, MinVersion: tls.VersionTLS12}
	broker := "mqtts" + strings.TrimPrefix(mochiOnTLS(t, ln, srvCfg), "mqtt")
	suite, err := transport.CipherSuite("ECDHE-ECDSA-AES256-GCM-SHA384")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		o       transport.TLSOptions
		version uint16
		suite   uint16 // 0: any
		alpn    string
	}{
		{"defaults", transport.TLSOptions{}, tls.VersionTLS13, 0, ""},
		{"TLS 1.2 only", transport.TLSOptions{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12, 0, ""},
		{"suite", transport.TLSOptions{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}}, tls.VersionTLS12, suite, ""},
		{"ALPN", transport.TLSOptions{ALPN: []string{"x-amzn-mqtt-ca"}}, tls.VersionTLS13, 0, "x-amzn-mqtt-ca"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.CAPool = ca.Pool()
			cfg, err := tc.o.Config()
			if err != nil {
				t.Fatal(err)
			}
			nc, err := (&transport.Dialer{TLSConfig: cfg}).Dial(ctxT(t), mustURL(t, broker))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			st := nc.(*tls.Conn).ConnectionState()
			if st.Version != tc.version || (tc.suite != 0 && st.CipherSuite != tc.suite) || st.NegotiatedProtocol != tc.alpn {
				t.Fatalf("negotiated %s, %s, ALPN %q; want %s, %s, %q", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite),
					st.NegotiatedProtocol, tls.VersionName(tc.version), tls.CipherSuiteName(tc.suite), tc.alpn)
			}
			roundTrip(t, mqtt.Config{Broker: broker, TLSConfig: cfg})
		})
	}
}

// TestCipherSuite: IANA names (any case) and OpenSSL names of every TLS
// 1.2 suite Go knows; the OpenSSL names are checked against the real
// openssl's list of its suites, by ID.
func TestCipherSuite(t *testing.T) {
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	for _, s := range all {
		for _, name := range []string{s.Name, strings.ToLower(s.Name)} {
			if id, err := transport.CipherSuite(name); err != nil || id != s.ID {
				t.Errorf("CipherSuite(%q) = %#04x, %v; want %#04x", name, id, err, s.ID)
			}
		}
	}
	for _, name := range []string{"", "TLS_NOPE", "ECDHE-RSA-NOPE", "NULL-SHA"} {
		_, err := transport.CipherSuite(name)
		if err == nil || !strings.Contains(err.Error(), "unknown") {
			t.Errorf("CipherSuite(%q): %v, want an unknown suite error", name, err)
		}
	}
	// Names today's OpenSSL builds leave out (RC4, 3DES), as OpenSSL 1.1
	// listed them.
	for name, want := range map[string]uint16{
		"DES-CBC3-SHA":            tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
		"ECDHE-RSA-DES-CBC3-SHA":  tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
		"RC4-SHA":                 tls.TLS_RSA_WITH_RC4_128_SHA,
		"ECDHE-RSA-RC4-SHA":       tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
		"ECDHE-ECDSA-RC4-SHA":     tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
		"ecdhe-rsa-aes128-sha256": tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	} {
		if id, err := transport.CipherSuite(name); err != nil || id != want {
			t.Errorf("CipherSuite(%q) = %#04x, %v; want %#04x", name, id, err, want)
		}
	}

	t.Run("openssl", func(t *testing.T) {
		openssl := needTool(t, "openssl", "openssl")
		out, err := exec.Command(openssl, "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
		if err != nil {
			t.Fatal(err)
		}
		// Lines like "0xC0,0x2C - ECDHE-ECDSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH ..."
		byID := map[uint16]string{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 || f[1] != "-" {
				continue
			}
			hi, lo, ok := strings.Cut(f[0], ",")
			h, err1 := strconv.ParseUint(strings.TrimPrefix(hi, "0x"), 16, 8)
			l, err2 := strconv.ParseUint(strings.TrimPrefix(lo, "0x"), 16, 8)
			if !ok || err1 != nil || err2 != nil {
				t.Fatalf("cannot read %q", sc.Text())
			}
			byID[uint16(h<<8|l)] = f[2]
		}
		if len(byID) < 20 {
			t.Fatalf("openssl listed %d suites: %s", len(byID), out)
		}
		checked := 0
		for _, s := range all {
			name, ok := byID[s.ID]
			if !ok {
				continue // this openssl does not have it
			}
			checked++
			if id, err := transport.CipherSuite(name); err != nil || id != s.ID {
				t.Errorf("CipherSuite(%q) (openssl's name of %s) = %#04x, %v", name, s.Name, id, err)
			}
		}
		t.Logf("checked %d of Go's %d suites against openssl's names", checked, len(all))
	})
}

// mochiOnTLS starts Mochi behind a TLS listener with cfg on ln and returns
// its mqtt:// URL (the caller makes it mqtts).
func mochiOnTLS(t *testing.T, ln net.Listener, cfg *tls.Config) string {
	t.Helper()
	return brokertest.MochiOn(t, tls.NewListener(ln, cfg)).URL
}
