package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/share"
)

// shareOptions are the flags of tern share serve.
type shareOptions struct {
	clientOptions
	socket              string
	name                string
	group               string
	allowUIDs, allowGID idList
	maxQueued           int
	conns               connSpecs
}

// connSpecs is the repeatable --conn NAME=FILE flag: more connections, each
// with its flags in an options file.
type connSpecs []string

func (c *connSpecs) String() string { return strings.Join(*c, ", ") }

func (c *connSpecs) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("%q: give NAME=FILE, FILE holding the connection's flags as an options file does", s)
	}
	*c = append(*c, s)
	return nil
}

// extraConn reads the connection flags of one --conn NAME=FILE from FILE
// (the format of the options file; the environment and the command line
// do not apply).
func extraConn(spec string, getenv func(string) string) (string, *clientOptions, error) {
	name, path, _ := strings.Cut(spec, "=")
	o := new(clientOptions)
	f := newFlagSet("share serve")
	o.define(f, "connect, disconnect, will")
	l := newLayered(f)
	if err := l.parseFile(path, true, otherCommandHas); err != nil {
		return "", nil, fmt.Errorf("--conn %s: %v", name, err)
	}
	if err := o.resolve(l, getenv, "connect", "disconnect", "will"); err != nil {
		return "", nil, fmt.Errorf("--conn %s: %v", name, err)
	}
	return name, o, nil
}

// idList is a repeatable flag of numeric IDs, also comma-separated.
type idList []int

func (l *idList) String() string {
	s := make([]string, len(*l))
	for i, id := range *l {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

func (l *idList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || id < 0 {
			return fmt.Errorf("%q is not a numeric ID", f)
		}
		*l = append(*l, id)
	}
	return nil
}

const shareUsageHead = `Usage: tern share serve --socket PATH [flags]

Connect to the broker once, as tern pub and tern sub do (with their
connection flags), and share that connection with other programs on the
machine: they connect to the unix socket PATH with plain MQTT (3.1.1 or
5.0), and their publishes, subscriptions and messages go through this one
connection, with its one client ID and identity. The connection reconnects
by itself; the programs get its events on the topic $tern/events.

A program picks the connection by its MQTT user name (--name); one with
no user name gets the first by name. --conn NAME=FILE adds a connection,
with its flags (-h, -p, -L, --cafile, -u, -P...) in FILE, one a line as in
the options file: one serve process can hold a device's connections to
several brokers. Secondaries connecting and
leaving, and the connection's losses and returns, are logged to standard
error. It serves until Ctrl-C or SIGTERM.

The socket is for its owner alone (mode 0600), or for a group with
--group (0660); --allow-uid and --allow-gid let in only peers with those
credentials (SO_PEERCRED).

Examples:
  tern share serve --socket /run/tern.sock -h broker.local
  tern share serve --socket /run/tern.sock -L mqtts://dev1@iot.example.com --cert dev.pem --key dev.key
  tern sub --unix /run/tern.sock -u main -t 'cmd/#' -v    # a secondary
  tern pub --unix /run/tern.sock -t data -m 1 -q 1        # another
  mosquitto_sub --unix /run/tern.sock -t '$tern/events'   # the connection's events
  tern share serve --socket /run/tern.sock -h broker.local --conn cloud=/etc/tern/cloud.conf
  tern pub --unix /run/tern.sock -u cloud -t telemetry -m 1 -q 1

Flags:
`

// shareFlags defines the flags of tern share serve into o.
func shareFlags(o *shareOptions) *flagSet {
	f := newFlagSet("share serve")
	f.stringVar(&o.socket, "socket", "", "serve on the unix socket at this `path` (required)")
	f.stringVar(&o.name, "name", "main", "the connection's `name`: the user name secondaries give to pick it")
	f.stringVar(&o.group, "group", "", "let this `group` (a name or a GID) connect: the socket is then 0660")
	f.add("allow-uid", "", func(n string) {
		f.fs.Var(&o.allowUIDs, n, "let in only peers with these user `IDs` (comma-separated, repeatable; with --allow-gid, either)")
	})
	f.add("allow-gid", "", func(n string) {
		f.fs.Var(&o.allowGID, n, "let in only peers with these group `IDs` (comma-separated, repeatable)")
	})
	f.add("conn", "", func(n string) {
		f.fs.Var(&o.conns, n, "serve another connection, `NAME=FILE`, its flags in FILE as in an options file (repeatable)")
	})
	f.intVar(&o.maxQueued, "max-queued", 1000, "the bound of each secondary's queue of `messages`: at it, QoS 0 is dropped, and QoS 1 or 2 disconnects the secondary")
	o.clientOptions.define(f, "connect, disconnect, will")
	return f
}

func printShareUsage(w io.Writer) {
	io.WriteString(w, shareUsageHead)
	shareFlags(new(shareOptions)).print(w)
	io.WriteString(w, "\n"+connUsageTail)
}

// runShare is tern share.
func runShare(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "serve" {
		switch {
		case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help"):
			printShareUsage(stdout)
			return exitOK
		case len(args) == 0:
			fmt.Fprintln(stderr, "tern share: give a subcommand: tern share serve --socket PATH [flags]")
		default:
			fmt.Fprintf(stderr, "tern share: unknown subcommand %q; the one there is: serve\n", args[0])
		}
		return exitUsage
	}
	o := new(shareOptions)
	l := newLayered(shareFlags(o))
	fail := func(err error) int { return usageError(stderr, "share serve", err) }
	if code, ok := parseLayers("share serve", l, printShareUsage, args[1:], os.Getenv, stdout, stderr); !ok {
		return code
	}
	if err := o.resolve(l, os.Getenv, "connect", "disconnect", "will"); err != nil {
		return fail(err)
	}
	switch {
	case o.socket == "":
		return fail(errors.New("give the socket to serve on with --socket PATH"))
	case o.name == "":
		return fail(errors.New("--name: give a name (secondaries give it as their user name)"))
	case o.maxQueued <= 0:
		return fail(fmt.Errorf("--max-queued %d: give a number of messages", o.maxQueued))
	}

	extra := map[string]*clientOptions{}
	for _, spec := range o.conns {
		name, co, err := extraConn(spec, os.Getenv)
		if err != nil {
			return fail(err)
		}
		if _, dup := extra[name]; dup || name == o.name {
			return fail(fmt.Errorf("--conn %s: the name is taken", name))
		}
		extra[name] = co
	}

	sess := &session{cmd: "share", o: &o.clientOptions, stderr: stderr}
	if code, ok := sess.connect(ctx, os.Getenv, true); !ok {
		return code
	}
	defer sess.disconnect(ctx)
	clients := map[string]*mqtt.Client{o.name: sess.client}
	for name, co := range extra {
		es := &session{cmd: "share " + name, o: co, stderr: stderr}
		if code, ok := es.connect(ctx, os.Getenv, true); !ok {
			return code
		}
		defer es.disconnect(ctx)
		clients[name] = es.client
	}
	level := slog.LevelInfo
	if o.quiet {
		level = slog.LevelError + 1
	}
	srv, err := share.NewServer(share.Options{
		Group:     o.group,
		AllowUIDs: o.allowUIDs,
		AllowGIDs: o.allowGID,
		MaxQueued: o.maxQueued,
		Logger:    slog.New(&lineHandler{w: stderr, prefix: "tern share: ", level: level}),
	}, clients)
	if err != nil {
		sess.errorf("%v", err)
		return exitFailure
	}
	defer srv.Close()
	if err := srv.Listen(o.socket); err != nil {
		sess.errorf("%v", strings.TrimPrefix(err.Error(), "share: "))
		return exitFailure
	}
	if !o.quiet {
		for name, c := range clients {
			u := o.broker
			if co := extra[name]; co != nil {
				u = co.broker
			}
			fmt.Fprintf(stderr, "tern share: connected to %s as %q; serving it as %q on %s\n",
				u.Redacted(), c.Negotiated().ClientID, name, o.socket)
		}
	}
	<-ctx.Done()
	if !o.quiet {
		fmt.Fprintf(stderr, "tern share: stopping: %v\n", context.Cause(ctx))
	}
	return interruptedCode(ctx)
}
