package azure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testKey is the key of the fixed vectors: the bytes 0 to 31.
var testKey = func() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

// TestSASTokenFixed checks SASToken against vectors computed once with
// openssl, outside Go:
//
//	K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//	printf '%s\n%s' 'tern-test.azure-devices.net%2Fdevices%2Fdev-1' 1700000000 |
//	  openssl dgst -sha256 -mac HMAC -macopt hexkey:$K -binary | base64
//
// (and the same with '...%2Fdev-1%2Fmodules%2Fmod-1' for the module),
// which printed the signatures below; "+", "/" and "=" are then written
// %2B, %2F and %3D in the token.
func TestSASTokenFixed(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	tests := []struct {
		uri, policy, want string
	}{
		{"tern-test.azure-devices.net/devices/dev-1", "",
			"SharedAccessSignature sr=tern-test.azure-devices.net%2Fdevices%2Fdev-1" +
				"&sig=U2OQYQIWj0JNy3VgSa9QCyh%2Fc02la303DNvw%2Be1bRPI%3D&se=1700000000"},
		{"tern-test.azure-devices.net/devices/dev-1", "device",
			"SharedAccessSignature sr=tern-test.azure-devices.net%2Fdevices%2Fdev-1" +
				"&sig=U2OQYQIWj0JNy3VgSa9QCyh%2Fc02la303DNvw%2Be1bRPI%3D&se=1700000000&skn=device"},
		{"tern-test.azure-devices.net/devices/dev-1/modules/mod-1", "",
			"SharedAccessSignature sr=tern-test.azure-devices.net%2Fdevices%2Fdev-1%2Fmodules%2Fmod-1" +
				"&sig=geYv9ktBdgX69NZEe4eY4npio5PH1ypZsHUayBa035g%3D&se=1700000000"},
	}
	for _, tt := range tests {
		got, err := SASToken(tt.uri, testKey, tt.policy, exp)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			// These are test vectors, not credentials: printing them is fine.
			t.Errorf("SASToken(%q, policy %q):\n got %s\nwant %s", tt.uri, tt.policy, got, tt.want)
		}
	}
	// The fraction of a second is dropped.
	if got, _ := SASToken(tests[0].uri, testKey, "", exp.Add(999*time.Millisecond)); got != tests[0].want {
		t.Errorf("expiry 1700000000.999: got %s", got)
	}
}

// TestSASTokenOpenSSL checks the signature of tokens for several resources,
// keys and expiries against openssl, run for each: it needs openssl on
// PATH, and fails without it when the CI variable is set.
func TestSASTokenOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl is not installed")
		}
		t.Skip("openssl is not installed: skipping")
	}
	uris := []string{
		"tern-test.azure-devices.net/devices/dev-1",
		"tern-test.azure-devices.net/devices/Dev.With_Odd!chars'(x)*:=@$%",
		"tern-test.azure-devices.net/devices/dev-1/modules/mod~1",
		"tern-test.azure-devices.net",
	}
	keys := [][]byte{testKey, []byte("k"), bytes.Repeat([]byte{0xff, 0x00, 0x7f}, 30)}
	exps := []time.Time{time.Unix(1, 0), time.Unix(1700000000, 0), time.Now().Add(time.Hour)}
	for i, uri := range uris {
		key := keys[i%len(keys)]
		exp := exps[i%len(exps)]
		token, err := SASToken(uri, key, "policy-"+strconv.Itoa(i), exp)
		if err != nil {
			t.Fatal(err)
		}
		f := tokenFields(t, token)
		// The expected encoding of the URI, by another implementation:
		// url.QueryEscape agrees with ours on URIs without spaces.
		wantSR := url.QueryEscape(uri)
		if f["sr"] != wantSR {
			t.Errorf("sr = %s, want %s", f["sr"], wantSR)
		}
		if f["se"] != strconv.FormatInt(exp.Unix(), 10) {
			t.Errorf("se = %s, want %d", f["se"], exp.Unix())
		}
		if f["skn"] != "policy-"+strconv.Itoa(i) {
			t.Errorf("skn = %s", f["skn"])
		}
		sig, err := url.QueryUnescape(f["sig"])
		if err != nil {
			t.Fatal(err)
		}
		want := opensslHMAC(t, key, wantSR+"\n"+f["se"])
		if sig != want {
			// Not printed: a token is a credential, even a test's.
			t.Errorf("%s: the signature differs from openssl's", uri)
		}
	}
}

// opensslHMAC returns the base64 HMAC-SHA256 of msg keyed with key, as
// openssl computes it.
func opensslHMAC(t *testing.T, key []byte, msg string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `printf '%s' "$MSG" | openssl dgst -sha256 -mac HMAC -macopt hexkey:"$KEY" -binary | openssl base64 -A`)
	cmd.Env = append(os.Environ(), "MSG="+msg, "KEY="+hex.EncodeToString(key))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// tokenFields splits a SAS token into its fields, still encoded.
func tokenFields(t *testing.T, token string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(token, "SharedAccessSignature ")
	if !ok {
		t.Fatal("the token does not start with \"SharedAccessSignature \"")
	}
	f := make(map[string]string)
	for _, kv := range strings.Split(rest, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || f[k] != "" {
			t.Fatalf("token field %q malformed or repeated", k)
		}
		f[k] = v
	}
	return f
}

func TestSASTokenErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		uri  string
		key  []byte
		exp  time.Time
	}{
		{"no URI", "", testKey, time.Now()},
		{"no key", "h/devices/d", nil, time.Now()},
		{"before 1970", "h/devices/d", testKey, time.Unix(-5, 0)},
		{"zero time", "h/devices/d", testKey, time.Time{}},
	} {
		if tok, err := SASToken(tt.uri, tt.key, "", tt.exp); err == nil || tok != "" || !strings.HasPrefix(err.Error(), "azure: ") {
			t.Errorf("%s: got %q, %v", tt.name, tok, err)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"AZaz09-._~":         "AZaz09-._~",
		"a/b c":              "a%2Fb%20c",
		"$.ct":               "%24.ct",
		"application/json":   "application%2Fjson",
		"+=&%?#\x00\xff":     "%2B%3D%26%25%3F%23%00%FF",
		"é":                  "%C3%A9",
		"ReSoUrCe/Case-Kept": "ReSoUrCe%2FCase-Kept",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
		if back, err := url.PathUnescape(escape(in)); err != nil || back != in {
			t.Errorf("escape(%q) does not decode back: %q, %v", in, back, err)
		}
	}
}

// TestDeviceSASToken: Device.SASToken signs the device's resource URI
// with its key and policy.
func TestDeviceSASToken(t *testing.T) {
	d := &Device{Hub: "tern-test.azure-devices.net", DeviceID: "dev-1", Key: testKey, PolicyName: "device"}
	got, err := d.SASToken(time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := SASToken("tern-test.azure-devices.net/devices/dev-1", testKey, "device", time.Unix(1700000000, 0))
	if got != want {
		t.Error("Device.SASToken differs from SASToken of its resource URI")
	}
	if k := base64.StdEncoding.EncodeToString(testKey); strings.Contains(got, k) {
		t.Error("the token contains the key")
	}
}
