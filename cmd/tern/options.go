package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/packet"
	"github.com/ternmq/mqtt/topic"
	"github.com/ternmq/mqtt/transport"
)

// clientOptions are the flags pub, sub and rr share, under mosquitto's
// names: where the broker is, who connects, the session, the Will, the
// -D properties, TLS and proxy.
type clientOptions struct {
	host        string
	port        int
	url         string
	unix        string
	clientID    string
	idPrefix    string
	keepAlive   int
	noClean     bool
	expiry      string
	username    string
	password    string
	protocol    string
	qos         int
	willTopic   string
	willPayload string
	willQoS     int
	willRetain  bool
	props       propList
	debug       bool
	quiet       bool
	osCerts     bool
	optionsFile string
	conn        connFlags

	// Set by resolve.
	broker   *url.URL // the broker, without user information
	urlTopic string   // the topic -L gives, if any
	version  packet.Version
	p        properties
}

// define adds the shared flags to f. propCommands are the packets whose
// -D properties the command sends.
func (o *clientOptions) define(f *flagSet, propCommands string) {
	f.stringVar(&o.host, "h,host", "localhost", "the broker's `host` name or address")
	f.intVar(&o.port, "p,port", 0, "the broker's `port` (default 1883, or 8883 with TLS)")
	f.stringVar(&o.url, "L,url", "", "the broker as a `URL`: mqtt(s)://[user[:password]@]host[:port]/topic, or ws://, wss://, unix://")
	f.stringVar(&o.unix, "unix", "", "connect to the unix socket at this `path` instead of -h")
	f.stringVar(&o.clientID, "i,id", "", "the client `ID` (default: MQTT 5.0 lets the broker assign one; 3.x makes one up)")
	f.stringVar(&o.idPrefix, "I,id-prefix", "", "make the client ID from this `prefix` and the time")
	f.intVar(&o.keepAlive, "k,keepalive", 60, "send PINGREQ after this many `seconds` of silence (0: never)")
	f.boolVar(&o.noClean, "c,disable-clean-session", "keep the session on the broker between connections (needs -i)")
	f.stringVar(&o.expiry, "x,session-expiry", "", "the session expiry interval in `seconds` (MQTT 5.0); -1 never expires (default 0, -1 with -c)")
	f.stringVar(&o.username, "u,username", "", "the `user` name to connect with")
	f.stringVar(&o.password, "P,pw,password", "", "the `password` to connect with (never printed)")
	f.stringVar(&o.protocol, "V,protocol-version", "5", "the MQTT `version`: 5, 311 or 31 (also mqttv5, mqttv311, mqttv31)")
	f.stringVar(&o.willTopic, "will-topic", "", "the `topic` of the Last Will, published by the broker if the connection is lost")
	f.stringVar(&o.willPayload, "will-payload", "", "the Last Will's `message`")
	f.intVar(&o.willQoS, "will-qos", 0, "the Last Will's `QoS`")
	f.boolVar(&o.willRetain, "will-retain", "retain the Last Will")
	f.add("D,property", "", func(n string) {
		f.fs.Var(&o.props, n, "an MQTT 5.0 property: -D `command` property value, as -D publish user-property name value ("+propCommands+"; repeatable)")
	})
	f.boolVar(&o.debug, "d,debug", "print the connection's events and every packet sent and received to standard error (never the password)")
	f.boolVar(&o.quiet, "quiet", "print no error that happens after connecting")
	o.conn.define(f)
	f.boolVar(&o.osCerts, "tls-use-os-certs", "use TLS, verifying the broker with the system's CA certificates")
	f.stringVar(&o.optionsFile, "options-file", "", "read default flags from this `file` (default $XDG_CONFIG_HOME/tern/config, ~/.config/tern/config)")
}

// parseVersion parses -V.
func parseVersion(s string) (packet.Version, error) {
	switch strings.ToLower(s) {
	case "5", "5.0", "mqttv5", "mqttv50":
		return packet.V5, nil
	case "311", "3.1.1", "mqttv311":
		return packet.V311, nil
	case "31", "3.1", "mqttv31":
		return packet.V31, nil
	}
	return 0, fmt.Errorf("-V %q: give 5, 311 or 31 (mqttv5, mqttv311, mqttv31)", s)
}

// resolve checks the shared flags and works out the broker's URL, the
// protocol version and the properties. l tells which layer set which flag.
func (o *clientOptions) resolve(l *layered, getenv func(string) string, propCommands ...string) error {
	if err := o.resolveBroker(l); err != nil {
		return err
	}
	v, err := parseVersion(o.protocol)
	if err != nil {
		return err
	}
	o.version = v
	if o.p, err = parseProperties(o.props, propCommands...); err != nil {
		return err
	}
	if o.p.any && v != packet.V5 {
		return fmt.Errorf("-D sets MQTT 5.0 properties, and -V asks for %v: drop -V (5.0 is the default)", v)
	}
	if o.clientID != "" && o.idPrefix != "" {
		switch {
		case l.set("i") == l.set("I"):
			return errors.New("-i and -I: give a client ID or a prefix, not both")
		case l.set("I") > l.set("i"):
			o.clientID = ""
		default:
			o.idPrefix = ""
		}
	}
	switch {
	case o.noClean && o.clientID == "":
		return errors.New("-c keeps the session of a client ID: give one with -i")
	case o.keepAlive < 0 || o.keepAlive > 65535:
		return fmt.Errorf("-k %d: give a number of seconds from 0 (off) to 65535", o.keepAlive)
	case o.qos < 0 || o.qos > 2:
		return fmt.Errorf("-q %d: the QoS is 0, 1 or 2", o.qos)
	case o.willQoS < 0 || o.willQoS > 2:
		return fmt.Errorf("--will-qos %d: the QoS is 0, 1 or 2", o.willQoS)
	case o.willTopic == "" && (l.set("will-payload") > 0 || l.set("will-qos") > 0 || o.willRetain || o.p.cmds["will"]):
		return errors.New("--will-payload, --will-qos, --will-retain and -D will need --will-topic")
	}
	if o.willTopic != "" {
		if err := topic.CheckName(o.willTopic); err != nil {
			return fmt.Errorf("--will-topic %q: %v", o.willTopic, err)
		}
	}
	if o.expiry != "" {
		if v != packet.V5 {
			return errors.New("-x sets the session expiry interval of MQTT 5.0: drop -V or -x")
		}
		e, err := parseExpiry(o.expiry)
		if err != nil {
			return err
		}
		if e == math.MaxUint32 && o.clientID == "" {
			return errors.New("-x -1 keeps the session for ever: give its client ID with -i")
		}
	}
	return nil
}

// parseExpiry parses -x: seconds, or -1 (also 4294967295, ∞) for never.
func parseExpiry(s string) (uint32, error) {
	switch s {
	case "-1", "∞", "inf", "never":
		return math.MaxUint32, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("-x %q: give the seconds the session outlives the connection, or -1 for ever", s)
	}
	return uint32(n), nil
}

// usageError prints err for the command cmd ("pub", "bench conn"), with
// where to read its help, and returns exitUsage.
func usageError(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "tern %s: %v\nRun \"tern %s --help\" for the flags and examples.\n", cmd, err, cmd)
	return exitUsage
}

// parseLayers parses args over the options file and the environment into
// l for the command cmd, whose help help prints. If ok is false, the
// command exits with code: the help was asked for, or the flags are wrong.
func parseLayers(cmd string, l *layered, help func(io.Writer), args []string, getenv func(string) string, stdout, stderr io.Writer) (code int, ok bool) {
	if err := l.parseAll(args, getenv, otherCommandHas); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return exitOK, false
		}
		return usageError(stderr, cmd, err), false
	}
	return 0, true
}

// resolveBroker works out o.broker from -L, --unix or -h and -p: the
// ones set in the highest layer win; in the same layer they conflict.
func (o *clientOptions) resolveBroker(l *layered) error {
	parse := func(s string) (*url.URL, error) {
		u, t, err := parseURLFlag(s)
		o.urlTopic = t
		return u, err
	}
	u, err := pickBroker(l.set, "-L", parse, brokerFlags{url: o.url, unix: o.unix, host: o.host, port: o.port,
		tls: o.conn.anyTLS() || o.osCerts}, &o.username, &o.password)
	o.broker = u
	return err
}

// brokerFlags are the flags that name the broker.
type brokerFlags struct {
	url, unix, host string
	port            int
	tls             bool // TLS flags were given
}

// pickBroker works out the broker's URL from a URL flag (urlFlag, whose
// value parse reads), --unix, or -h and -p, by the layers set says set
// them: those set in the highest layer win; in the same layer they
// conflict. The URL's user name and password go into *user and *pass when
// -u and -P were not set in a higher layer.
func pickBroker(set func(string) int, urlFlag string, parse func(string) (*url.URL, error), b brokerFlags, user, pass *string) (*url.URL, error) {
	name := strings.TrimLeft(urlFlag, "-")
	urlL, unixL, hostL := set(name), set("unix"), max(set("h"), set("p"))
	top := max(urlL, unixL, hostL)
	if top > 0 && b2i(urlL == top)+b2i(unixL == top)+b2i(hostL == top) > 1 {
		return nil, fmt.Errorf("%s, --unix and -h/-p each name the broker: give one (%s gives several)", urlFlag, layerNames[top])
	}
	switch {
	case top > 0 && urlL == top:
		u, err := parse(b.url)
		if err != nil {
			return nil, err
		}
		if b.tls && !transport.IsTLS(u.Scheme) {
			return nil, fmt.Errorf("TLS flags given for %s://, which is not TLS: use mqtts:// (or wss://)", u.Scheme)
		}
		if u.User != nil {
			if set("u") <= urlL {
				*user = u.User.Username()
			}
			if p, ok := u.User.Password(); ok && set("P") <= urlL {
				*pass = p
			}
			u.User = nil
		}
		return u, nil
	case top > 0 && unixL == top:
		if b.tls {
			return nil, errors.New("--unix: TLS flags given for a unix socket, which is not TLS")
		}
		return &url.URL{Scheme: "unix", Path: b.unix}, nil
	}
	if b.host == "" {
		return nil, errors.New("-h: give the broker's host name or address")
	}
	if b.port < 0 || b.port > 65535 {
		return nil, fmt.Errorf("-p %d: give a port from 1 to 65535", b.port)
	}
	scheme, port := "mqtt", b.port
	if b.tls || port == 8883 {
		scheme = "mqtts"
	}
	if port == 0 {
		port = map[string]int{"mqtt": 1883, "mqtts": 8883}[scheme]
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(b.host, strconv.Itoa(port))}, nil
}

var layerNames = [...]string{"", "the options file", "the environment", "the command line"}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// anyTLS reports whether a flag that only TLS uses is given.
func (c *connFlags) anyTLS() bool {
	return c.cafile != "" || c.cert != "" || c.key != "" || c.pkcs12 != "" || c.insecure ||
		c.alpn != "" || c.tlsVersion != "" || c.ciphers != "" || c.serverName != ""
}

// parseURLFlag parses -L: mqtt(s)://[user[:password]@]host[:port]/topic,
// where the path is the topic (wildcards and all); ws://, wss:// and
// unix:// URLs name the broker alone, their path being the WebSocket path
// or the socket. Errors never quote the URL, which may hold a password.
func parseURLFlag(s string) (*url.URL, string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, "", errors.New("-L is not a URL: write mqtt://host:1883/topic or mqtts://user@host/topic")
	}
	switch strings.ToLower(scheme) {
	case "mqtt", "mqtts", "tcp", "ssl", "tls":
		authority, path, _ := strings.Cut(rest, "/")
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		u, err := parseBrokerURL("-L", scheme+"://"+authority)
		return u, path, err
	}
	u, err := parseBrokerURL("-L", s)
	return u, "", err
}

// config returns the client's configuration.
func (o *clientOptions) config(getenv func(string) string) (mqtt.Config, error) {
	cfg := mqtt.Config{
		Broker:         o.broker.String(),
		Version:        o.version,
		ClientID:       o.clientID,
		ClientIDPrefix: o.idPrefix,
		Username:       o.username,
		KeepAlive:      time.Duration(o.keepAlive) * time.Second,
		ConnectTimeout: connectTimeout,
		Persistent:     o.noClean,
	}
	if o.keepAlive == 0 {
		cfg.KeepAlive = -1
	}
	if o.password != "" {
		cfg.Password = []byte(o.password)
	}
	c := o.p.connect
	cfg.UserProperties = c.User
	cfg.ReceiveMaximum = c.ReceiveMaximum
	cfg.MaximumPacketSize = c.MaximumPacketSize
	cfg.TopicAliasMaximum = c.TopicAliasMaximum
	cfg.RequestResponseInfo = c.RequestResponseInfo
	cfg.NoProblemInfo = c.RequestProblemInfo != nil && !*c.RequestProblemInfo
	cfg.AuthMethod, cfg.AuthData = c.AuthMethod, c.AuthData
	switch {
	case o.expiry != "":
		e, _ := parseExpiry(o.expiry)
		cfg.SessionExpiry = time.Duration(e) * time.Second
	case c.SessionExpiryInterval != nil:
		cfg.SessionExpiry = time.Duration(*c.SessionExpiryInterval) * time.Second
	case o.noClean:
		cfg.SessionExpiry = math.MaxUint32 * time.Second
	}
	if o.willTopic != "" {
		cfg.Will = &mqtt.Message{Topic: o.willTopic, Payload: []byte(o.willPayload), QoS: mqtt.QoS(o.willQoS),
			Retain: o.willRetain, Properties: o.p.will}
	}
	if err := o.conn.apply(&cfg, o.broker, getenv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseSeconds parses a time in seconds as mosquitto's flags give it,
// whole or decimal ("10", "2.5"), or as a Go duration ("500ms").
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1e9 || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
