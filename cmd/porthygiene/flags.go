package main

import (
	"errors"
	"flag"
	"io"
)

// newFlagSet returns a FlagSet that reports errors instead of exiting and
// prints its usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		io.WriteString(w, "usage: porthygiene "+name+" "+synopsis+"\n\nflags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; -h/--help yields errHelp, anything else wrong a usage error.
// Positional arguments are refused: every input is a named flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
