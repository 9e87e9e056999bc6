package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorContext is a vector's context.json: what differs from the test
// suite's defaults. The names are aws-c-auth's.
type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	} `json:"credentials"`
	Region      string `json:"region"`
	Service     string `json:"service"`
	Timestamp   string `json:"timestamp"`
	PayloadHash string `json:"payload_hash"` // if empty, the body's SHA-256
	// SignBody adds the x-amz-content-sha256 header, signed.
	SignBody bool `json:"sign_body"`
	// ExpirationInSeconds adds X-Amz-Expires to a presigned request.
	ExpirationInSeconds int `json:"expiration_in_seconds"`

	time time.Time
}

func loadContext(t *testing.T, dir string) *vectorContext {
	t.Helper()
	c := &vectorContext{}
	if b, err := os.ReadFile(filepath.Join(dir, "context.json")); err == nil {
		if err := json.Unmarshal(b, c); err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if c.Credentials.AccessKeyID == "" {
		c.Credentials.AccessKeyID = "AKIDEXAMPLE"
		c.Credentials.SecretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Service == "" {
		c.Service = "service"
	}
	if c.Timestamp == "" {
		c.Timestamp = "2015-08-30T12:36:00Z"
	}
	var err error
	if c.time, err = time.Parse(time.RFC3339, c.Timestamp); err != nil {
		t.Fatal(err)
	}
	return c
}

// vectorRequest is a request of the test suite's text form:
//
//	METHOD TARGET HTTP/1.1
//	Name:value
//	...
//
//	body
type vectorRequest struct {
	method string
	path   string // as sent, not decoded
	query  url.Values
	host   string
	header http.Header // without Host
	body   string
}

func parseVectorRequest(t *testing.T, text string) *vectorRequest {
	t.Helper()
	head, body, _ := strings.Cut(text, "\n\n")
	head = strings.TrimRight(head, "\n")
	lines := strings.Split(head, "\n")
	first := lines[0]
	sp1, sp2 := strings.IndexByte(first, ' '), strings.LastIndexByte(first, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		t.Fatalf("bad request line %q", first)
	}
	r := &vectorRequest{method: first[:sp1], header: http.Header{}, body: body}
	target := first[sp1+1 : sp2]
	path, rawQuery, _ := strings.Cut(target, "?")
	r.path = path
	var err error
	if r.query, err = url.ParseQuery(rawQuery); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		if strings.EqualFold(name, "host") {
			r.host = value
			continue
		}
		r.header[name] = append(r.header[name], value)
	}
	return r
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sigRequest returns what SigV4 signs of r, under c.
func (r *vectorRequest) sigRequest(c *vectorContext) *sigRequest {
	s := &sigRequest{method: r.method, host: r.host, path: r.path, query: url.Values{}, header: r.header.Clone(), payloadHash: c.PayloadHash}
	for k, v := range r.query {
		s.query[k] = append([]string(nil), v...)
	}
	if s.payloadHash == "" {
		s.payloadHash = hexSHA256(r.body)
	}
	if c.SignBody {
		s.header.Set("X-Amz-Content-Sha256", hexSHA256(r.body))
	}
	return s
}

// secretValue matches the values of signatures and session tokens.
var secretValue = regexp.MustCompile(`((?:X-Amz-|x-amz-customauthorizer-)?[Ss]ignature=|X-Amz-Security-Token=)[^&\s,]*`)

// mismatch describes a difference between got and want with signatures and
// session tokens hidden (they never appear in test output, not even the
// tests' own), saying which of those differ.
func mismatch(got, want string) string {
	g, w := secretValue.FindAllString(got, -1), secretValue.FindAllString(want, -1)
	var differ []string
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			name := ""
			if i < len(w) {
				name, _, _ = strings.Cut(w[i], "=")
			} else {
				name, _, _ = strings.Cut(g[i], "=")
			}
			differ = append(differ, name)
		}
	}
	hide := func(s string) string { return secretValue.ReplaceAllString(s, "${1}<hidden>") }
	return fmt.Sprintf("\ngot  %s\nwant %s\nhidden values that differ: %q", hide(got), hide(want), differ)
}

// readVector returns a vector file's text, and false if there is none.
func readVector(t *testing.T, dir, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n"), true
}

// TestSigV4Vectors checks each step of signing (canonical request, string to
// sign, signature) against published vectors (testdata/sigv4/README.md),
// signed with an Authorization header and with query parameters.
func TestSigV4Vectors(t *testing.T) {
	dirs, err := filepath.Glob("testdata/sigv4/*")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			c := loadContext(t, dir)
			text, ok := readVector(t, dir, name+".req")
			if !ok {
				t.Fatalf("no %s.req", name)
			}
			req := parseVectorRequest(t, text)
			scope := credentialScope(c.time, c.Region, c.Service)
			key := signingKey(c.Credentials.SecretAccessKey, c.time, c.Region, c.Service)

			// Signed with an Authorization header: the request carries
			// X-Amz-Date, which is signed like any header.
			r := req.sigRequest(c)
			creq, signedHeaders := canonicalRequest(r)
			sts := stringToSign(c.time, scope, creq)
			sig := signature(key, sts)
			authz := fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s", sigAlgorithm, c.Credentials.AccessKeyID, scope, signedHeaders, sig)
			for _, f := range []struct{ file, got string }{
				{name + ".creq", creq}, {name + ".sts", sts}, {name + ".authz", authz},
			} {
				if want, ok := readVector(t, dir, f.file); ok {
					checked++
					if f.got != want {
						t.Errorf("%s:%s", f.file, mismatch(f.got, want))
					}
				}
			}

			// Signed with query parameters: the date goes in the query.
			r = req.sigRequest(c)
			r.header.Del("X-Amz-Date")
			if c.ExpirationInSeconds != 0 {
				r.query.Set("X-Amz-Expires", strconv.Itoa(c.ExpirationInSeconds))
			}
			p := presign(r, c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, c.Region, c.Service, c.time)
			for _, f := range []struct{ file, got string }{
				{"query-canonical-request.txt", p.canonicalRequest}, {"query-string-to-sign.txt", p.stringToSign},
			} {
				if want, ok := readVector(t, dir, f.file); ok {
					checked++
					if f.got != want {
						t.Errorf("%s:\ngot  %q\nwant %q", f.file, f.got, want)
					}
				}
			}
			if signed, ok := readVector(t, dir, "query-signed-request.txt"); ok {
				checked++
				want := parseVectorRequest(t, signed)
				got, err := url.ParseQuery(p.rawQuery)
				if err != nil {
					t.Fatal(err)
				}
				if want.path != req.path || !reflect.DeepEqual(got, want.query) {
					t.Errorf("query-signed-request.txt:%s", mismatch(req.path+"?"+canonicalQuery(got), want.path+"?"+canonicalQuery(want.query)))
				}
			}
		})
	}
	if checked < 30 {
		t.Errorf("checked %d vector files; testdata/sigv4 holds more", checked)
	}
}

func TestURIEncode(t *testing.T) {
	for _, c := range []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"AZaz09-._~", false, "AZaz09-._~"},
		{"a b", false, "a%20b"}, // never '+'
		{"a+b", false, "a%2Bb"},
		{"a*b!'()", false, "a%2Ab%21%27%28%29"},
		{"a/b=c&d", false, "a%2Fb%3Dc%26d"},
		{"/a/b c/", true, "/a/b%20c/"},
		{"%41", true, "%2541"}, // encoded once more, as services other than S3 want
		{"\u1234", false, "%E1%88%B4"},
		{"AQoDYXdzEJr/+==", false, "AQoDYXdzEJr%2F%2B%3D%3D"},
	} {
		if got := uriEncode(c.in, c.keepSlash); got != c.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", c.in, c.keepSlash, got, c.want)
		}
	}
}

func TestCanonicalQueryOrder(t *testing.T) {
	q := url.Values{"a-b": {"1"}, "a": {"2", "10"}, "B": {"x y"}, "a.c": {""}}
	// By name, then value, in bytes: "B" < "a" < "a-b" < "a.c"; "10" < "2".
	want := "B=x%20y&a=10&a=2&a-b=1&a.c="
	if got := canonicalQuery(q); got != want {
		t.Errorf("canonicalQuery = %q, want %q", got, want)
	}
}
