package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/internal/certtest"
)

// responder answers requests on topic, written with the library: "echo: "
// and the request's payload, on the Response Topic, with the request's
// Correlation Data. It first answers with other Correlation Data, as a
// reply to another requester would be, which tern rr must ignore.
func responder(t *testing.T, brokerURL, topic string) {
	t.Helper()
	c, err := mqtt.Dial(context.Background(), mqtt.Config{Broker: brokerURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, err = c.Subscribe(context.Background(), func(m *mqtt.Message) {
		rt := m.Properties.ResponseTopic
		if rt == "" {
			return
		}
		other := &mqtt.Message{Topic: rt, Payload: []byte("not yours"), QoS: 1}
		other.Properties.CorrelationData = []byte("someone else")
		c.Publish(context.Background(), other)
		resp := &mqtt.Message{Topic: rt, Payload: append([]byte("echo: "), m.Payload...), QoS: 1}
		resp.Properties.CorrelationData = m.Properties.CorrelationData
		resp.Properties.ContentType = "text/plain"
		c.Publish(context.Background(), resp)
	}, mqtt.Subscription{Filter: topic, QoS: 1})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRR(t *testing.T) {
	brokertest.All(t, func(t *testing.T, b *brokertest.Broker) {
		hp := hostPort(t, b.URL)
		responder(t, b.URL, "svc/echo")
		for _, tc := range []struct {
			name string
			args []string
			want string // stdout, a regular expression
		}{
			{"payload", []string{"-e", "replies/a", "-m", "hi"}, `^echo: hi\n$`},
			{"verbose", []string{"-e", "replies/a", "-m", "hi", "-v"}, `^replies/a echo: hi\n$`},
			{"default response topic", []string{"-m", "hi", "-F", "%t %p"}, `^tern/rr/[0-9a-f]{16} echo: hi\n$`},
			{"correlation data", []string{"-e", "replies/b", "-m", "x", "-q", "1", "-D", "publish", "correlation-data", "req-42", "-F", "%D|%C|%p|%q"},
				`^req-42\|text/plain\|echo: x\|1\n$`},
			{"random correlation data", []string{"-e", "replies/b", "-n", "-F", "[%D]"}, `^\[[0-9a-f]{32}\]\n$`},
			{"json", []string{"-e", "replies/c", "-s", "--json"}, `^\{"time":"[^"]+","topic":"replies/c","qos":0,"retain":false,.*"correlation_data":"[0-9a-f]{32}".*"payload":"echo: from stdin"\}\n$`},
			{"url", []string{"-L", b.URL + "/svc/echo", "-e", "replies/d", "-m", "via url"}, `^echo: via url\n$`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"rr", "-t", "svc/echo", "-W", "20"}, tc.args...)
				if tc.name != "url" {
					args = append(args, hp...)
				}
				r := tern(t, "from stdin", args...)
				if r.code != 0 {
					t.Fatalf("tern %q: exit %d; stderr:\n%s", args, r.code, r.stderr)
				}
				if !regexp.MustCompile(tc.want).MatchString(r.stdout) {
					t.Errorf("tern %q printed %q, want %q", args, r.stdout, tc.want)
				}
			})
		}
		r := tern(t, "", append([]string{"rr", "-t", "svc/nobody", "-e", "replies/z", "-m", "hi", "-W", "0.3"}, hp...)...)
		if r.code != 27 || !strings.Contains(r.stderr, "no response on replies/z") {
			t.Errorf("no responder: exit %d, stderr %q; want 27", r.code, r.stderr)
		}
	})
}

// A broker that refuses the user: the exit code is the CONNACK code, the
// 3.x return code or the 5.0 reason code, as mosquitto_pub's; the password
// is never printed.
func TestRefused(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		brokertest.Mosquitto(t) // fails with CI set, skips otherwise
		t.Skip("mosquitto_passwd is not installed")
	}
	pw := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, "alice", "good-s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	b := brokertest.Mosquitto(t, "allow_anonymous false", "password_file "+pw)
	hp := hostPort(t, b.URL)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"pub", "-t", "a", "-m", "x", "-u", "alice", "-P", "good-s3cret"}, 0},
		{[]string{"pub", "-t", "a", "-m", "x", "-u", "alice", "-P", "bad-s3cret", "-V", "311"}, 5},
		{[]string{"pub", "-t", "a", "-m", "x", "-u", "alice", "-P", "bad-s3cret", "-V", "mqttv31"}, 5},
		{[]string{"pub", "-t", "a", "-m", "x", "-u", "alice", "-P", "bad-s3cret"}, 135},
		{[]string{"pub", "-t", "a", "-m", "x", "-V", "311"}, 5},
		{[]string{"sub", "-t", "a", "-u", "alice", "-P", "bad-s3cret", "-d", "-V", "5"}, 135},
		{[]string{"rr", "-t", "a", "-m", "x", "-u", "alice", "-P", "bad-s3cret"}, 135},
		{[]string{"sub", "-L", strings.Replace(b.URL, "//", "//alice:bad-s3cret@", 1) + "/a", "-d"}, 135},
		{[]string{"sub", "-L", strings.Replace(b.URL, "//", "//alice:good-s3cret@", 1) + "/a", "-d", "-W", "0.1"}, 27},
	} {
		args := tc.args
		if !strings.HasPrefix(args[1], "-L") {
			args = append(args, hp...)
		}
		r := tern(t, "", args...)
		if r.code != tc.code {
			t.Errorf("tern %q: exit %d, want %d; stderr:\n%s", args, r.code, tc.code, r.stderr)
		}
		if tc.code != 0 && tc.code != 27 && !strings.Contains(r.stderr, "refused the connection") {
			t.Errorf("tern %q: stderr does not say the broker refused:\n%s", args, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "s3cret") {
			t.Errorf("tern %q printed the password:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

// pub and sub over mutual TLS to Mosquitto, with mosquitto_pub's flags:
// --cafile makes -h/-p connect with TLS; -L mqtts:// too.
func TestPubSubTLS(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "Tern test CA")
	srv, cl := ca.Server(t), ca.Client(t, "tern")
	cafile := certtest.Write(t, dir, "ca.pem", ca.CertPEM)
	lines, port := brokertest.TLSListener(t, cafile, certtest.Write(t, dir, "srv.pem", srv.CertPEM),
		certtest.Write(t, dir, "srv.key", srv.KeyPEM), "require_certificate true")
	brokertest.Mosquitto(t, lines...)
	tlsFlags := []string{"--cafile", cafile, "--cert", certtest.Write(t, dir, "cl.pem", cl.CertPEM),
		"--key", certtest.Write(t, dir, "cl.key", cl.KeyPEM)}
	s := startSub(t, append([]string{"-h", "localhost", "-p", fmt.Sprint(port), "-t", "tls/#", "-C", "2", "-v"}, tlsFlags...)...)
	if !strings.Contains(s.errOut.String(), "connecting to mqtts://localhost:") {
		t.Errorf("--cafile did not make it TLS:\n%s", s.errOut.String())
	}
	pub(t, "", append([]string{"-L", fmt.Sprintf("mqtts://localhost:%d/tls/a", port), "-m", "over TLS", "-q", "1"}, tlsFlags...)...)
	pub(t, "", append([]string{"-h", "localhost", "-p", fmt.Sprint(port), "-t", "tls/b", "-m", "again", "-V", "311"}, tlsFlags...)...)
	if out := s.subOutput(t, 0); out != "tls/a over TLS\ntls/b again\n" {
		t.Errorf("got %q", out)
	}
	// Without the client certificate, or without the CA, the connection
	// fails and says why.
	r := tern(t, "", "pub", "-h", "localhost", "-p", fmt.Sprint(port), "-t", "a", "-m", "x", "--tls-use-os-certs")
	if r.code != 1 || !strings.Contains(r.stderr, "--cafile") {
		t.Errorf("unknown CA: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	r = tern(t, "", "pub", "-h", "localhost", "-p", fmt.Sprint(port), "-t", "a", "-m", "x", "-q", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "TLS") {
		t.Errorf("plain MQTT to a TLS port: exit %d; stderr:\n%s", r.code, r.stderr)
	}
}
