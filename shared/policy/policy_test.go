package policy

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefault(t *testing.T) {
	p := Default()
	require.NoError(t, p.Validate())
	require.Equal(t, "default.yaml", p.Name())

	// The catalog the issue requires, with protocols and severities.
	want := map[string][]int{
		"ssh": {22}, "telnet": {23}, "ftp": {21}, "rdp": {3389}, "smb": {445}, "mysql": {3306},
		"postgresql": {5432}, "mssql": {1433}, "oracle": {1521}, "redis": {6379}, "memcached": {11211},
		"mongodb": {27017}, "elasticsearch": {9200, 9300}, "docker": {2375, 2376}, "kubelet": {10250}, "vnc": {5900},
	}
	for name, ports := range want {
		s, ok := p.Services[name]
		require.True(t, ok, "service %s missing", name)
		require.Equal(t, ports, s.Ports, name)
		require.True(t, s.HasProtocol("tcp"), name)
		require.NotZero(t, s.Severity.Rank(), name)
	}
	require.True(t, p.Services["memcached"].HasProtocol("udp"), "memcached is also udp")
	require.False(t, p.Services["ssh"].HasProtocol("udp"), "ssh is tcp only")

	require.Equal(t, []int{80, 443}, p.InternetAllowedPorts)
	require.Equal(t, SeverityLow, p.OtherPorts)
	require.Equal(t, Thresholds{IPv4PrefixLen: 8, IPv6PrefixLen: 16}, p.Thresholds)
	require.False(t, p.Egress)
	require.Equal(t, Exemptions{TagKey: "porthygiene-exempt", Marker: "porthygiene-exempt", MaxDays: 90, WarnDays: 7}, p.Exemptions)
	require.Equal(t, Modes{Guard: ModeNotify, Reaper: ModeNotify, Replicator: ModeNotify}, p.Modes)
	all := []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}
	require.Equal(t, Enforce{Guard: []Severity{SeverityCritical, SeverityHigh}, Reaper: all, Replicator: all}, p.Enforce)
	require.Empty(t, p.Scopes)
	require.Equal(t, 20, p.MaxChangesPerRun)
	require.Nil(t, p.Replace)

	// Each call is a fresh copy.
	p.Services["ssh"] = Service{}
	require.Equal(t, []int{22}, Default().Services["ssh"].Ports)
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n"} {
		p, err := Parse([]byte(in), "policy.yaml")
		require.NoError(t, err, "%q", in)
		d := Default()
		d.src, p.src = nil, nil
		require.Equal(t, d, p, "%q", in)
	}
}

func TestParseOverride(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "good-override.yaml"))
	require.NoError(t, err)
	require.Equal(t, "good-override.yaml", p.Name())
	// Added, replaced, disabled; the rest of the catalog kept.
	require.Equal(t, Service{Ports: []int{8080, 8443}, Protocols: []string{"tcp"}, Severity: SeverityMedium}, p.Services["myapp"])
	require.Equal(t, SeverityCritical, p.Services["mysql"].Severity)
	require.Equal(t, []int{3306, 33060}, p.Services["mysql"].Ports)
	require.NotContains(t, p.Services, "ftp")
	require.Contains(t, p.Services, "ssh")
	// Lists replace; scalars given override; omitted keys keep the default.
	require.Equal(t, []int{443}, p.InternetAllowedPorts)
	require.True(t, p.Egress)
	require.Equal(t, Modes{Guard: ModeEnforce, Reaper: ModeNotify, Replicator: ModeNotify}, p.Modes)
	require.Equal(t, Default().Enforce, p.Enforce, "enforce left out keeps the default lists")
	require.Equal(t, 5, p.MaxChangesPerRun)
	require.Equal(t, Thresholds{8, 16}, p.Thresholds)
	require.NotNil(t, p.Replace)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.7/32")},
		p.Replace.TrustedPrefixes())
	require.Equal(t, "pl-bp1office", p.Replace.TrustedPrefixList)
}

// TestBadFiles checks one testdata/bad-*.yaml per invalid shape; the first
// line of each says "# error: <expected error text>".
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad-*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			first, _, _ := bytes.Cut(data, []byte("\n"))
			want, ok := strings.CutPrefix(string(first), "# error: ")
			require.True(t, ok, "first line must be '# error: …'")
			_, err = Load(path)
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
			// One problem, one line: the CLI prints errors on one line.
			require.Equal(t, 1, countLines(err.Error()), "error: %v", err)
		})
	}
}

func countLines(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		n++
	}
	return n
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "load policy")
}

func TestValidateByHand(t *testing.T) {
	// A policy built by hand has no file: errors name the field only.
	p := Default()
	p.src = nil
	p.Thresholds.IPv4PrefixLen = 40
	p.Modes.Reaper = "yolo"
	err := p.Validate()
	require.EqualError(t, err, "thresholds.ipv4PrefixLen: 40 out of range 0..32\nmodes.reaper: unknown mode \"yolo\" (want enforce, notify or dry-run)")
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "thresholds.ipv4PrefixLen", fe.Field)
}

func TestSeverityRank(t *testing.T) {
	require.Greater(t, SeverityCritical.Rank(), SeverityHigh.Rank())
	require.Greater(t, SeverityHigh.Rank(), SeverityMedium.Rank())
	require.Greater(t, SeverityMedium.Rank(), SeverityLow.Rank())
	require.Greater(t, SeverityLow.Rank(), SeverityNone.Rank())
}

func FuzzParse(f *testing.F) {
	// Small seeds only: the fuzzer minimizes every new input, which takes
	// long on big ones (so default.yaml itself is not a seed).
	f.Add([]byte("services:\n  web: {ports: [8080], protocols: [tcp], severity: low}\nmodes: {guard: enforce}\n"))
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid policy: %v", err)
		}
	})
}
