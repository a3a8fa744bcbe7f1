package sls_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/gogo/protobuf/proto"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/sls"
)

const (
	benchRecords  = 1_000_000
	benchPerGroup = 1000
)

// flowGroup returns group n of a synthetic flow-log load: 1,000 ENIs, 50,000
// source addresses, a few hot ports, 80% ACCEPT, spread over 7 days.
func flowGroup(n int) sls.LogGroupInput {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	ports := []string{"22", "80", "443", "3389", "3306", "8080"}
	in := sls.LogGroupInput{Topic: "flow_log", Logs: make([]sls.Log, benchPerGroup)}
	for i := range in.Logs {
		at := start.Add(time.Duration(r.IntN(7*24*3600)) * time.Second)
		eni := "eni-" + strconv.Itoa(r.IntN(1000))
		dport := ports[r.IntN(len(ports))]
		if r.IntN(4) == 0 {
			dport = strconv.Itoa(1024 + r.IntN(60000))
		}
		action := "ACCEPT"
		if r.IntN(5) == 0 {
			action = "REJECT"
		}
		in.Logs[i] = sls.Log{Time: at, Contents: [][2]string{
			{"version", "1"}, {"account-id", "1234567890123456"}, {"region", "cn-hangzhou"},
			{"vpc-id", "vpc-1"}, {"vswitch-id", "vsw-1"}, {"eni-id", eni}, {"vm-id", "i-" + eni[4:]},
			{"srcaddr", fmt.Sprintf("203.0.%d.%d", r.IntN(196), r.IntN(256))}, {"srcport", strconv.Itoa(1024 + r.IntN(60000))},
			{"dstaddr", "10.0.0." + eni[4:]}, {"dstport", dport}, {"protocol", "6"}, {"direction", "in"},
			{"packets", strconv.Itoa(1 + r.IntN(100))}, {"bytes", strconv.Itoa(60 + r.IntN(100000))},
			{"start", strconv.FormatInt(at.Unix()-600, 10)}, {"end", strconv.FormatInt(at.Unix(), 10)},
			{"action", action}, {"log-status", "OK"}, {"tcp-flags", "2"},
		}}
	}
	return in
}

func loadFlows(tb testing.TB, srv *sls.Server, groups []sls.LogGroupInput) {
	tb.Helper()
	require.NoError(tb, srv.CreateProject("flow-proj"))
	require.NoError(tb, srv.CreateLogstore("flow-proj", "flows", 2))
	require.NoError(tb, srv.CreateIndex("flow-proj", "flows", nil))
	for _, g := range groups {
		_, err := srv.Append("flow-proj", "flows", g)
		require.NoError(tb, err)
	}
}

func flowGroups() []sls.LogGroupInput {
	groups := make([]sls.LogGroupInput, benchRecords/benchPerGroup)
	for i := range groups {
		groups[i] = flowGroup(i)
	}
	return groups
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// BenchmarkAppend1M appends 1,000,000 flow-log records (1,000 groups of 1,000)
// per op and reports the live heap they take.
func BenchmarkAppend1M(b *testing.B) {
	groups := flowGroups()
	base := heapMiB()
	b.ResetTimer()
	for b.Loop() {
		srv := sls.New(sls.Config{})
		loadFlows(b, srv, groups)
		b.StopTimer()
		b.ReportMetric(heapMiB()-base, "MiB-heap")
		runtime.KeepAlive(srv)
		b.StartTimer()
	}
}

// BenchmarkQuery1M runs GetLogs-engine queries over 1,000,000 records.
func BenchmarkQuery1M(b *testing.B) {
	srv := sls.New(sls.Config{})
	loadFlows(b, srv, flowGroups())
	from, to := start, start.Add(8*24*time.Hour)
	for _, q := range []struct{ name, query string }{
		{"GroupedCount", `* | select "eni-id", count(*) as c group by "eni-id" order by c desc limit 10`},
		{"FilteredGroupedSum", `action:REJECT and dstport:22 | select srcaddr, count(*) as c, sum(bytes) as b group by srcaddr order by b desc limit 10`},
		{"WhereGroupedCount", `* | select dstport, count(*) as c where action = 'ACCEPT' and packets > 50 group by dstport order by c desc limit 5`},
		{"CountDistinct", `"log-status":OK | select "eni-id", count(distinct srcaddr) as n group by "eni-id" order by n desc limit 3`},
		{"SearchPage", `"eni-id":eni-42 and action:REJECT`},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := srv.Query("flow-proj", "flows", from, to, q.query)
				if err != nil || len(rows) == 0 {
					b.Fatalf("query: %v, %d rows", err, len(rows))
				}
			}
		})
	}
}

// BenchmarkGetLogsSDK1M is GroupedCount through the unmodified SDK (HTTP, signing, JSON).
func BenchmarkGetLogsSDK1M(b *testing.B) {
	f := newFixture(b)
	loadFlows(b, f.srv, flowGroups())
	c := f.client(b, f.user)
	req := &sdk.GetLogRequest{From: start.Unix(), To: start.Add(8 * 24 * time.Hour).Unix(),
		Query: `* | select "eni-id", count(*) as c group by "eni-id" order by c desc limit 10`}
	for b.Loop() {
		res, err := c.GetLogsV3("flow-proj", "flows", req)
		if err != nil || len(res.Logs) != 10 {
			b.Fatalf("GetLogsV3: %v", err)
		}
	}
}

// BenchmarkPutLogsSDK sends one lz4 group of 1,000 flow records per op.
func BenchmarkPutLogsSDK(b *testing.B) {
	f := newFixture(b)
	require.NoError(b, f.srv.CreateProject("flow-proj"))
	require.NoError(b, f.srv.CreateLogstore("flow-proj", "flows", 2))
	c := f.client(b, f.user)
	in := flowGroup(1)
	lg := &sdk.LogGroup{Topic: proto.String(in.Topic)}
	for _, l := range in.Logs {
		sl := &sdk.Log{Time: proto.Uint32(uint32(l.Time.Unix()))}
		for _, kv := range l.Contents {
			sl.Contents = append(sl.Contents, &sdk.LogContent{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
		}
		lg.Logs = append(lg.Logs, sl)
	}
	for b.Loop() {
		if err := c.PutLogs("flow-proj", "flows", lg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchPerGroup*b.N)/b.Elapsed().Seconds(), "records/s")
}
