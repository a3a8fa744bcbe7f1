package localcloud_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

func authorizeSSH(t *testing.T, cl *ecs.Client, region, group string) {
	t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = region, group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
}

// TestLocalFromAnotherProcess starts `porthygiene local` as its own process,
// then acts on it from this one with the plain SDK and the control API only.
func TestLocalFromAnotherProcess(t *testing.T) {
	guardDir, err := lctest.Build("guard")
	require.NoError(t, err)
	approveDir, err := lctest.Build("approve")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "porthygiene")
	build := exec.Command("go", "build", "-o", bin, "./cmd/porthygiene")
	build.Dir = lctest.RepoRoot()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	epFile := filepath.Join(t.TempDir(), "endpoints.json")
	cmd := exec.Command(bin, "local", "--addr", "127.0.0.1:0", "--endpoints-file", epFile,
		"--config", filepath.Join(lctest.RepoRoot(), "s.yaml"), "--code-dir", "guard="+guardDir, "--code-dir", "approve="+approveDir)
	cmd.Env = append(os.Environ(), "DINGTALK_ROBOTS=", "ECS_ENDPOINT=")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.After(60 * time.Second)
	for started := false; !started; {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "porthygiene local exited before listening")
			started = strings.HasPrefix(l, "localcloud listening on")
		case <-deadline:
			t.Fatal("porthygiene local did not start")
		}
	}
	go func() {
		for range lines {
		}
	}()

	var ep localcloud.Endpoints
	data, err := os.ReadFile(epFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &ep))
	require.NotEmpty(t, ep.AccessKeyID)

	cl, err := ecs.NewClientWithOptions(ep.Region, sdk.NewConfig(), credentials.NewAccessKeyCredential(ep.AccessKeyID, ep.AccessKeySecret))
	require.NoError(t, err)
	cl.Domain = ep.Addr
	authorizeSSH(t, cl, ep.Region, "sg-web")

	get := func(path string, v any) {
		resp, err := http.Get("http://" + ep.Addr + "/_localcloud/" + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, "%s", body)
		require.NoError(t, json.Unmarshal(body, v))
	}
	var invs struct {
		Invocations []struct {
			Function, Trigger, Status string
		} `json:"invocations"`
	}
	var msgs struct {
		Messages []struct{ Robot, Title, Text string } `json:"messages"`
	}
	require.Eventually(t, func() bool {
		get("invocations", &invs)
		get("dingtalk/messages", &msgs)
		for _, in := range invs.Invocations {
			if in.Trigger == "actiontrail-events" && in.Status == "ok" && len(msgs.Messages) > 0 {
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "the ActionTrail event reaches the guard and a DingTalk message is kept: %+v", invs)
	require.Contains(t, msgs.Messages[0].Text, "sg-web")

	// An interrupt stops it cleanly.
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("porthygiene local did not stop on SIGINT")
	}
}

func TestFaultsReachTheSDKAndTheFunctions(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard")
	cl := lctest.ECS(t, c)

	// A throttled call is seen by the SDK as a Throttling error code.
	c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "DescribeSecurityGroups", ThrottleRatio: 1}}})
	req := ecs.CreateDescribeSecurityGroupsRequest()
	req.RegionId = c.Region()
	_, err := cl.DescribeSecurityGroups(req)
	var se *sdkerrors.ServerError
	require.True(t, errors.As(err, &se), "want a ServerError, got %v", err)
	require.True(t, strings.HasPrefix(se.ErrorCode(), "Throttling"), "code %s", se.ErrorCode())

	// A duplicated event reaches the function twice.
	c.SetFaults(faults.Config{DuplicateEvents: true})
	authorizeSSH(t, cl, c.Region(), "sg-db")
	lctest.Settle(t, c)
	n := 0
	for _, in := range c.Runtime.Invocations() {
		// The guard's own revoke arrives by EventBridge too (and is ignored):
		// count the deliveries of the human's call.
		if in.Trigger == "actiontrail-events" && !strings.Contains(in.Response, "caused by our own role") {
			n++
		}
	}
	require.Equal(t, 2, n, "one AuthorizeSecurityGroup, duplicated by the fault: two deliveries")
}

func TestSeedIsStrict(t *testing.T) {
	_, err := localcloud.ParseSeed([]byte(`{"Regions":[],"Robtos":[]}`))
	require.ErrorContains(t, err, "Robtos")
	require.NotNil(t, localcloud.DefaultSeed())
}

func TestControlAPIRejectsBadInput(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	for _, tc := range []struct{ path, body, want string }{
		{"clock/advance", `{"duration":"soon"}`, "duration"},
		{"clock/advance", `{"duraton":"1h"}`, "duraton"},
		{"traffic", `[{"eni":"eni-nope","dstport":22}]`, "eni-nope"},
		{"faults", `{"throttle":1}`, "throttle"},
	} {
		resp, err := http.Post(c.URL()+"/_localcloud/"+tc.path, "application/json", strings.NewReader(tc.body))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 400, resp.StatusCode, "%s %s", tc.path, body)
		require.Contains(t, string(body), tc.want)
	}
}

func TestTrafficBecomesFlowLogs(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	body := `[{"eni":"eni-web-1","srcaddr":"198.51.100.7","srcport":40000,"dstport":443},
	          {"eni":"eni-web-1","srcaddr":"198.51.100.7","srcport":40001,"dstport":3306},
	          {"eni":"eni-db-1","logStatus":"NODATA"}]`
	resp, err := http.Post(c.URL()+"/_localcloud/traffic", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	rows, err := c.SLS.Query("vpc-flowlog-demo", "flowlog", c.Clock.Now().Add(-time.Hour), c.Clock.Now().Add(time.Hour),
		`* | select "eni-id", dstport, action, "log-status" order by dstport`)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	got := map[string]string{}
	for _, r := range rows {
		got[r["eni-id"]+"/"+r["dstport"]] = r["action"] + "/" + r["log-status"]
	}
	// 443 is open to the world on sg-web; 3306 is not: the SG decides the action.
	require.Equal(t, "ACCEPT/OK", got["eni-web-1/443"])
	require.Equal(t, "REJECT/OK", got["eni-web-1/3306"])
	require.Equal(t, "-/NODATA", got["eni-db-1/-"])
}

// TestECSRateLimitIsToldToTheFunctions: localcloud's ECS refuses calls above
// its rate limit (Throttling.User, as real ECS's flow control does, whatever
// faults are set), and tells the functions that limit as their
// PORTHYGIENE_ECS_QPS, so that they pace at what this ECS allows — unless the
// environment names a pace.
func TestECSRateLimitIsToldToTheFunctions(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{ECSRateLimit: 5}, "guard")
	qps := func(c *localcloud.Cloud) string {
		for _, fn := range c.Project.Functions {
			if fn.Resource == "guard" {
				return fn.Env["PORTHYGIENE_ECS_QPS"]
			}
		}
		t.Fatal("no guard")
		return ""
	}
	require.Equal(t, "5", qps(c))
	c.SetFaults(faults.Config{})
	cl := lctest.ECS(t, c)
	throttled := 0
	for range 20 {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = c.Region()
		_, err := cl.DescribeSecurityGroups(req)
		var se *sdkerrors.ServerError
		if errors.As(err, &se) && se.ErrorCode() == "Throttling.User" {
			throttled++
		} else {
			require.NoError(t, err)
		}
	}
	require.GreaterOrEqual(t, throttled, 10, "20 calls at once, 5 a second allowed (a second's burst)")

	env := lctest.Start(t, localcloud.Options{Getenv: func(k string) string {
		if k == "PORTHYGIENE_ECS_QPS" {
			return "7"
		}
		return ""
	}}, "guard")
	require.Equal(t, "7", qps(env), "the environment's pace wins")
	def := lctest.Start(t, localcloud.Options{}, "guard")
	require.Equal(t, "2000", qps(def), "localcloud.DefaultECSRateLimit")
}
