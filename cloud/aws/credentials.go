package aws

import (
	"context"
	"fmt"
)

// Credentials are AWS security credentials: an access key and, for
// temporary credentials (AWS STS, Amazon Cognito, IAM Roles Anywhere), the
// session token that goes with it. When printed (String, GoString, %v,
// %+v, %#v) they show the access key ID only.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // empty for long-term credentials
}

// String returns the access key ID, and whether a secret key and a
// session token are set, never their values.
func (c Credentials) String() string {
	return fmt.Sprintf("aws.Credentials{AccessKeyID: %q, SecretAccessKey: %s, SessionToken: %s}",
		c.AccessKeyID, setOrNot(c.SecretAccessKey), setOrNot(c.SessionToken))
}

// GoString is String, so that %#v hides the secrets too.
func (c Credentials) GoString() string { return c.String() }

// Format makes every verb (%v, %+v, %s, %q, ...) print String.
func (c Credentials) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

func setOrNot(s string) string {
	if s == "" {
		return "(empty)"
	}
	return "(hidden)"
}

// CredentialsProvider returns the credentials to sign with. WebSocket calls
// it before every connection attempt, with the attempt's context (bounded by
// the Dial context or the reconnection), so a provider that fetches
// temporary credentials (STS AssumeRole, Cognito, the EC2 or ECS metadata
// service) should cache them until shortly before they expire. An
// aws-sdk-go-v2 aws.CredentialsProvider adapts in a few lines:
//
//	func(ctx context.Context) (aws.Credentials, error) {
//		c, err := sdkProvider.Retrieve(ctx)
//		return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, err
//	}
type CredentialsProvider func(ctx context.Context) (Credentials, error)

// StaticCredentials returns a CredentialsProvider that always gives c.
func StaticCredentials(c Credentials) CredentialsProvider {
	return func(context.Context) (Credentials, error) { return c, nil }
}
