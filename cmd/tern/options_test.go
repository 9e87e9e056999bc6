package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ternmq/mqtt/internal/brokertest"
	"github.com/ternmq/mqtt/packet"
)

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeOptions writes an options file in dir/tern/config and returns dir,
// for XDG_CONFIG_HOME.
func writeOptions(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tern"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tern", "config"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The command line overrides the environment, which overrides the options
// file, which overrides the defaults; repeatable flags and conflicting
// ones (-L against -h, -m against -f) are settled by the higher layer.
func TestOptionsPrecedence(t *testing.T) {
	file := writeOptions(t,
		"# defaults for tern",
		"-h file.example",
		"-p 1001",
		"-u file-user",
		"--pw file-pass",
		"-t file/topic",
		"-m from file",
		"-C 5", // sub's: pub skips it
		"-D publish user-property from file",
		"--tls-alpn  x-file ",
		"-q 1",
	)
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(o *pubOptions) string
	}{
		{"file", nil, nil, func(o *pubOptions) string {
			return fmt.Sprintf("%s %s %s %s %q %d %v %q", o.broker, o.username, o.password, o.topic, o.message, o.qos, o.p.publish.User, o.conn.alpn)
		}},
		{"env over file", nil, map[string]string{"TERN_PORT": "2002", "TERN_USERNAME": "env-user", "TERN_PASSWORD": "env-pass"}, func(o *pubOptions) string {
			return fmt.Sprintf("%s %s %s", o.broker, o.username, o.password)
		}},
		{"args over env", []string{"-p", "3003", "-u", "arg-user", "-t", "arg/topic", "-D", "publish", "content-type", "x"},
			map[string]string{"TERN_PORT": "2002", "TERN_USERNAME": "env-user"}, func(o *pubOptions) string {
				return fmt.Sprintf("%s %s %s %v %q", o.broker, o.username, o.topic, o.p.publish.User, o.p.publish.ContentType)
			}},
		{"env URL over file host", nil, map[string]string{"TERN_URL": "mqtts://u:p@env.example/env/topic"}, func(o *pubOptions) string {
			return fmt.Sprintf("%s %s %s %s", o.broker, o.username, o.password, o.topic)
		}},
		{"args host over env URL", []string{"-h", "arg.example"}, map[string]string{"TERN_URL": "mqtt://env.example/env/topic"}, func(o *pubOptions) string {
			return fmt.Sprintf("%s %s", o.broker, o.topic)
		}},
		{"args -f over file -m", []string{"-f", "/dev/null"}, nil, func(o *pubOptions) string { return o.mode }},
		{"TLS flags make mqtts", []string{"--cafile", "ca.pem", "-p", "0"}, nil, func(o *pubOptions) string { return o.broker.String() }},
		{"port 8883 is mqtts", []string{"-p", "8883"}, nil, func(o *pubOptions) string { return o.broker.String() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"XDG_CONFIG_HOME": file}
			for k, v := range tc.env {
				env[k] = v
			}
			var stderr strings.Builder
			o, code, ok := parsePub(tc.args, envMap(env), io.Discard, &stderr)
			if !ok {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got := tc.check(o)
			want := map[string]string{
				"file":                   `mqtts://file.example:1001 file-user file-pass file/topic "from file" 1 [{from file}] "x-file"`,
				"env over file":          "mqtts://file.example:2002 env-user env-pass",
				"args over env":          `mqtts://file.example:3003 arg-user arg/topic [] "x"`, // -D replaces the file's -D
				"env URL over file host": "mqtts://env.example u p env/topic",
				"args host over env URL": "mqtts://arg.example:1001 file/topic",
				"args -f over file -m":   "f",
				"TLS flags make mqtts":   "mqtts://file.example:8883",
				"port 8883 is mqtts":     "mqtts://file.example:8883",
			}[tc.name]
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}

	// Repeatable flags: the command line's -t replaces the file's.
	subFile := writeOptions(t, "-t file/a", "-t file/b", "-m not sub's")
	o, code, ok := parseSub([]string{"-t", "arg/a"}, envMap(map[string]string{"XDG_CONFIG_HOME": subFile}), io.Discard, io.Discard)
	if !ok || strings.Join(o.topics, " ") != "arg/a" {
		t.Errorf("sub -t over the file's: exit %d, topics %q", code, o.topics)
	}
	o, _, _ = parseSub(nil, envMap(map[string]string{"XDG_CONFIG_HOME": subFile}), io.Discard, io.Discard)
	if strings.Join(o.topics, " ") != "file/a file/b" {
		t.Errorf("sub -t from the file: %q", o.topics)
	}
}

// Mistakes in the options file and the environment are reported with the
// line or variable, never with a value (it may be a password).
func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		args  []string
		env   map[string]string
		want  string
	}{
		{[]string{"-h x", "--bogus 1"}, nil, nil, "line 2: unknown flag -bogus"},
		{[]string{"host x"}, nil, nil, "line 1 does not start with a flag"},
		{[]string{"-P"}, nil, nil, "line 1: -P needs a value"},
		{[]string{"--options-file other"}, nil, nil, "cannot be given in an options file"},
		{[]string{"-p notaport"}, nil, nil, "invalid value"},
		{nil, []string{"--options-file", "/nonexistent/tern.conf"}, nil, "no such file"},
		{nil, nil, map[string]string{"TERN_PORT": "x"}, "$TERN_PORT: invalid value"},
		{[]string{"-L mqtt://a/t"}, []string{"-L", "mqtt://b/t", "-h", "c"}, nil, "give one (the command line gives several)"},
	} {
		env := map[string]string{"XDG_CONFIG_HOME": writeOptions(t, tc.lines...)}
		for k, v := range tc.env {
			env[k] = v
		}
		var stderr strings.Builder
		_, code, _ := parsePub(append([]string{"-t", "a", "-m", "x"}, tc.args...), envMap(env), io.Discard, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("lines %q, args %q, env %v: exit %d, stderr %q; want 2 and %q", tc.lines, tc.args, tc.env, code, stderr.String(), tc.want)
		}
	}
	// --help is help, whatever the file says.
	env := envMap(map[string]string{"XDG_CONFIG_HOME": writeOptions(t, "--bogus")})
	var stdout strings.Builder
	if _, code, _ := parsePub([]string{"--help"}, env, &stdout, io.Discard); code != 0 || !strings.Contains(stdout.String(), "Usage: tern pub") {
		t.Errorf("--help with a bad options file: exit %d\n%s", code, stdout.String())
	}
}

// The options file and TERN_* variables reach a real run; the password
// from either is never printed, not even by -d.
func TestOptionsEndToEnd(t *testing.T) {
	b := brokertest.Mochi(t)
	hp := hostPort(t, b.URL)
	closed, stop, err := brokertest.StartMochi()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	closedPort := hostPort(t, closed.URL)[3]

	t.Setenv("XDG_CONFIG_HOME", writeOptions(t, "-h "+hp[1], "-p "+closedPort, "-u alice", "-P s3cret-file", "-C 1"))
	r := tern(t, "", "pub", "-t", "opt/a", "-m", "x", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, "connection refused by "+hp[1]+":"+closedPort) {
		t.Errorf("the file's port: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	t.Setenv("TERN_PORT", hp[3])
	t.Setenv("TERN_PASSWORD", "s3cret-env")
	s := startSub(t, "-t", "opt/#", "-v") // -C 1 from the file
	r = tern(t, "", "pub", "-t", "opt/a", "-m", "x", "-d")
	if r.code != 0 {
		t.Fatalf("TERN_PORT over the file's: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	if out := s.subOutput(t, 0); out != "opt/a x\n" {
		t.Errorf("sub: %q", out)
	}
	for _, out := range []string{r.stdout, r.stderr, s.out.String(), s.errOut.String()} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("a password was printed:\n%s", out)
		}
	}
	if !strings.Contains(r.stderr, `username "alice", password (not shown)`) {
		t.Errorf("-d does not show the CONNECT:\n%s", r.stderr)
	}
}

// Bad command lines of pub, sub and rr exit 2 and say what to do.
func TestPubSubCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout for 0, in stderr otherwise
	}{
		{[]string{"pub", "--help"}, 0, "tern pub -t sensors/temp -m 21.5"},
		{[]string{"sub", "--help"}, 0, "tern sub -t 'sensors/#' -v"},
		{[]string{"rr", "--help"}, 0, "tern rr -t svc/time -e replies/me -m now"},
		{[]string{"help", "sub"}, 0, "%R response topic"},
		{[]string{"--help"}, 0, "tern sub -t 'sensors/#' -v"},
		{[]string{"pub", "-m", "x"}, 2, "give the topic to publish on with -t"},
		{[]string{"pub", "-t", "a"}, 2, "give the message with one of -m, -f, -l, -s, -n"},
		{[]string{"pub", "-t", "a", "-m", "x", "-n"}, 2, "give only one"},
		{[]string{"pub", "-t", "a/#", "-m", "x"}, 2, "no wildcards"},
		{[]string{"pub", "-t", "a", "-m", "x", "-q", "3"}, 2, "the QoS is 0, 1 or 2"},
		{[]string{"pub", "-t", "a", "-m", "x", "-V", "4"}, 2, "give 5, 311 or 31"},
		{[]string{"pub", "-t", "a", "-m", "x", "-V", "311", "-D", "publish", "content-type", "x"}, 2, "-D sets MQTT 5.0 properties"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "publish", "content-type"}, 2, "-D needs a command"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "publish", "bogus", "1"}, 2, "unknown property"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "subscribe", "user-property", "a", "b"}, 2, "give one of connect, publish, disconnect, will"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "publish", "session-expiry-interval", "1"}, 2, "PUBLISH does not carry this property"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "publish", "message-expiry-interval", "x"}, 2, "not a number"},
		{[]string{"pub", "-t", "a", "-m", "x", "-c"}, 2, "-c keeps the session of a client ID: give one with -i"},
		{[]string{"pub", "-t", "a", "-m", "x", "-i", "a", "-I", "b"}, 2, "not both"},
		{[]string{"pub", "-t", "a", "-m", "x", "-x", "-1"}, 2, "give its client ID with -i"},
		{[]string{"pub", "-t", "a", "-m", "x", "-x", "soon"}, 2, "-x \"soon\""},
		{[]string{"pub", "-t", "a", "-m", "x", "-L", "broker:1883"}, 2, "-L is not a URL"},
		{[]string{"pub", "-t", "a", "-m", "x", "-L", "mqtt://u:hidden-pw@h", "-h", "x"}, 2, "give one"},
		{[]string{"pub", "-t", "a", "-m", "x", "-L", "gopher://h"}, 2, "unknown scheme"},
		{[]string{"pub", "-t", "a", "-m", "x", "-L", "mqtt://h", "--cafile", "ca.pem"}, 2, "not TLS: use mqtts://"},
		{[]string{"pub", "-t", "a", "-m", "x", "--will-qos", "1"}, 2, "need --will-topic"},
		{[]string{"pub", "-t", "a", "-m", "x", "-D", "will", "content-type", "x"}, 2, "need --will-topic"},
		{[]string{"pub", "-t", "a", "-m", "x", "--repeat", "0"}, 2, "--repeat 0"},
		{[]string{"pub", "-t", "a", "-l", "--repeat", "2"}, 2, "does not go with -l"},
		{[]string{"pub", "-t", "a", "-m", "x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"pub", "-t", "a", "-m", "x", "-f", "/nonexistent"}, 2, "give only one"},
		{[]string{"pub", "-t", "a", "-f", "/nonexistent/file"}, 1, "-f: open /nonexistent/file"},
		{[]string{"sub"}, 2, "give a topic filter to subscribe to with -t"},
		{[]string{"sub", "-t", "a", "-h"}, 2, "--help is the help"},
		{[]string{"sub", "-t", "a/#/b"}, 2, `-t "a/#/b"`},
		{[]string{"sub", "-t", "a", "-F", "%z"}, 2, "unknown %z"},
		{[]string{"sub", "-t", "a", "-F", "@!"}, 2, "unknown @!"},
		{[]string{"sub", "-t", "a", "-F", `\q`}, 2, `unknown \q`},
		{[]string{"sub", "-t", "a", "-F", "%p", "--json"}, 2, "give one"},
		{[]string{"sub", "-t", "a", "-W", "soon"}, 2, `-W "soon"`},
		{[]string{"sub", "-t", "a", "-C", "-1"}, 2, "-C -1"},
		{[]string{"sub", "-t", "a", "-V", "311", "--retain-as-published"}, 2, "MQTT 5.0 option"},
		{[]string{"rr", "-t", "a", "-m", "x", "-V", "311"}, 2, "drop -V"},
		{[]string{"rr", "-t", "a"}, 2, "give the message with one of -m, -f, -s, -n"},
		{[]string{"rr", "-t", "a", "-m", "x", "-e", "r/#"}, 2, "without wildcards"},
		{[]string{"rr", "-t", "a", "-m", "x", "-D", "publish", "response-topic", "r"}, 2, "with -e"},
	} {
		var out, errOut syncBuffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
		got := errOut.String()
		if tc.code == 0 {
			got = out.String()
		}
		if code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("tern %q: exit %d, want %d with %q; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, tc.want, out.String(), errOut.String())
		}
		if strings.Contains(out.String()+errOut.String(), "hidden-pw") {
			t.Errorf("tern %q printed the password", tc.args)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]packet.Version{"5": packet.V5, "mqttv5": packet.V5, "311": packet.V311, "mqttv311": packet.V311, "31": packet.V31, "mqttv31": packet.V31} {
		if v, err := parseVersion(in); v != want || err != nil {
			t.Errorf("parseVersion(%q) = %v, %v", in, v, err)
		}
	}
}
