package azure

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SASToken returns a shared access signature token for resourceURI, valid
// until expiry (whole seconds; the fraction is dropped):
//
//	SharedAccessSignature sr={URI}&sig={signature}&se={expiry}[&skn={policy}]
//
// resourceURI is the scope the token grants, without a scheme:
// "{hub}/devices/{deviceID}" for a device (see Device.ResourceURI),
// "{hub}/devices/{deviceID}/modules/{moduleID}" for a module. key is the
// signing key decoded from base64: the identity's own symmetric key, or,
// with policy set, the key of that shared access policy (which must grant
// DeviceConnect).
//
// The signature is the base64 HMAC-SHA256, keyed with key, of the encoded
// URI, a line feed and the expiry in decimal seconds since 1970. The URI,
// the signature and the policy name are percent-encoded: every byte but
// the unreserved ones of RFC 3986 (letters, digits, "-", ".", "_", "~") is
// written as "%" and two upper-case hex digits, and the URI keeps its case.
// Microsoft's page asks for a lower-case encoding of a lower-cased URI, but
// Microsoft's own SDKs (the Embedded C SDK writes "%2Fdevices%2F", Node.js
// uses encodeURIComponent) send upper-case escapes and the URI in its
// case, device IDs being case-sensitive; this package does as they do, and
// signs exactly the bytes it sends as "sr".
//
// The token is a credential: keep it out of logs.
func SASToken(resourceURI string, key []byte, policy string, expiry time.Time) (string, error) {
	if resourceURI == "" {
		return "", errors.New("azure: SAS token: empty resource URI")
	}
	if len(key) == 0 {
		return "", errors.New("azure: SAS token: empty key")
	}
	se := expiry.Unix()
	if se <= 0 {
		return "", errors.New("azure: SAS token: expiry before 1970")
	}
	sr := escape(resourceURI)
	exp := strconv.FormatInt(se, 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sr + "\n" + exp))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))

	var b strings.Builder
	b.WriteString("SharedAccessSignature sr=")
	b.WriteString(sr)
	b.WriteString("&sig=")
	b.WriteString(escape(sig))
	b.WriteString("&se=")
	b.WriteString(exp)
	if policy != "" {
		b.WriteString("&skn=")
		b.WriteString(escape(policy))
	}
	return b.String(), nil
}

// escape percent-encodes every byte of s but the unreserved characters of
// RFC 3986 section 2.3, with upper-case hex digits (section 2.1): a space
// is "%20", "/" is "%2F", "$" is "%24".
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// unreserved reports whether c is an unreserved character of RFC 3986.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
