package main

// Helpers of the red-team tests (issue 10's closing run): the operator CLI
// built once and run as a user runs it, against localcloud's endpoints file,
// and small readers of what localcloud saw. Shared by the redteam tests.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary builds cmd/porthygiene once per test process.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "porthygiene-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "porthygiene")
		cmd := exec.Command("go", "build", "-o", cliPath, "./cmd/porthygiene")
		cmd.Dir = lctest.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("build cmd/porthygiene: %v\n%s", err, out)
		}
	})
	require.NoError(t, cliErr)
	return cliPath
}

// porthygiene runs the CLI with a clean environment and returns its exit
// code, stdout and stderr.
func porthygiene(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return porthygieneTimeout(t, 60*time.Second, args...)
}

func porthygieneTimeout(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), cliBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return -1, out.String(), errb.String()
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// endpointsFile writes c's endpoints as `porthygiene local --endpoints-file` does.
func endpointsFile(t *testing.T, c *localcloud.Cloud) string {
	t.Helper()
	data, err := json.Marshal(c.Endpoints())
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "endpoints.json")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// texts are the DingTalk messages' texts.
func (e *env) texts() []string {
	var out []string
	for _, m := range e.cloud.DingTalk.Messages("") {
		out = append(out, m.Title+"\n"+m.Text)
	}
	return out
}

// told reports whether some message contains every one of subs.
func (e *env) told(subs ...string) bool {
	for _, m := range e.texts() {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(m, s)
		}
		if all {
			return true
		}
	}
	return false
}

// ruleIDOf is the id of the group's ingress rule "PROTO PORTS PEER POLICY".
func (e *env) ruleIDOf(group, want string) string {
	e.t.Helper()
	for _, p := range e.rulesFull(group) {
		peer := p.SourceCidrIp + p.Ipv6SourceCidrIp + p.SourceGroupId + p.SourcePrefixListId
		if fmt.Sprintf("%s %s %s %s", p.IpProtocol, p.PortRange, peer, p.Policy) == want {
			return p.SecurityGroupRuleId
		}
	}
	return ""
}

// egress lists the group's egress rules as "PROTO PORTS PEER POLICY".
func (e *env) egress(group string) []string {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = e.cloud.Region(), group, "egress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	var out []string
	for _, p := range resp.Permissions.Permission {
		if p.Direction != "egress" {
			continue
		}
		peer := p.DestCidrIp + p.Ipv6DestCidrIp + p.DestGroupId + p.DestPrefixListId
		out = append(out, fmt.Sprintf("%s %s %s %s", p.IpProtocol, p.PortRange, peer, p.Policy))
	}
	return out
}

// everything is every text a person or an attacker with read access to the
// functions' output could see: logs, invocation responses and errors,
// DingTalk bodies and the whole ledger (as the CLI prints it).
func (e *env) everything(ep string) string {
	var b strings.Builder
	b.WriteString(e.cloud.Runtime.Logs("porthygiene-guard"))
	b.WriteString(e.cloud.Runtime.Logs("porthygiene-approve"))
	for _, inv := range e.cloud.Runtime.Invocations() {
		b.WriteString(inv.Error + "\n" + inv.Response + "\n")
	}
	for _, m := range e.cloud.DingTalk.Messages("") {
		b.Write(m.Raw)
	}
	for _, a := range e.cloud.DingTalk.Attempts() {
		b.WriteString(a.ErrMsg + "\n")
	}
	if ep != "" {
		_, out, errOut := porthygiene(e.t, "ledger", "--endpoints", ep, "--since", "3650d", "--json")
		b.WriteString(out + errOut)
	}
	return b.String()
}

// stsToken matches the security tokens localcloud issues to invocations.
var stsToken = regexp.MustCompile(`CAIS[0-9a-f]{48}`)
