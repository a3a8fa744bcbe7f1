package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/exposure"
)

var updateEvaluateGolden = flag.Bool("update-evaluate", false, "rewrite testdata/evaluate-*.golden.json")

// runCLI runs the CLI with args and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(t.Context(), env, args)
	return code, stdout.String(), stderr.String()
}

func td(name string) string { return filepath.Join("testdata", name) }

const fixedNow = "2026-03-01T12:00:00Z"

func decodeOutput(t *testing.T, stdout string) evaluateOutput {
	t.Helper()
	var out evaluateOutput
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out), "stdout: %s", stdout)
	return out
}

func ruleIDs(fs []exposure.Finding) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.RuleID)
	}
	return ids
}

func TestEvaluateFindings(t *testing.T) {
	code, stdout, stderr := runCLI(t, "evaluate", "--attribute", td("evaluate-open.json"), "--now", fixedNow)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Empty(t, stderr)

	out := decodeOutput(t, stdout)
	require.Equal(t, "sg-bp1open0000000000001", out.GroupID)
	require.Equal(t, "cn-hangzhou", out.Region)
	require.Equal(t, "default.yaml", out.Policy)
	require.Equal(t, fixedNow, out.EvaluatedAt)
	require.Equal(t, 8, out.Rules)
	// ssh from the world; rdp is dropped at a higher priority; the IPv6 ALL
	// rule exposes everything else; 443 is allowed; GRE is not ssh; the
	// office prefix list is unresolved, so unknown; the bastion is exempt.
	require.Equal(t, []string{"sgr-ssh-world", "sgr-all-v6", "sgr-office-db"}, ruleIDs(out.Findings))
	require.Equal(t, []string{"sgr-bastion"}, ruleIDs(out.Exempted))

	ssh := out.Findings[0]
	require.Equal(t, "ingress", string(ssh.Direction))
	require.Equal(t, "tcp", string(ssh.Protocol))
	require.Equal(t, "0.0.0.0/0", ssh.Source)
	require.Equal(t, []int{22}, ssh.Ports)
	require.Equal(t, []string{"ssh"}, ssh.Services)
	require.Equal(t, "critical", string(ssh.Severity))
	require.Equal(t, "tcp 22 (ssh) open to the internet from 0.0.0.0/0", ssh.Reason)

	all := out.Findings[1]
	require.Equal(t, "all", string(all.Protocol))
	require.Equal(t, "::/0", all.Source)
	require.Contains(t, all.Ports, 3389, "the v4 drop does not cover IPv6")
	require.IsIncreasing(t, all.Ports)
	require.NotEmpty(t, all.OtherPorts)

	require.True(t, out.Findings[2].Unknown)
	require.Equal(t, "pl-bp1office", out.Findings[2].Source)

	require.Equal(t, "description", out.Exempted[0].Exempt.Source)
	require.Equal(t, "alice", out.Exempted[0].Exempt.Owner)

	golden := td("evaluate-open.golden.json")
	if *updateEvaluateGolden {
		require.NoError(t, os.WriteFile(golden, []byte(stdout), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run with -update-evaluate to create it")
	require.JSONEq(t, string(want), stdout)
}

func TestEvaluateNoFindings(t *testing.T) {
	code, stdout, stderr := runCLI(t, "evaluate", "--attribute", td("evaluate-clean.json"), "--now", fixedNow)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Contains(t, stdout, `"findings": []`)
	require.Contains(t, stdout, `"exempted": []`)
	require.Empty(t, decodeOutput(t, stdout).Findings)
}

func TestEvaluatePolicyFile(t *testing.T) {
	// egress: true makes the egress ssh rule a finding.
	code, stdout, stderr := runCLI(t, "evaluate", "--attribute", td("evaluate-clean.json"), "--policy", td("evaluate-policy.yaml"), "--now", fixedNow)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	out := decodeOutput(t, stdout)
	require.Equal(t, "evaluate-policy.yaml", out.Policy)
	require.Equal(t, []string{"sgr-egress-ssh"}, ruleIDs(out.Findings))
	require.Equal(t, "egress", string(out.Findings[0].Direction))
}

func TestEvaluatePrefixListsAndTags(t *testing.T) {
	code, stdout, stderr := runCLI(t, "evaluate", "--attribute", td("evaluate-open.json"),
		"--prefix-lists", td("evaluate-prefix-lists.json"), "--tags", td("evaluate-tags.json"), "--now", fixedNow)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	out := decodeOutput(t, stdout)
	// The office list holds no internet-wide entry; the tag exempts port 22
	// (of every rule of the group) until the end of 2026-04-30.
	require.Equal(t, []string{"sgr-all-v6"}, ruleIDs(out.Findings))
	require.NotContains(t, out.Findings[0].Ports, 22)
	require.Equal(t, []string{"sgr-ssh-world", "sgr-all-v6", "sgr-bastion"}, ruleIDs(out.Exempted))
	require.Equal(t, "tag", out.Exempted[0].Exempt.Source)
	require.Equal(t, []int{22}, out.Exempted[1].Ports)

	// After the tag expires, ssh is back, and the reason says why.
	code, stdout, _ = runCLI(t, "evaluate", "--attribute", td("evaluate-open.json"),
		"--prefix-lists", td("evaluate-prefix-lists.json"), "--tags", td("evaluate-tags.json"), "--now", "2026-05-01T00:00:00Z")
	require.Equal(t, 0, code)
	out = decodeOutput(t, stdout)
	require.Equal(t, []string{"sgr-ssh-world", "sgr-all-v6"}, ruleIDs(out.Findings))
	require.Contains(t, out.Findings[0].Reason, "expired 2026-04-30 (owner bob)")
}

func TestEvaluatePaging(t *testing.T) {
	code, stdout, stderr := runCLI(t, "evaluate", "--attribute", td("evaluate-page1.json"), "--attribute", td("evaluate-page2.json"), "--now", fixedNow)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	out := decodeOutput(t, stdout)
	require.Equal(t, 2, out.Rules)
	require.Equal(t, []string{"sgr-p2"}, ruleIDs(out.Findings))
	require.Equal(t, []string{"redis"}, out.Findings[0].Services)
}

func TestEvaluateErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // substring of the one-line error
	}{
		{name: "MissingAttribute", args: nil, want: "--attribute is required"},
		{name: "Unreadable", args: []string{"--attribute", td("nope.json")}, want: "read --attribute: open testdata/nope.json: no such file"},
		{name: "Malformed", args: []string{"--attribute", td("evaluate-malformed.json")}, want: "evaluate-malformed.json: parse security group attribute: unexpected end of JSON input"},
		{name: "BadRule", args: []string{"--attribute", td("evaluate-bad-rule.json")}, want: `permission 0: rule sgr-bad: invalid port range "22"`},
		{name: "MissingPage", args: []string{"--attribute", td("evaluate-page1.json")}, want: "more rules follow"},
		{name: "PagesOfTwoGroups", args: []string{"--attribute", td("evaluate-page1.json"), "--attribute", td("evaluate-clean.json")}, want: "does not match"},
		{name: "BadPolicy", args: []string{"--attribute", td("evaluate-clean.json"), "--policy", td("evaluate-bad-policy.yaml")}, want: `evaluate-bad-policy.yaml:5: unknown key "sevrity" in services.ssh`},
		{name: "InternetWideTrust", args: []string{"--attribute", td("evaluate-clean.json"), "--policy", td("evaluate-wide-trust-policy.yaml")}, want: `evaluate-wide-trust-policy.yaml:3: replace.trustedCidrs[0]: 0.0.0.0/0 is internet-wide`},
		{name: "MissingPolicy", args: []string{"--attribute", td("evaluate-clean.json"), "--policy", td("nope.yaml")}, want: "load policy"},
		{name: "BadPrefixList", args: []string{"--attribute", td("evaluate-clean.json"), "--prefix-lists", td("evaluate-prefix-lists-bad.json")}, want: `prefix list pl-bp1office: invalid CIDR "198.51.100.0/33"`},
		{name: "PrefixListsNotObject", args: []string{"--attribute", td("evaluate-clean.json"), "--prefix-lists", td("evaluate-tags.json")}, want: "want a JSON object mapping prefix-list ids"},
		{name: "TagsNotObject", args: []string{"--attribute", td("evaluate-clean.json"), "--tags", td("evaluate-prefix-lists.json")}, want: "want a JSON object of tag keys"},
		{name: "BadNow", args: []string{"--attribute", td("evaluate-clean.json"), "--now", "yesterday"}, want: `--now "yesterday"`},
		{name: "UnknownFlag", args: []string{"--atribute", td("evaluate-clean.json")}, want: "flag provided but not defined: -atribute"},
		{name: "Positional", args: []string{"--attribute", td("evaluate-clean.json"), "extra"}, want: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"evaluate"}, tt.args...)...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Empty(t, stdout)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1] // flag errors print the usage first
			require.True(t, strings.HasPrefix(last, "porthygiene evaluate: "), "stderr: %s", stderr)
			require.Contains(t, last, tt.want)
			require.NotContains(t, stderr, "goroutine", "no stack traces")
		})
	}
}

func TestEvaluateHelp(t *testing.T) {
	code, stdout, stderr := runCLI(t, "evaluate", "--help")
	require.Equal(t, 0, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "usage: porthygiene evaluate --attribute FILE")
	require.Contains(t, stderr, "-prefix-lists")
}
