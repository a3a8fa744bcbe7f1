// Command porthygiene is the operator CLI: evaluate a policy offline, run
// localcloud, restore what the guard revoked, read the ledger, audit an account.
//
// Exit codes: 0 success; 1 the command ran and failed (cloud error, refused
// action); 2 bad usage or bad input (unknown flag, unreadable or malformed file).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// command is one subcommand. Run gets the arguments after the subcommand name.
type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what every subcommand may use instead of globals.
type cliEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError marks bad usage or bad input: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// commands lists every subcommand; each lives in its own file.
var commands = map[string]command{
	"evaluate":  {"evaluate one security group against the policy (offline)", runEvaluate},
	"local":     {"run localcloud: the emulator with the functions of s.yaml", runLocal},
	"demo":      {"the scripted story on localcloud with the real function binaries", runDemo},
	"restore":   {"re-authorize a rule the guard revoked, exactly as it was", runRestore},
	"ledger":    {"list what porthygiene did (the ledger)", runLedger},
	"audit":     {"read-only sweep of every group: findings, totals, HTML report", runAudit},
	"explain":   {"is this port of an instance reachable from there, and which rule decides", runExplain},
	"snapshot":  {"export the account's groups, rules and interfaces as a localcloud seed", runSnapshot},
	"setup":     {"create the ledger and its index, check the trail and the role (before the first deploy)", runSetup},
	"replicate": {"replication sets: init a replica, plan a reconcile, status of every set", runReplicate},
	"reaper":    {"reaper report: every ingress rule's verdict from the flow-log evidence (used, unused, unknown …)", runReaper},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := &cliEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

// run dispatches to a subcommand and maps its error to an exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "porthygiene: unknown command %q (see porthygiene --help)\n", args[0])
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	default:
		fmt.Fprintf(env.stderr, "porthygiene %s: %s\n", args[0], oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
}

// errHelp is returned by a subcommand that printed its help on request.
var errHelp = errors.New("help requested")

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: porthygiene <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'porthygiene <command> --help' for the flags of one command.\nExit codes: 0 ok, 1 failed, 2 bad usage or input.")
}
