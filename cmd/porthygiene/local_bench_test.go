package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// BenchmarkLocalFortyVirtualDays is issue 12's speed target: `porthygiene
// local`'s default world (s.yaml, every trigger and timer on, the hourly
// guard sweeps included, the binaries built from this tree) advanced by 40
// virtual days must take under 60 s of wall time on a 2-core machine. It
// starts localcloud as `porthygiene local` does (startLocal, the developer's
// environment not consulted) and reports the wall seconds per 40 days and
// the invocations they ran.
//
//	go test -run '^$' -bench LocalFortyVirtualDays -benchtime 1x ./cmd/porthygiene/
func BenchmarkLocalFortyVirtualDays(b *testing.B) {
	codeDirs := map[string]string{}
	for _, fn := range []string{"guard", "approve"} {
		dir, err := lctest.Build(fn)
		if err != nil {
			b.Fatal(err)
		}
		codeDirs[fn] = dir
	}
	var out bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	for b.Loop() {
		c, err := startLocal(b.Context(), env, localOptions{config: filepath.Join(lctest.RepoRoot(), "s.yaml"), addr: "127.0.0.1:0", quiet: true,
			opts: localcloud.Options{CodeDirs: codeDirs, Getenv: func(string) string { return "" }}})
		if err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		if _, err := c.Advance(b.Context(), 40*24*time.Hour); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(began)
		// The sweeps did their work: every invocation ended ok, and ECS
		// answered the guard's calls without throttling it.
		for _, inv := range c.Runtime.Invocations() {
			if inv.Status != fcrt.StatusOK {
				b.Fatalf("invocation %s of %s at %s: %s %s", inv.ID, inv.Function, inv.VirtualTime, inv.Status, inv.Error)
			}
		}
		ecsCalls := 0
		for _, call := range c.Stats.Snapshot().Calls {
			if call.Service == "ecs" && call.Caller != c.Operator().Identity.UserName {
				ecsCalls += call.Count
				if call.ErrorCodes["Throttling.User"] > 0 {
					b.Fatalf("ECS throttled %s: %v", call.Action, call.ErrorCodes)
				}
			}
		}
		b.ReportMetric(wall.Seconds(), "wall-s/40d")
		b.ReportMetric(float64(len(c.Runtime.Invocations())), "invocations/40d")
		b.ReportMetric(float64(ecsCalls), "ecs-calls/40d")
		c.Close()
	}
}
