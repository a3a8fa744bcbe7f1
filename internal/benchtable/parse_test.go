package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/bench.txt")
	require.NoError(t, err)
	defer f.Close()
	res, err := Parse(f)
	require.NoError(t, err)
	require.Equal(t, Results{
		"BenchmarkColdStart/approve": {"ns/op": 13817691, "max-ms": 7.771, "p50-ms": 7.045, "peak-rss-MiB": 13.02},
		"BenchmarkColdStart/guard":   {"ns/op": 16165799, "max-ms": 15.54, "p50-ms": 8.059, "peak-rss-MiB": 16.96},
		"BenchmarkEvaluate200Rules":  {"ns/op": 118000, "B/op": 20480, "allocs/op": 120},
	}, res)
}

func TestRowVerdict(t *testing.T) {
	for _, c := range []struct {
		r    Row
		v    float64
		want string
	}{
		{Row{Max: 50000}, 40000, "✔"},
		{Row{Max: 50000}, 118000, "✘"},
		{Row{Min: 1}, 0.5, "✘"},
		{Row{}, 3, "—"},
	} {
		require.Equal(t, c.want, c.r.verdict(c.v)[:len(c.want)], "%+v at %v", c.r, c.v)
	}
}
