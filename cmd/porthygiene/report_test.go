package main

import (
	"context"
	"encoding/hex"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var reportScreenshot = flag.String("report-screenshot", "", "also copy the HTML report's headless screenshot to this PNG file")

// findChromium returns the Chromium on PATH, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestHTMLReportScreenshot renders the HTML report in headless Chromium and
// checks that the picture holds the charts: the critical-red, region-blue
// and owner-purple bars and the trend's restore-green are all painted. CI
// (CI=true) must have Chromium; elsewhere the test is skipped without it.
func TestHTMLReportScreenshot(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		if ci := strings.ToLower(strings.TrimSpace(os.Getenv("CI"))); ci != "" && ci != "0" && ci != "false" && ci != "no" {
			t.Fatalf("chromium is not on PATH, and CI=%s: CI must install it (.ci/run: apt-get install -y chromium)", ci)
		}
		t.Skip("skipped: chromium (or chromium-browser) is not on PATH; `apt-get install -y chromium` to render the HTML report headless")
	}
	ep, ledgerFlags := auditRichWorld(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "audit.html")
	code, _, stderr := runCLI(t, append([]string{"audit", "--endpoints", ep, "--html", page}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)

	shot := filepath.Join(dir, "audit.png")
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--no-first-run", "--disable-sync", "--disable-quic", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1200,1600",
		"file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", browser, out)

	st, err := os.Stat(shot)
	require.NoError(t, err, "no screenshot; chromium said: %s", out)
	require.Greater(t, st.Size(), int64(20_000), "a screenshot of a page with charts is not that small")
	if *reportScreenshot != "" {
		data, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(*reportScreenshot, data, 0o644))
	}

	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 1200, 1600), img.Bounds())

	colours := map[[3]uint8]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}]++
		}
	}
	require.Greater(t, len(colours), 50, "the screenshot is (nearly) one colour")
	near := func(colour string) int {
		want, err := hex.DecodeString(strings.TrimPrefix(colour, "#"))
		require.NoError(t, err, colour)
		require.Len(t, want, 3, colour)
		n := 0
		for c, k := range colours {
			if absDiff(c[0], want[0]) <= 6 && absDiff(c[1], want[1]) <= 6 && absDiff(c[2], want[2]) <= 6 {
				n += k
			}
		}
		return n
	}
	for name, colour := range map[string]string{
		"critical bars (services, revocations)": "#c0392b",
		"high bar (mysql)":                      "#e67e22",
		"region bar":                            regionColor,
		"owner bars":                            ownerColor,
		"restore bar (trend)":                   restoreColor,
	} {
		require.Greater(t, near(colour), 150, "%s (%s) not painted: the charts did not render", name, colour)
	}
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}
