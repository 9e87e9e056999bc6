package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose flags may have several names (-q and
// --qos) and whose help lists them as a person reads them: one line per
// flag, short name first, with its default.
type flagSet struct {
	fs     *flag.FlagSet
	groups []flagGroup
}

// flagGroup is one flag under all its names.
type flagGroup struct {
	names []string
	def   string // the default to show; empty shows none
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned and reported by the caller
	fs.Usage = func() {}
	return &flagSet{fs: fs}
}

// add records a flag defined under names (comma-separated) by def.
func (f *flagSet) add(names string, shownDefault string, define func(name string)) {
	g := flagGroup{names: strings.Split(names, ","), def: shownDefault}
	for _, n := range g.names {
		define(n)
	}
	f.groups = append(f.groups, g)
}

func (f *flagSet) stringVar(p *string, names, def, usage string) {
	shown := ""
	if def != "" {
		shown = fmt.Sprintf("%q", def)
	}
	f.add(names, shown, func(n string) { f.fs.StringVar(p, n, def, usage) })
}

func (f *flagSet) intVar(p *int, names string, def int, usage string) {
	shown := ""
	if def != 0 {
		shown = fmt.Sprint(def)
	}
	f.add(names, shown, func(n string) { f.fs.IntVar(p, n, def, usage) })
}

func (f *flagSet) boolVar(p *bool, names, usage string) {
	f.add(names, "", func(n string) { f.fs.BoolVar(p, n, false, usage) })
}

func (f *flagSet) durationVar(p *time.Duration, names string, def time.Duration, usage string) {
	shown := ""
	if def != 0 {
		shown = def.String()
	}
	f.add(names, shown, func(n string) { f.fs.DurationVar(p, n, def, usage) })
}

// parse parses args and refuses arguments that are not flags.
func (f *flagSet) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (every setting is a flag)", f.fs.Arg(0))
	}
	return nil
}

// print writes the flags' help: "-q, --qos N  usage (default 1)".
func (f *flagSet) print(w io.Writer) {
	for _, g := range f.groups {
		fl := f.fs.Lookup(g.names[0])
		arg, usage := flag.UnquoteUsage(fl)
		var names []string
		for _, n := range g.names {
			if len(n) == 1 {
				names = append(names, "-"+n)
			} else {
				names = append(names, "--"+n)
			}
		}
		head := "  " + strings.Join(names, ", ")
		if arg != "" {
			head += " " + arg
		}
		if g.def != "" {
			usage += " (default " + g.def + ")"
		}
		const col = 28
		if len(head) < col-1 {
			fmt.Fprintf(w, "%-*s%s\n", col, head, usage)
		} else {
			fmt.Fprintf(w, "%s\n%*s%s\n", head, col, "", usage)
		}
	}
}
