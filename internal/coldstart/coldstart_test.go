// Package coldstart measures each function's cold start: from localcloud
// starting the function's process to the first invocation answered, and the
// process's peak resident memory (VmHWM) when it has answered.
//
//	go test -run '^$' -bench ColdStart -benchtime 5x ./internal/coldstart/
//
// Every directory under functions/ is measured, so a new function is in the
// table without editing this file.
package coldstart

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// functions lists the repo's functions (functions/<name>/).
func functions(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(lctest.RepoRoot(), "functions"))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		tb.Fatal("no functions under functions/")
	}
	return names
}

func TestEveryFunctionAnswersItsFirstInvocation(t *testing.T) {
	for _, fn := range functions(t) {
		t.Run(fn, func(t *testing.T) {
			d, rss := coldStart(t, fn)
			if d <= 0 {
				t.Fatalf("cold start of %s measured as %v", fn, d)
			}
			if rss <= 0 {
				t.Fatalf("peak RSS of %s not read", fn)
			}
		})
	}
}

func BenchmarkColdStart(b *testing.B) {
	for _, fn := range functions(b) {
		b.Run(fn, func(b *testing.B) {
			var ds []time.Duration
			var peak int64
			for range b.N {
				d, rss := coldStart(b, fn)
				ds = append(ds, d)
				peak = max(peak, rss)
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(peak)/1024, "peak-rss-MiB")
		})
	}
}

// coldStart starts a localcloud running only fn (from the repo's s.yaml),
// times its first invocation — a payload of no known kind, which every
// function answers without touching the cloud — and reads the process's
// VmHWM (KiB) once it has answered.
func coldStart(tb testing.TB, fn string) (time.Duration, int64) {
	tb.Helper()
	dir, err := lctest.Build(fn)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := localcloud.Start(localcloud.Options{
		Seed:     localcloud.DefaultSeed(),
		Config:   filepath.Join(lctest.RepoRoot(), "s.yaml"),
		CodeDirs: map[string]string{fn: dir},
		Only:     []string{fn},
		Getenv:   func(string) string { return "" },
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := c.Runtime.Invoke(ctx, "porthygiene-"+fn, []byte(`{"coldstart":true}`))
	d := time.Since(start)
	if err != nil {
		tb.Fatalf("first invocation of %s: %v\n%s", fn, err, c.Runtime.Logs("porthygiene-"+fn))
	}
	if res.Status == "timeout" {
		tb.Fatalf("first invocation of %s timed out", fn)
	}
	return d, peakRSS(tb, filepath.Join(dir, "main"))
}

// peakRSS is the largest VmHWM (KiB) of the running processes whose
// executable is bin.
func peakRSS(tb testing.TB, bin string) int64 {
	tb.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	var peak int64
	for _, exe := range procs {
		target, err := os.Readlink(exe)
		if err != nil || target != bin {
			continue
		}
		f, err := os.Open(filepath.Join(filepath.Dir(exe), "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				peak = max(peak, kb)
			}
		}
		f.Close()
	}
	return peak
}
