package aws

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sdkPresign presigns GET wss://host/mqtt with aws-sdk-go-v2's signer, the
// session token signed in the query if signToken, left out otherwise.
func sdkPresign(t *testing.T, host, region string, c Credentials, at time.Time, signToken bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "wss://"+host+"/mqtt", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := sdk.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, iotService, region, at,
		func(o *v4.SignerOptions) { o.DisableSessionToken = !signToken })
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var sdkCases = []struct {
	name   string
	host   string
	region string
	creds  Credentials
	at     time.Time
}{
	{"long-term", "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", "eu-west-1",
		Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC)},
	{"session token", "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", "us-east-1",
		Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
			SessionToken: "AQoDYXdzEJr//////////wEa0AN+XvHwP3xH/1w5Ee3C5Cvgu0iIJJHx3ow8Hz/XhDG0x9ZnFjkI+Ke7ztA=="},
		time.Date(2015, 8, 30, 12, 36, 0, 0, time.FixedZone("CEST", 2*3600))},
	{"token with spaces and tildes", "example.iot.ap-southeast-2.amazonaws.com:8443", "ap-southeast-2",
		Credentials{AccessKeyID: "ASIA1", SecretAccessKey: "s", SessionToken: "a b~c*d'e!f(g)h&i=j?k%l"},
		time.Unix(1_700_000_000, 0)},
}

// TestPresignURLMatchesSDK compares PresignURL, full URL and all, with what
// aws-sdk-go-v2's signer makes of the same request at the same time with
// the same credentials: without the session token, and then with the token
// appended, URL-encoded, after the signature.
func TestPresignURLMatchesSDK(t *testing.T) {
	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			want := sdkPresign(t, c.host, c.region, c.creds, c.at, false)
			if c.creds.SessionToken != "" {
				want += "&X-Amz-Security-Token=" + strings.ReplaceAll(url.QueryEscape(c.creds.SessionToken), "+", "%20")
			}
			u, err := PresignURL(c.host, c.region, c.creds, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != want {
				t.Errorf("PresignURL:%s", mismatch(got, want))
			}
			// The token, decoded, is the token.
			if got := u.Query().Get("X-Amz-Security-Token"); got != c.creds.SessionToken {
				t.Errorf("X-Amz-Security-Token does not decode to the session token")
			}
		})
	}
}

// TestPresignSignedTokenMatchesSDK checks the signer with a signed session
// token, the way other services than AWS IoT want it, against the SDK's.
func TestPresignSignedTokenMatchesSDK(t *testing.T) {
	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			want := sdkPresign(t, c.host, c.region, c.creds, c.at, true)
			r := &sigRequest{method: "GET", host: c.host, path: "/mqtt", payloadHash: emptySHA256, query: url.Values{}}
			if c.creds.SessionToken != "" {
				r.query.Set("X-Amz-Security-Token", c.creds.SessionToken)
			}
			p := presign(r, c.creds.AccessKeyID, c.creds.SecretAccessKey, c.region, iotService, c.at)
			if got := "wss://" + c.host + "/mqtt?" + p.rawQuery; got != want {
				t.Errorf("presign:%s", mismatch(got, want))
			}
		})
	}
}

// sdkPresignAt presigns GET wss://host/mqtt for AWS IoT Core in testRegion
// with aws-sdk-go-v2's signer, without the session token.
func sdkPresignAt(host string, c Credentials, at time.Time) string {
	req, err := http.NewRequest(http.MethodGet, "wss://"+host+"/mqtt", nil)
	if err != nil {
		return ""
	}
	creds := sdk.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, iotService, testRegion, at,
		func(o *v4.SignerOptions) { o.DisableSessionToken = true })
	if err != nil {
		return ""
	}
	return u
}
