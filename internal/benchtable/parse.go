package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Results maps a benchmark's name (without the -GOMAXPROCS suffix) to its
// metrics by unit ("ns/op", "allocs/op", "p99-ms", ...).
type Results map[string]map[string]float64

// cpuSuffix is the "-2" go test appends to a benchmark's name.
var cpuSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads go test -bench output: every line that starts with
// "Benchmark", then the iteration count, then value–unit pairs. Other lines
// (goos:, PASS, logs) are ignored.
func Parse(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // a log line that starts with the word
		}
		name := cpuSuffix.ReplaceAllString(f[0], "")
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		res[name] = m
	}
	return res, sc.Err()
}
