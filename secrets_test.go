package mqtt

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/transport"
)

// secret is the text every credential in TestNoSecrets contains.
const secret = "Sekr1t-9f2c"

// TestNoSecrets: no password, key or token appears in a log line (at debug
// level), an event or an error, whatever fails: a refused password, a URL
// with user information, a presigned WebSocket URL, a proxy with a
// password, a malformed URL holding a password, a PKCS#12 bundle with the
// wrong password.
func TestNoSecrets(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	pwfile := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", pwfile, "alice", "right-"+secret).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	b := brokertest.Mosquitto(t, "allow_anonymous false", "password_file "+pwfile)
	host := strings.TrimPrefix(b.URL, "mqtt://")
	closed := freeAddr(t)

	var log brokertest.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen []string // every error and event text
	check := func(what string, cfg Config) {
		t.Helper()
		ev := newEvents()
		cfg.Logger, cfg.OnEvent, cfg.ConnectTimeout = logger, ev.on, 3*time.Second
		ctx, cancel := context.WithTimeout(ctxT(t), time.Second)
		defer cancel()
		c, err := Dial(ctx, cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: Dial succeeded; want a failure", what)
			return
		}
		seen = append(seen, what+": "+err.Error())
		for {
			select {
			case e := <-ev.ch:
				seen = append(seen, fmt.Sprintf("%s: event %v %v", what, e.Kind, e.Err))
				continue
			default:
			}
			break
		}
	}
	check("wrong password", Config{Broker: b.URL, Username: "alice", Password: []byte("wrong-" + secret)})
	check("password in the URL", Config{Broker: "mqtt://alice:wrong-" + secret + "@" + host})
	check("password in a Servers URL", Config{Broker: "mqtt://" + closed, Servers: []string{"mqtt://alice:" + secret + "@" + closed}, ConnectRetry: true, Backoff: fastBackoff})
	check("malformed URL", Config{Broker: "mqtt://alice:" + secret + "@host:port"})
	check("presigned URL", Config{Broker: "wss://" + closed + "/mqtt?X-Amz-Signature=" + secret + "&X-Amz-Security-Token=" + secret})
	check("enhanced auth", Config{Broker: b.URL, AuthMethod: "SCRAM-SHA-1", AuthData: []byte(secret)})
	for _, scheme := range []string{"http", "socks5"} {
		p, err := transport.ParseURL(scheme + "://bob:" + secret + "@" + closed)
		if err != nil {
			t.Fatal(err)
		}
		check(scheme+" proxy", Config{Broker: b.URL, Dialer: &transport.Dialer{Proxy: transport.ProxyURL(p), Logger: logger}})
	}
	t.Setenv("ALL_PROXY", "http://bob:"+secret+"@"+closed)
	check("proxy from the environment", Config{Broker: b.URL, Dialer: &transport.Dialer{Proxy: transport.ProxyFromEnvironment}})
	t.Setenv("ALL_PROXY", "http://bob:"+secret+"@host:port")
	check("malformed proxy variable", Config{Broker: b.URL, Dialer: &transport.Dialer{Proxy: transport.ProxyFromEnvironment}})
	if _, err := (&transport.TLSOptions{PKCS12: []byte("not a bundle"), PKCS12Password: secret}).Config(); err != nil {
		seen = append(seen, "PKCS#12: "+err.Error())
	}
	check("TLS to a plain listener", Config{Broker: "mqtts://alice:" + secret + "@" + host, TLSConfig: &tls.Config{InsecureSkipVerify: true}})

	all := strings.Join(seen, "\n") + "\n" + log.String()
	if strings.Contains(all, secret) {
		t.Fatalf("a secret appears in an error, event or log line:\n%s", all)
	}
	if len(seen) < 12 || !strings.Contains(log.String(), "connection attempt failed") {
		t.Fatalf("too little was checked:\n%s", all)
	}
	t.Logf("checked %d errors and events and %d log bytes", len(seen), len(log.String()))
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
