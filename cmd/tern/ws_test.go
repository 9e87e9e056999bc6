package main

import (
	"crypto/tls"
	"testing"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// tern pub and sub over WebSocket (ws://, and wss:// verified with
// --cafile) to Mochi's WebSocket listener: the broker URL given with --url
// (-L takes a topic in the path, which a WebSocket URL keeps as its path).
func TestPubSubWebSocket(t *testing.T) {
	ca := certtest.NewCA(t, "Tern test CA")
	cafile := certtest.Write(t, t.TempDir(), "ca.pem", ca.CertPEM)
	for _, tc := range []struct {
		name  string
		b     *brokertest.Broker
		extra []string
	}{
		{"ws", brokertest.MochiWebSocket(t, nil), nil},
		{"wss", brokertest.MochiWebSocket(t, &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLSCertificate()}}), []string{"--cafile", cafile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--url", tc.b.URL}, tc.extra...)
			s := startSub(t, append(append([]string{}, args...), "-t", "ws/t", "-C", "1", "-v")...)
			pub(t, "", append(append([]string{}, args...), "-t", "ws/t", "-m", "over "+tc.name, "-q", "1")...)
			if got, want := s.subOutput(t, 0), "ws/t over "+tc.name+"\n"; got != want {
				t.Fatalf("sub printed %q, want %q", got, want)
			}
		})
	}
}
