package localcloud_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sls "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/gogo/protobuf/proto"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
)

// indexWorldYAML declares one function that writes a ledger and reads an
// ActionTrail logstore by an SLS trigger; its binary is never started.
const indexWorldYAML = `edition: 3.0.0
name: index-world
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: fn
      runtime: go1
      handler: main
      code: ./dist/fn
      role: fn-role
      environmentVariables:
        LEDGER_PROJECT: ph-ledger
        LEDGER_LOGSTORE: ledger
      triggers:
        - triggerName: trail
          triggerType: log
          sourceArn: acs:log:cn-hangzhou:1234567890123456:project/ph-trail
          triggerConfig:
            sourceConfig:
              logstore: actiontrail_main
            jobConfig:
              maxRetryTime: 3
              triggerInterval: 60
            logConfig:
              project: ph-ledger
              logstore: trigger-log
            enable: true
`

// slsClient is the unmodified log SDK with the operator's keys, dialing c.
func slsClient(t *testing.T, c *localcloud.Cloud) sls.ClientInterface {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, c.Addr())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	op := c.Operator()
	cl := sls.CreateNormalInterface("http://cn-hangzhou.log.aliyuncs.com", op.AccessKeyID, op.AccessKeySecret, "")
	cl.SetHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: tr})
	cl.SetRetryTimeout(time.Second)
	return cl
}

func TestWorldIndexesTheLogstoresAnAccountHasIndexed(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(indexWorldYAML), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "dist", "fn"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dist", "fn", "main"), []byte("#!/bin/sh\n"), 0o755))
	seed := localcloud.DefaultSeed()
	seed.Projects = []localcloud.SeedProject{{Name: "seeded", Logstores: []localcloud.SeedLogstore{{Name: "indexed"}, {Name: "bare", NoIndex: true}}}}
	c, err := localcloud.Start(localcloud.Options{Config: filepath.Join(dir, "s.yaml"), Seed: seed, Getenv: func(string) string { return "" }})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	cl := slsClient(t, c)

	now := c.Clock.Now()
	query := func(project, logstore string) error {
		_, err := cl.GetLogsV3(project, logstore, &sls.GetLogRequest{From: now.Add(-time.Hour).Unix(), To: now.Add(time.Hour).Unix(), Query: "*"})
		return err
	}
	for _, ls := range [][2]string{
		{"ph-ledger", "ledger"},          // the operator's setup indexes the ledger
		{"ph-trail", "actiontrail_main"}, // ActionTrail creates its logstore with an index
		{"vpc-flowlog-demo", "flowlog"},  // so do VPC flow logs
		{"seeded", "indexed"},            // seed logstores, by default
	} {
		require.NoError(t, query(ls[0], ls[1]), "%s/%s is queryable", ls[0], ls[1])
	}
	for _, ls := range [][2]string{
		{"seeded", "bare"},           // NoIndex in the seed
		{"ph-ledger", "trigger-log"}, // the trigger's own log needs none
	} {
		err := query(ls[0], ls[1])
		var se *sls.Error
		require.ErrorAs(t, err, &se, "%s/%s", ls[0], ls[1])
		require.Equal(t, "IndexConfigNotExist", se.Code, "%s/%s", ls[0], ls[1])
		require.EqualValues(t, 400, se.HTTPCode)
	}
}

func TestIndexDelayOptionAndControlAPI(t *testing.T) {
	c, err := localcloud.Start(localcloud.Options{Seed: localcloud.DefaultSeed(), SLSIndexDelay: 3 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.Equal(t, 3*time.Second, c.SLS.IndexDelay())

	control := func(method, body string) (int, map[string]string) {
		req, err := http.NewRequestWithContext(t.Context(), method, c.URL()+"/_localcloud/sls/index-delay", strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		return resp.StatusCode, m
	}
	code, m := control("GET", "")
	require.Equal(t, 200, code)
	require.Equal(t, "3s", m["indexDelay"])

	// With the delay, a flow-log record is pulled at once but not searched.
	cl := slsClient(t, c)
	now := c.Clock.Now()
	lg := &sls.LogGroup{Logs: []*sls.Log{{Time: proto.Uint32(uint32(now.Unix())),
		Contents: []*sls.LogContent{{Key: proto.String("id"), Value: proto.String("fresh")}}}}}
	require.NoError(t, cl.PutLogs("vpc-flowlog-demo", "flowlog", lg))
	search := func() int {
		res, err := cl.GetLogsV3("vpc-flowlog-demo", "flowlog", &sls.GetLogRequest{From: now.Unix(), To: now.Unix() + 1, Query: "id:fresh"})
		require.NoError(t, err)
		return len(res.Logs)
	}
	require.Zero(t, search(), "inside the 3 s delay")

	code, m = control("POST", `{"indexDelay":"0s"}`)
	require.Equal(t, 200, code)
	require.Equal(t, "0s", m["indexDelay"])
	require.Zero(t, c.SLS.IndexDelay())
	require.Equal(t, 1, search(), "searchable once the delay is 0")

	for _, bad := range []string{`{"indexDelay":"-1s"}`, `{"indexDelay":"soon"}`, `{"delay":"1s"}`} {
		code, m = control("POST", bad)
		require.Equal(t, 400, code, bad)
		require.NotEmpty(t, m["error"])
	}
	require.Zero(t, c.SLS.IndexDelay(), "a refused request changes nothing")
}
