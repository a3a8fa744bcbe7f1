// Command benchtable runs the benchmarks behind the issues' speed and memory
// targets and writes one table, BENCHMARKS.md, with the machine it ran on and
// the date. Every number in it comes from the run; each row has its target
// beside it and says where we fall short.
//
//	go run ./internal/benchtable [-o BENCHMARKS.md] [-maketest=false]
//
// (make bench). A benchmark that fails or reports nothing fails the command:
// a table with a hole in it is not written.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Bench is one go test -bench run.
type Bench struct {
	Pkg, Pattern, Benchtime string
}

func (b Bench) args() []string {
	a := []string{"test", "-run", "^$", "-bench", b.Pattern, "-benchmem", "-count", "1", "-timeout", "30m"}
	if b.Benchtime != "" {
		a = append(a, "-benchtime", b.Benchtime)
	}
	return append(a, b.Pkg)
}

// Command is how to rerun it by hand.
func (b Bench) Command() string { return "go " + strings.Join(b.args(), " ") }

// Row is one line of the table: a metric of a benchmark's result, scaled
// into the unit shown, with its target (Max or Min; zero: none).
type Row struct {
	What   string
	Bench  Bench
	Name   string // the benchmark's name in the output
	Metric string // its unit in the output
	Scale  float64
	Unit   string
	Max    float64
	Min    float64
	Note   string
	// Derive computes the value from the results instead of Name/Metric.
	Derive func(Results) (float64, bool)
}

func (r Row) value(res Results) (float64, bool) {
	if r.Derive != nil {
		return r.Derive(res)
	}
	m, ok := res[r.Name]
	if !ok {
		return 0, false
	}
	v, ok := m[r.Metric]
	if r.Scale != 0 {
		v *= r.Scale
	}
	return v, ok
}

func (r Row) target() string {
	switch {
	case r.Max != 0:
		return fmt.Sprintf("< %s %s", num(r.Max), r.Unit)
	case r.Min != 0:
		return fmt.Sprintf("≥ %s %s", num(r.Min), r.Unit)
	}
	return "—"
}

// verdict says whether v meets the target, and by how much it falls short.
func (r Row) verdict(v float64) string {
	switch {
	case r.Max != 0 && v < r.Max, r.Min != 0 && v >= r.Min:
		return "✔"
	case r.Max != 0:
		return fmt.Sprintf("✘ %.2f× the target", v/r.Max)
	case r.Min != 0:
		return fmt.Sprintf("✘ %.0f%% of the target", 100*v/r.Min)
	}
	return "— (no target)"
}

func num(v float64) string {
	switch {
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

var (
	evaluator = Bench{Pkg: "./shared/exposure/", Pattern: "^BenchmarkEvaluate200Rules$"}
	latency   = Bench{Pkg: "./functions/guard/", Pattern: "^BenchmarkGuardLatency$", Benchtime: "200x"}
	latRTT    = Bench{Pkg: "./functions/guard/", Pattern: "^BenchmarkGuardLatencyWithRTT$", Benchtime: "50x"}
	sweep     = Bench{Pkg: "./shared/guard/", Pattern: "^BenchmarkSweep10k$", Benchtime: "1x"}
	cold      = Bench{Pkg: "./internal/coldstart/", Pattern: "^BenchmarkColdStart$", Benchtime: "5x"}
	// The replicator: a change on the primary → every replica converged.
	repl      = Bench{Pkg: "./functions/replicator/", Pattern: "^BenchmarkReplicatorConvergence$", Benchtime: "100x"}
	replRTT   = Bench{Pkg: "./functions/replicator/", Pattern: "^BenchmarkReplicatorConvergenceWithRTT$", Benchtime: "50x"}
	fortyDays = Bench{Pkg: "./cmd/porthygiene/", Pattern: "^BenchmarkLocalFortyVirtualDays$", Benchtime: "1x"}
	reaperAt  = Bench{Pkg: "./functions/reaper/", Pattern: "^BenchmarkReaperScale$", Benchtime: "1x"}
)

// rtt is the latency BenchmarkGuardLatencyWithRTT injects into every call.
const rtt = 20.0 // ms

func rows(res Results) []Row {
	rs := []Row{
		{What: "evaluator, 200-rule group", Bench: evaluator, Name: "BenchmarkEvaluate200Rules", Metric: "ns/op", Scale: 1e-3, Unit: "µs", Max: 50},
		{What: "evaluator, 200-rule group: allocations", Bench: evaluator, Name: "BenchmarkEvaluate200Rules", Metric: "allocs/op", Unit: "allocs"},
		{What: "guard latency, warm, median", Bench: latency, Name: "BenchmarkGuardLatency", Metric: "p50-ms", Unit: "ms"},
		{What: "guard latency, warm, p99", Bench: latency, Name: "BenchmarkGuardLatency", Metric: "p99-ms", Unit: "ms", Max: 300},
		{What: "guard latency, 20 ms per call, median", Bench: latRTT, Name: "BenchmarkGuardLatencyWithRTT", Metric: "p50-ms", Unit: "ms"},
		{What: "guard latency, 20 ms per call, p99", Bench: latRTT, Name: "BenchmarkGuardLatencyWithRTT", Metric: "p99-ms", Unit: "ms", Max: 300},
		{What: "guard: round trips on the critical path (median ÷ 20 ms)", Bench: latRTT, Unit: "round trips", Max: 3.01,
			Note: "at most 3", Derive: func(res Results) (float64, bool) {
				v, ok := res["BenchmarkGuardLatencyWithRTT"]["p50-ms"]
				return v / rtt, ok
			}},
		{What: "guard: ECS calls per event", Bench: latency, Name: "BenchmarkGuardLatency", Metric: "ecs/op", Unit: "calls"},
		{What: "guard: SLS calls per event (ledger, notifier state)", Bench: latency, Name: "BenchmarkGuardLatency", Metric: "sls/op", Unit: "calls"},
		{What: "guard: DingTalk calls per event", Bench: latency, Name: "BenchmarkGuardLatency", Metric: "dingtalk/op", Unit: "calls"},
		{What: "sweep of 10,000 groups: time ÷ the time the ECS rate limit allows", Bench: sweep, Name: "BenchmarkSweep10k", Metric: "ratio", Unit: "×", Max: 1.05, Note: "keep it at the bound"},
		{What: "sweep of 10,000 groups: wall time", Bench: sweep, Name: "BenchmarkSweep10k", Metric: "sweep-s", Unit: "s"},
		{What: "replicator: change on the primary → both replicas converged, warm, median", Bench: repl, Name: "BenchmarkReplicatorConvergence", Metric: "p50-ms", Unit: "ms"},
		{What: "replicator: change on the primary → both replicas converged, warm, p99", Bench: repl, Name: "BenchmarkReplicatorConvergence", Metric: "p99-ms", Unit: "ms", Max: 300},
		{What: "replicator: converged, 20 ms per call, median", Bench: replRTT, Name: "BenchmarkReplicatorConvergenceWithRTT", Metric: "p50-ms", Unit: "ms"},
		{What: "replicator: converged, 20 ms per call, p99", Bench: replRTT, Name: "BenchmarkReplicatorConvergenceWithRTT", Metric: "p99-ms", Unit: "ms", Max: 200},
		{What: "replicator: DescribeSecurityGroupAttribute per change (a primary, 2 replicas)", Bench: repl, Name: "BenchmarkReplicatorConvergence", Metric: "describe/change", Unit: "calls", Max: 3.01, Note: "one per group"},
		{What: "replicator: rule writes per change (2 replicas)", Bench: repl, Name: "BenchmarkReplicatorConvergence", Metric: "writes/change", Unit: "calls", Max: 2.01, Note: "one batched write per replica"},
		{What: "replicator: DescribeSecurityGroups per change (set discovery, 2 regions)", Bench: repl, Name: "BenchmarkReplicatorConvergence", Metric: "list/change", Unit: "calls"},
		{What: "porthygiene local: 40 virtual days of the default world, every timer on: wall time", Bench: fortyDays, Name: "BenchmarkLocalFortyVirtualDays", Metric: "wall-s/40d", Unit: "s", Max: 60},
		// The reaper at 2,000 groups, 20,000 ENIs and 30 days of summaries (issue 12).
		{What: "reaper daily run: SLS queries (4 evidence aggregates + one decision read per group with a candidate)", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "run-sls-queries", Unit: "queries"},
		{What: "reaper daily run: rows the evidence aggregates return", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "run-rows", Unit: "rows"},
		{What: "reaper daily run: wall time", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "run-s", Unit: "s"},
		{What: "reaper daily run: peak RSS", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "run-peak-rss-MiB", Unit: "MiB", Max: 256, Note: "s.yaml memorySize"},
		{What: "reaper summary of 2 days (20,000 ENIs): SLS queries (one per 25 ENIs and day)", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "summary-sls-queries", Unit: "queries"},
		{What: "reaper summary of 2 days: wall time", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "summary-s", Unit: "s", Max: 600, Note: "s.yaml timeout"},
		{What: "reaper summary: peak RSS", Bench: reaperAt, Name: "BenchmarkReaperScale", Metric: "summary-peak-rss-MiB", Unit: "MiB", Max: 256, Note: "s.yaml memorySize"},
	}
	var fns []string
	for name := range res {
		if fn, ok := strings.CutPrefix(name, "BenchmarkColdStart/"); ok {
			fns = append(fns, fn)
		}
	}
	sort.Strings(fns)
	for _, fn := range fns {
		name := "BenchmarkColdStart/" + fn
		rs = append(rs,
			Row{What: fn + ": cold start (process start → first invocation answered), median", Bench: cold, Name: name, Metric: "p50-ms", Unit: "ms"},
			Row{What: fn + ": peak RSS after the first invocation", Bench: cold, Name: name, Metric: "peak-rss-MiB", Unit: "MiB", Max: 256, Note: "s.yaml memorySize"},
			Row{What: fn + ": binary size (linux/amd64, -s -w)", Name: "size/" + fn, Metric: "MiB", Unit: "MiB"},
		)
	}
	rs = append(rs, Row{What: "`make test` on a fresh clone", Name: "maketest", Metric: "s", Unit: "s", Max: 180})
	return rs
}

func main() {
	out := flag.String("o", "BENCHMARKS.md", "the table to write")
	makeTest := flag.Bool("maketest", true, "also time `make test` on a fresh clone (about 3 minutes)")
	flag.Parse()
	if err := run(*out, *makeTest, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(out string, makeTest bool, log io.Writer) error {
	started := time.Now().UTC()
	res := Results{}
	seen := map[Bench]bool{}
	// The cold-start rows are made from its results (one per function), so
	// its run is named here, not found in the rows.
	for _, r := range append(rows(Results{}), Row{Bench: cold}) {
		if r.Bench.Pkg == "" || seen[r.Bench] {
			continue
		}
		seen[r.Bench] = true
		fmt.Fprintln(log, "benchtable:", r.Bench.Command())
		got, err := runBench(r.Bench, log)
		if err != nil {
			return err
		}
		for k, v := range got {
			res[k] = v
		}
	}
	if err := binarySizes(res, log); err != nil {
		return err
	}
	if makeTest {
		s, err := timeMakeTest(log)
		if err != nil {
			return err
		}
		res["maketest"] = map[string]float64{"s": s}
	}
	for _, r := range rows(res) {
		if _, ok := r.value(res); !ok && !(r.Name == "maketest" && !makeTest) {
			return fmt.Errorf("row %q: %s reported no %q", r.What, r.Name, r.Metric)
		}
	}
	var md bytes.Buffer
	writeTable(&md, rows(res), res, started, makeTest)
	return os.WriteFile(out, md.Bytes(), 0o644)
}

func runBench(b Bench, log io.Writer) (Results, error) {
	cmd := exec.Command("go", b.args()...)
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, log)
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Command(), err)
	}
	res, err := Parse(&buf)
	if err == nil && len(res) == 0 {
		err = errors.New("no benchmark results")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Command(), err)
	}
	return res, nil
}

// binarySizes builds every function as `make build` does and records its size.
func binarySizes(res Results, log io.Writer) error {
	dirs, err := filepath.Glob("functions/*")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchtable-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, d := range dirs {
		fn := filepath.Base(d)
		bin := filepath.Join(tmp, fn)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./"+d)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", d, err)
		}
		st, err := os.Stat(bin)
		if err != nil {
			return err
		}
		res["size/"+fn] = map[string]float64{"MiB": float64(st.Size()) / (1 << 20)}
	}
	return nil
}

// timeMakeTest clones the committed tree and times `make test` in the clone.
func timeMakeTest(log io.Writer) (float64, error) {
	tmp, err := os.MkdirTemp("", "benchtable-clone-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	clone := exec.Command("git", "clone", "-q", ".", tmp)
	clone.Stdout, clone.Stderr = log, log
	if err := clone.Run(); err != nil {
		return 0, fmt.Errorf("git clone: %w", err)
	}
	fmt.Fprintln(log, "benchtable: make test in a fresh clone", tmp)
	start := time.Now()
	mt := exec.Command("make", "test")
	mt.Dir = tmp
	mt.Stdout, mt.Stderr = log, log
	if err := mt.Run(); err != nil {
		return 0, fmt.Errorf("make test in a fresh clone: %w", err)
	}
	return time.Since(start).Seconds(), nil
}

func writeTable(w io.Writer, rs []Row, res Results, at time.Time, makeTest bool) {
	fmt.Fprintln(w, "# Benchmarks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated by `make bench` (`go run ./internal/benchtable`): every number below comes from that run; none is typed by hand. Rerun a row with its command.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- date: %s\n", at.Format(time.RFC3339))
	fmt.Fprintf(w, "- machine: %s, %d CPUs, %s %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		dirty := ""
		if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(bytes.TrimSpace(st)) > 0 {
			dirty = " (with uncommitted changes)"
		}
		fmt.Fprintf(w, "- commit: %s%s\n", strings.TrimSpace(string(rev)), dirty)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| what | measured | target | | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rs {
		cmd := ""
		if r.Bench.Pkg != "" {
			cmd = "`" + r.Bench.Command() + "`"
		}
		v, ok := r.value(res)
		measured, verdict := fmt.Sprintf("%s %s", num(v), r.Unit), r.verdict(v)
		if !ok {
			measured, verdict = "not measured", "—"
			if r.Name == "maketest" && !makeTest {
				measured = "not measured (-maketest=false)"
			}
		}
		if r.Name == "maketest" {
			cmd = "`time make test` in a fresh `git clone`"
		}
		if strings.HasPrefix(r.Name, "size/") {
			cmd = "`make build`; `ls -l dist/*/main`"
		}
		target := r.target()
		if r.Note != "" {
			target += " (" + r.Note + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.What, measured, target, verdict, cmd)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
