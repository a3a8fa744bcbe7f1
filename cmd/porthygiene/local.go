package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/sconfig"
)

func runLocal(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("local", "[--config s.yaml] [--addr 127.0.0.1:8600 [--listen-any]] [--seed FILE] [--endpoints-file FILE]", env.stderr)
	config := fs.String("config", "s.yaml", "the Serverless Devs file that declares the functions and triggers")
	addr := fs.String("addr", "127.0.0.1:8600", "listen address: a loopback IP or localhost, unless --listen-any")
	listenAny := fs.Bool("listen-any", false, "allow an --addr other machines can reach (the control API still answers secrets to loopback clients only)")
	seed := fs.String("seed", "", "world to load (see localcloud/ecs/SEED.md); default: the demo world")
	endpointsFile := fs.String("endpoints-file", "", "write the endpoints JSON (operator keys, addresses) to this file")
	logDir := fs.String("log-dir", "", "write each function's stdout/stderr to files in this directory")
	codeDirs := codeDirFlag{}
	fs.Var(codeDirs, "code-dir", "RESOURCE=DIR: run that s.yaml resource's binary from DIR instead of its code directory (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLocalAddr(env, *addr, *listenAny); err != nil {
		return err
	}
	c, err := startLocal(ctx, env, localOptions{config: *config, addr: *addr, seed: *seed, logDir: *logDir,
		opts: localcloud.Options{CodeDirs: codeDirs, ListenAny: *listenAny}})
	if err != nil {
		return err
	}
	defer c.Close()
	ep, _ := json.MarshalIndent(c.Endpoints(), "", "  ")
	if *endpointsFile != "" {
		if err := os.WriteFile(*endpointsFile, append(ep, '\n'), 0o600); err != nil {
			return fmt.Errorf("write endpoints: %w", err)
		}
	}
	fmt.Fprintf(env.stdout, "localcloud listening on %s\n%s\n", c.URL(), ep)
	fmt.Fprintf(env.stdout, "control API: %s/_localcloud/ (health, endpoints, clock, clock/advance, traffic, dingtalk/messages, invocations, stats, faults)\n", c.URL())
	<-ctx.Done()
	fmt.Fprintln(env.stdout, "localcloud stopped")
	return nil
}

// checkLocalAddr refuses (exit 2) an --addr other machines can reach unless
// listenAny, which then prints a warning to stderr.
func checkLocalAddr(env *cliEnv, addr string, listenAny bool) error {
	err := localcloud.CheckListenAddr(addr)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, localcloud.ErrNotLoopback):
		return usagef("--addr: %w", err)
	case !listenAny:
		return usagef("--addr: %w: localcloud serves the operator's access key secret and the DingTalk secrets; listen on 127.0.0.1, or pass --listen-any", err)
	}
	fmt.Fprintf(env.stderr, "warning: --listen-any: %v: other machines can call localcloud's ECS, SLS and FC APIs and its control API (secrets only to loopback clients)\n", err)
	return nil
}

type localOptions struct {
	config, addr, seed, logDir string
	quiet                      bool
	opts                       localcloud.Options
}

// startLocal starts localcloud from s.yaml; missing function binaries are built
// with the s.yaml pre-deploy actions (as `s deploy` would).
func startLocal(ctx context.Context, env *cliEnv, lo localOptions) (*localcloud.Cloud, error) {
	opts := lo.opts
	opts.Addr, opts.Config, opts.LogDir = lo.addr, lo.config, lo.logDir
	if lo.seed != "" {
		s, err := localcloud.LoadSeed(lo.seed)
		if err != nil {
			return nil, usageError{err}
		}
		opts.Seed = s
	} else if opts.Seed == nil {
		opts.Seed = localcloud.DefaultSeed()
	}
	if _, err := os.Stat(lo.config); err != nil {
		return nil, usagef("--config: %v", err)
	}
	proj, err := sconfig.Load(lo.config, func(string) string { return "" })
	if err != nil {
		return nil, usageError{err}
	}
	ran := map[string]bool{}
	for _, fn := range proj.Functions {
		dir := fn.CodeDir
		if d, ok := opts.CodeDirs[fn.Resource]; ok {
			dir = d
		}
		if _, err := os.Stat(filepath.Join(dir, fn.Handler)); err == nil {
			continue
		}
		for _, a := range fn.PreDeploy {
			if ran[a.Run+"@"+a.Path] {
				continue
			}
			ran[a.Run+"@"+a.Path] = true
			if !lo.quiet {
				fmt.Fprintf(env.stderr, "building: %s (in %s)\n", a.Run, a.Path)
			}
			cmd := exec.CommandContext(ctx, "sh", "-c", a.Run)
			cmd.Dir, cmd.Stdout, cmd.Stderr = a.Path, env.stderr, env.stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("pre-deploy action %q of %s: %w", a.Run, fn.Resource, err)
			}
		}
	}
	c, err := localcloud.Start(opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// codeDirFlag collects --code-dir RESOURCE=DIR.
type codeDirFlag map[string]string

func (f codeDirFlag) String() string { return "" }

func (f codeDirFlag) Set(v string) error {
	k, dir, ok := strings.Cut(v, "=")
	if !ok || k == "" || dir == "" {
		return fmt.Errorf("want RESOURCE=DIR, got %q", v)
	}
	f[k] = dir
	return nil
}
