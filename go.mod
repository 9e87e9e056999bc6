module github.com/ternmq/mqtt

// Go 1.22: range over integers and per-iteration loop variables;
// unsafe.String (1.20) and the min/max builtins (1.21) are used too.
go 1.22

require (
	github.com/aws/aws-sdk-go-v2 v1.36.6
	github.com/coder/websocket v1.8.12
	github.com/miekg/pkcs11 v1.1.2
	github.com/mochi-mqtt/server/v2 v2.7.9
	golang.org/x/net v0.35.0
	golang.org/x/term v0.29.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require (
	github.com/aws/smithy-go v1.22.4 // indirect
	github.com/gorilla/websocket v1.5.0 // indirect
	github.com/rs/xid v1.4.0 // indirect
	golang.org/x/crypto v0.33.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
