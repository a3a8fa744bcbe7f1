// Package lctest starts localcloud for end-to-end tests: it builds the real
// function binaries once per test process and hands out SDK clients with the
// operator's credentials.
package lctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
)

// RepoRoot is the repository root (where go.mod and s.yaml are).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]error{}
)

// Build compiles functions/<name> for this machine into a per-process
// directory and returns the code directory holding "main" (and the default
// policy, as `make build` lays it out).
func Build(name string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		d, err := os.MkdirTemp("", "porthygiene-fn-")
		if err != nil {
			return "", err
		}
		buildDir = d
	}
	dir := filepath.Join(buildDir, name)
	if err, ok := built[name]; ok {
		return dir, err
	}
	root := RepoRoot()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "main"), "./functions/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("build functions/%s: %v\n%s", name, err, out)
	} else {
		var data []byte
		if data, err = os.ReadFile(filepath.Join(root, "policy.yaml")); err == nil {
			err = os.WriteFile(filepath.Join(dir, "policy.yaml"), data, 0o644)
		}
	}
	built[name] = err
	return dir, err
}

// Start builds the named functions and starts localcloud with the repo's
// s.yaml (unless opts.Config is set), closing it when the test ends.
func Start(t testing.TB, opts localcloud.Options, functions ...string) *localcloud.Cloud {
	t.Helper()
	if opts.CodeDirs == nil {
		opts.CodeDirs = map[string]string{}
	}
	for _, fn := range functions {
		dir, err := Build(fn)
		if err != nil {
			t.Fatal(err)
		}
		opts.CodeDirs[fn] = dir
	}
	if opts.Only == nil {
		opts.Only = functions
	}
	if opts.Config == "" && len(functions) > 0 {
		opts.Config = filepath.Join(RepoRoot(), "s.yaml")
	}
	if opts.Seed == nil {
		opts.Seed = localcloud.DefaultSeed()
	}
	if opts.Start.IsZero() {
		// Ahead of the wall clock (as virtual time always is once advanced),
		// 30 s past an hour: the hourly sweep fires only when a test advances
		// the clock by about an hour.
		opts.Start = time.Now().UTC().Truncate(time.Hour).Add(time.Hour + 30*time.Second)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" } // the developer's environment must not leak in
	}
	// localcloud tells the functions its ECS rate limit as their
	// PORTHYGIENE_ECS_QPS (Options.ECSRateLimit) unless a test sets one.
	opts.Getenv = getenv
	c, err := localcloud.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, fn := range functions {
				t.Logf("logs of %s:\n%s", fn, tail(c.Runtime.Logs("porthygiene-"+fn), 6000))
			}
		}
		c.Close()
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ECS returns an unmodified ECS SDK client with the operator's credentials.
func ECS(t testing.TB, c *localcloud.Cloud) *ecs.Client {
	t.Helper()
	op := c.Operator()
	cl, err := ecs.NewClientWithOptions(c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(op.AccessKeyID, op.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	cl.Domain = c.Addr()
	return cl
}

// Settle waits (bounded) for every event and invocation to finish.
func Settle(t testing.TB, c *localcloud.Cloud) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Settle(ctx); err != nil {
		t.Fatalf("settle: %v", err)
	}
}
