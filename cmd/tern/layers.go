package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Settings come in layers, each overriding the one before: the built-in
// defaults, the options file, the TERN_* environment variables, the
// command line.
const (
	layerFile = iota + 1 // the options file
	layerEnv             // TERN_* environment variables
	layerArgs            // the command line
)

// layered is a flagSet parsed layer by layer into the same variables, so
// that a later layer overrides an earlier one. It records which layer last
// set each flag, so that commands can settle conflicts between flags
// (-L against -h, -m against -f) in favour of the higher layer. A
// repeatable flag (-t, -D) set in a layer replaces what lower layers gave.
type layered struct {
	*flagSet
	layer int
	setIn map[string]int // a flag's first name → the layer that last set it
}

// resetter is a repeatable flag's value, emptied when a new layer sets it.
type resetter interface{ reset() }

// newLayered wraps every flag of f to record the layer that sets it.
func newLayered(f *flagSet) *layered {
	l := &layered{flagSet: f, setIn: make(map[string]int)}
	for _, g := range f.groups {
		for _, n := range g.names {
			fl := f.fs.Lookup(n)
			fl.Value = &trackedValue{Value: fl.Value, name: g.names[0], l: l}
		}
	}
	return l
}

// trackedValue records the layer in which its flag is set.
type trackedValue struct {
	flag.Value
	name string
	l    *layered
}

func (t *trackedValue) Set(s string) error {
	if t.l.setIn[t.name] != t.l.layer {
		if r, ok := t.Value.(resetter); ok {
			r.reset()
		}
	}
	t.l.setIn[t.name] = t.l.layer
	return t.Value.Set(s)
}

func (t *trackedValue) IsBoolFlag() bool {
	b, ok := t.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// set reports the layer that set the flag named by its first name, 0 if none.
func (l *layered) set(name string) int { return l.setIn[name] }

// isBool reports whether the flag named name (any of its names) takes no value.
func (l *layered) isBool(name string) bool {
	fl := l.fs.Lookup(name)
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseLayer parses args as the given layer.
func (l *layered) parseLayer(layer int, args []string) error {
	l.layer = layer
	args, err := l.joinProperties(args)
	if err != nil {
		return err
	}
	return l.parse(args)
}

// flagName returns the name of a flag argument ("-h", "--url=x": "h",
// "url") and whether arg is a flag at all.
func flagName(arg string) (name string, hasValue, ok bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", false, false
	}
	name = strings.TrimPrefix(arg[1:], "-")
	name, _, hasValue = strings.Cut(name, "=")
	return name, hasValue, name != ""
}

// joinProperties turns each "-D command identifier value" (four words for
// user-property: "-D publish user-property name value") into one argument
// the flag package can parse, "--property=command\x00identifier\x00value".
// It steps over the values of other flags, so that "-m -D" stays a message.
func (l *layered) joinProperties(args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, hasValue, ok := flagName(a)
		if !ok {
			out = append(out, a)
			if a == "--" {
				out = append(out, args[i+1:]...)
				return out, nil
			}
			continue
		}
		fl := l.fs.Lookup(name)
		switch {
		case fl == nil || hasValue:
			out = append(out, a)
		case name == "D" || name == "property":
			words := args[i+1:]
			n := 3
			if len(words) >= 2 && strings.EqualFold(words[1], "user-property") {
				n = 4
			}
			if len(words) < n {
				return nil, errors.New("-D needs a command, a property and its value, as -D publish content-type text/plain or -D publish user-property name value")
			}
			out = append(out, "--property="+strings.Join(words[:n], "\x00"))
			i += n
		case l.isBool(name):
			out = append(out, a)
		default:
			out = append(out, a)
			if i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
		}
	}
	return out, nil
}

// envFlags are the TERN_* environment variables and the flags they set:
// where to connect and how, never what to publish.
var envFlags = []struct{ env, flag string }{
	{"TERN_HOST", "host"},
	{"TERN_PORT", "port"},
	{"TERN_URL", "url"},
	{"TERN_UNIX", "unix"},
	{"TERN_USERNAME", "username"},
	{"TERN_PASSWORD", "pw"},
	{"TERN_ID", "id"},
	{"TERN_ID_PREFIX", "id-prefix"},
	{"TERN_KEEPALIVE", "keepalive"},
	{"TERN_PROTOCOL_VERSION", "protocol-version"},
	{"TERN_CAFILE", "cafile"},
	{"TERN_CERT", "cert"},
	{"TERN_KEY", "key"},
	{"TERN_PKCS12", "pkcs12"},
	{"TERN_PKCS12_PASSWORD", "pkcs12-password"},
	{"TERN_INSECURE", "insecure"},
	{"TERN_TLS_ALPN", "tls-alpn"},
	{"TERN_TLS_VERSION", "tls-version"},
	{"TERN_TLS_USE_OS_CERTS", "tls-use-os-certs"},
	{"TERN_CIPHERS", "ciphers"},
	{"TERN_SNI", "sni"},
	{"TERN_PROXY", "proxy"},
}

// parseEnv parses the TERN_* environment variables as the environment layer.
func (l *layered) parseEnv(getenv func(string) string) error {
	l.layer = layerEnv
	for _, e := range envFlags {
		v := getenv(e.env)
		if v == "" || l.fs.Lookup(e.flag) == nil {
			continue
		}
		arg := []string{"--" + e.flag, v}
		if l.isBool(e.flag) {
			arg = []string{"--" + e.flag + "=" + v}
		}
		if err := l.parse(arg); err != nil {
			return fmt.Errorf("$%s: %v", e.env, err)
		}
	}
	return nil
}

// optionsFile returns the options file to read: --options-file from the
// command line, else $XDG_CONFIG_HOME/tern/config (~/.config/tern/config).
// explicit tells that it was named, and so must exist.
func optionsFile(args []string, getenv func(string) string) (path string, explicit bool) {
	for i := 0; i < len(args); i++ {
		name, hasValue, ok := flagName(args[i])
		if !ok {
			if args[i] == "--" {
				break
			}
			continue
		}
		if name == "options-file" {
			if hasValue {
				_, path, _ = strings.Cut(args[i], "=")
			} else if i+1 < len(args) {
				path = args[i+1]
			}
			explicit = true
		}
	}
	if explicit {
		return path, true
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", false
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "tern", "config"), false
}

// parseFile parses the options file as the file layer: one flag a line,
// as mosquitto_pub's ("-h broker.local", "--cafile /etc/ca.pem", "-r"),
// with # comments. A flag that another tern command has and this one
// lacks is skipped, so that one file serves pub, sub and rr. Errors name
// the line, never its value (it may be a password).
func (l *layered) parseFile(path string, explicit bool, otherCommandHas func(name string) bool) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("options file: %v", err)
	}
	defer f.Close()
	var args []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		word, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			word, rest = line[:i], line[i+1:]
		}
		rest = strings.TrimSpace(rest)
		name, hasValue, ok := flagName(word)
		if !ok {
			return fmt.Errorf("%s line %d does not start with a flag: write one flag a line, as \"-h broker.local\"", path, n)
		}
		if name == "options-file" {
			return fmt.Errorf("%s line %d: --options-file cannot be given in an options file", path, n)
		}
		if l.fs.Lookup(name) == nil {
			if otherCommandHas(name) {
				continue
			}
			return fmt.Errorf("%s line %d: unknown flag -%s", path, n, name)
		}
		switch {
		case hasValue:
			args = append(args, word)
			if rest != "" {
				return fmt.Errorf("%s line %d: give the value after -%s once", path, n, name)
			}
		case name == "D" || name == "property":
			args = append(args, word)
			args = append(args, strings.Fields(rest)...)
		case l.isBool(name):
			if rest != "" {
				word += "=" + rest
			}
			args = append(args, word)
		case rest == "":
			return fmt.Errorf("%s line %d: -%s needs a value", path, n, name)
		default:
			args = append(args, word, rest)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("options file %s: %v", path, err)
	}
	l.layer = layerFile
	args, err = l.joinProperties(args)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := l.parse(args); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// parseAll parses the options file, the environment and the command line,
// in that order of precedence, lowest first.
func (l *layered) parseAll(args []string, getenv func(string) string, otherCommandHas func(string) bool) error {
	// The command line first, alone, for --help and its own errors: a
	// mistake there is reported as such, whatever the file says.
	if err := l.checkArgs(args); err != nil {
		return err
	}
	path, explicit := optionsFile(args, getenv)
	if err := l.parseFile(path, explicit, otherCommandHas); err != nil {
		return err
	}
	if err := l.parseEnv(getenv); err != nil {
		return err
	}
	return l.parseLayer(layerArgs, args)
}

// checkArgs parses args into a throwaway copy of the flags, to report
// --help and command-line mistakes before the other layers are read.
func (l *layered) checkArgs(args []string) error {
	probe := newFlagSet(l.fs.Name())
	l.fs.VisitAll(func(fl *flag.Flag) {
		v := fl.Value
		if t, ok := v.(*trackedValue); ok {
			v = t.Value
		}
		probe.fs.Var(probeValue{bool: isBoolValue(v)}, fl.Name, fl.Usage)
	})
	pl := &layered{flagSet: probe, setIn: map[string]int{}}
	args, err := pl.joinProperties(args)
	if err != nil {
		return err
	}
	err = probe.parse(args)
	if err != nil && err.Error() == "flag needs an argument: -h" {
		err = errors.New("-h needs the broker's host name (as mosquitto's -h); --help is the help")
	}
	return err
}

func isBoolValue(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// probeValue accepts anything: checkArgs looks for unknown flags, missing
// values and --help; the values are checked when really parsed.
type probeValue struct{ bool bool }

func (p probeValue) String() string   { return "" }
func (p probeValue) Set(string) error { return nil }
func (p probeValue) IsBoolFlag() bool { return p.bool }
