package aws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// This file is AWS Signature Version 4 (SigV4), the parts a presigned URL
// needs: the canonical request, the string to sign, the signing key and the
// query parameters. It follows the AWS General Reference, "Create a signed
// AWS API request", and is checked against AWS's SigV4 test suite (see
// testdata/sigv4) and against aws-sdk-go-v2's signer.

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDate      = "20060102T150405Z" // ISO 8601 basic format, UTC
	amzDay       = "20060102"
	// emptySHA256 is the hex SHA-256 of an empty payload.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// sigRequest is what SigV4 signs of an HTTP request.
type sigRequest struct {
	method string
	host   string // the Host header, as sent (with the port, if the URL names one)
	// path is the path as sent on the wire (url.URL.EscapedPath); it is
	// URI-encoded once more, as services other than S3 want.
	path string
	// query holds the query parameters, decoded.
	query url.Values
	// header holds the headers to sign besides Host.
	header      http.Header
	payloadHash string // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
}

// uriEncode encodes s as SigV4 wants: every byte but the RFC 3986
// unreserved characters (A-Z a-z 0-9 - . _ ~) as %XY with upper-case hex,
// and '/' too unless keepSlash.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// canonicalQuery returns the canonical query string: every name and value
// URI-encoded, sorted by name and then by value, joined with '&'.
func canonicalQuery(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		ek := uriEncode(k, false)
		for _, v := range vs {
			pairs = append(pairs, ek+"="+uriEncode(v, false))
		}
	}
	// By name, then by value. Sorting the joined strings would not do:
	// "a-b=1" would come before "a=1", as '=' sorts above '%', '-', '.'
	// and the digits.
	sort.Slice(pairs, func(i, j int) bool {
		ki, vi, _ := strings.Cut(pairs[i], "=")
		kj, vj, _ := strings.Cut(pairs[j], "=")
		if ki != kj {
			return ki < kj
		}
		return vi < vj
	})
	return strings.Join(pairs, "&")
}

// canonicalHeaders returns the canonical headers (lower-case names, sorted,
// values trimmed with inner runs of spaces made one, several values joined
// with commas, each line ending in a newline) and the signed headers list.
func canonicalHeaders(host string, h http.Header) (canonical, signed string) {
	values := map[string][]string{"host": {host}}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk == "host" {
			continue
		}
		values[lk] = append(values[lk], vs...)
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(':')
		for i, v := range values[k] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.Fields(v), " "))
		}
		b.WriteByte('\n')
	}
	return b.String(), strings.Join(names, ";")
}

// canonicalRequest returns r's canonical request and its signed headers.
func canonicalRequest(r *sigRequest) (creq, signedHeaders string) {
	path := r.path
	if path == "" {
		path = "/"
	}
	ch, sh := canonicalHeaders(r.host, r.header)
	creq = strings.Join([]string{
		r.method,
		uriEncode(path, true),
		canonicalQuery(r.query),
		ch,
		sh,
		r.payloadHash,
	}, "\n")
	return creq, sh
}

// credentialScope is date/region/service/aws4_request.
func credentialScope(t time.Time, region, service string) string {
	return t.UTC().Format(amzDay) + "/" + region + "/" + service + "/aws4_request"
}

// stringToSign returns the string to sign for a canonical request.
func stringToSign(t time.Time, scope, creq string) string {
	sum := sha256.Sum256([]byte(creq))
	return sigAlgorithm + "\n" + t.UTC().Format(amzDate) + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signingKey derives the key of a day, region and service from a secret
// access key.
func signingKey(secret string, t time.Time, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), t.UTC().Format(amzDay))
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// signature is the hex HMAC of the string to sign with the signing key.
func signature(key []byte, sts string) string {
	return hex.EncodeToString(hmacSHA256(key, sts))
}

// presigned is a request signed with query parameters.
type presigned struct {
	canonicalRequest string
	stringToSign     string
	signature        string
	// rawQuery is the query to send: the canonical query, with the
	// X-Amz-* parameters, then X-Amz-Signature.
	rawQuery string
}

// presign signs r with query parameters at time t: it adds X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date and X-Amz-SignedHeaders to r.query (which it
// changes) and signs. The session token, if any, is the caller's to add:
// AWS IoT wants it after the signature, unsigned; other services want it
// signed.
func presign(r *sigRequest, accessKeyID, secret, region, service string, t time.Time) presigned {
	scope := credentialScope(t, region, service)
	if r.query == nil {
		r.query = url.Values{}
	}
	r.query.Set("X-Amz-Algorithm", sigAlgorithm)
	r.query.Set("X-Amz-Credential", accessKeyID+"/"+scope)
	r.query.Set("X-Amz-Date", t.UTC().Format(amzDate))
	_, sh := canonicalHeaders(r.host, r.header)
	r.query.Set("X-Amz-SignedHeaders", sh)
	creq, _ := canonicalRequest(r)
	sts := stringToSign(t, scope, creq)
	sig := signature(signingKey(secret, t, region, service), sts)
	return presigned{
		canonicalRequest: creq,
		stringToSign:     sts,
		signature:        sig,
		rawQuery:         canonicalQuery(r.query) + "&X-Amz-Signature=" + sig,
	}
}
