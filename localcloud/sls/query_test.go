package sls_test

import (
	"strconv"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/sls"
)

// flowRecordAt is a VPC flow-log record (aliyun-facts §3.1) with an "id" for
// assertions, logged at seconds after base.
func flowRecordAt(base time.Time, id string, at int, eni, src, srcport, dst, dstport, proto, dir, packets, bytes, action, status string) map[string]string {
	return map[string]string{
		"__time__": strconv.FormatInt(base.Unix()+int64(at), 10),
		"id":       id, "version": "1", "account-id": "1234567890123456", "eni-id": eni, "vm-id": "i-" + eni[4:],
		"srcaddr": src, "srcport": srcport, "dstaddr": dst, "dstport": dstport, "protocol": proto,
		"direction": dir, "packets": packets, "bytes": bytes, "action": action, "log-status": status,
		"start": strconv.FormatInt(base.Unix()+int64(at)-60, 10), "end": strconv.FormatInt(base.Unix()+int64(at), 10),
	}
}

// flowRecordsAt are r1..r8, logged 1..8 s after base.
func flowRecordsAt(base time.Time) []map[string]string {
	return []map[string]string{
		flowRecordAt(base, "r1", 1, "eni-1", "203.0.113.5", "40000", "10.0.0.1", "22", "6", "in", "10", "600", "ACCEPT", "OK"),
		flowRecordAt(base, "r2", 2, "eni-1", "203.0.113.6", "40001", "10.0.0.1", "22", "6", "in", "5", "300", "REJECT", "OK"),
		flowRecordAt(base, "r3", 3, "eni-1", "198.51.100.7", "40002", "10.0.0.1", "3389", "6", "in", "2", "120", "REJECT", "OK"),
		flowRecordAt(base, "r4", 4, "eni-2", "203.0.113.5", "40003", "10.0.0.2", "443", "6", "in", "100", "150000", "ACCEPT", "OK"),
		flowRecordAt(base, "r5", 5, "eni-2", "10.0.0.2", "53000", "8.8.8.8", "53", "17", "out", "1", "80", "ACCEPT", "OK"),
		flowRecordAt(base, "r6", 6, "eni-2", "-", "-", "-", "-", "-", "-", "-", "-", "-", "NODATA"),
		flowRecordAt(base, "r7", 7, "eni-3", "203.0.113.9", "40004", "10.0.0.3", "22", "6", "in", "3", "180", "ACCEPT", "OK"),
		flowRecordAt(base, "r8", 8, "eni-3", "-", "-", "-", "-", "-", "-", "-", "-", "-", "SKIPDATA"),
	}
}

var flowRecords = flowRecordsAt(start)

// putFlowData writes r1..r8 as two groups (on two shards when the emulator
// round-robins), and r0, 100 s before base, outside the ranges most cases query.
func putFlowData(t *testing.T, c sdk.ClientInterface, project, logstore string, base time.Time) {
	t.Helper()
	records := flowRecordsAt(base)
	require.NoError(t, c.PutLogs(project, logstore, groupAt(base, "flow_log", records[4:]...)))
	require.NoError(t, c.PutLogs(project, logstore, groupAt(base, "flow_log", records[:4]...)))
	early := flowRecordAt(base, "r0", -100, "eni-1", "203.0.113.5", "1", "10.0.0.1", "22", "6", "in", "1", "60", "REJECT", "OK")
	require.NoError(t, c.PutLogs(project, logstore, groupAt(base, "flow_log", early)))
}

// indexTokens are SLS's default delimiters: no '-' or '.', so "eni-1" and
// "203.0.113.5" stay whole tokens, as the emulator treats them.
var indexTokens = sdk.CreateDefaultIndex().Line.Token

// contractIndex is the index the contract's query logstore gets on real SLS
// (the emulator stores it and searches every field anyway): full text, and
// every flow-log field as analysable text, except bytes and packets as long,
// which range searches need. dstport stays text so that "dstport:22" searches
// it; the cases that compare it with a number are emulator-only.
func contractIndex() sdk.Index {
	idx := sdk.Index{Line: &sdk.IndexLine{Token: indexTokens}, Keys: map[string]sdk.IndexKey{}}
	for k := range flowRecords[0] {
		switch k {
		case "__time__":
		case "bytes", "packets":
			idx.Keys[k] = sdk.IndexKey{Token: []string{}, Type: "long", DocValue: true}
		default:
			idx.Keys[k] = sdk.IndexKey{Token: indexTokens, Type: "text", DocValue: true}
		}
	}
	return idx
}

const (
	eventAlice = `{"eventId":"e1","eventName":"AuthorizeSecurityGroup","acsRegion":"cn-hangzhou","errorCode":"",` +
		`"userIdentity":{"type":"ram-user","userName":"alice","accessKeyId":"LTAI1"},` +
		`"requestParameters":{"SecurityGroupId":"sg-1","Permissions.1.PortRange":"22/22","Permissions.1.SourceCidrIp":"0.0.0.0/0","DryRun":false,"Priority":1}}`
	eventGuardRevoke = `{"eventId":"e2","eventName":"RevokeSecurityGroup","acsRegion":"cn-hangzhou","errorCode":"",` +
		`"userIdentity":{"type":"assumed-role","userName":"porthygiene-fc:guard","accessKeyId":"STS.x"},` +
		`"requestParameters":{"SecurityGroupId":"sg-1","SecurityGroupRuleId.1":"sgr-1"}}`
	eventGuardAuth = `{"eventId":"e3","eventName":"AuthorizeSecurityGroup","acsRegion":"cn-hangzhou","errorCode":"",` +
		`"userIdentity":{"type":"assumed-role","userName":"porthygiene-fc:guard","accessKeyId":"STS.y"},` +
		`"requestParameters":{"SecurityGroupId":"sg-2","Permissions.1.PortRange":"443/443"}}`
)

func setupQueryData(t *testing.T) (*fixture, sdk.ClientInterface) {
	t.Helper()
	f := newFixture(t)
	c := f.client(t, f.user)
	_, err := c.CreateProject("flow-proj", "")
	require.NoError(t, err)
	require.NoError(t, c.CreateLogStore("flow-proj", "flows", 7, 2, false, 0))
	require.NoError(t, c.CreateLogStore("flow-proj", "actiontrail_main", 7, 1, false, 0))
	require.NoError(t, c.CreateIndex("flow-proj", "flows", *sdk.CreateDefaultIndex()))
	require.NoError(t, c.CreateIndex("flow-proj", "actiontrail_main", *sdk.CreateDefaultIndex()))
	putFlowData(t, c, "flow-proj", "flows", start)
	require.NoError(t, c.PutLogs("flow-proj", "actiontrail_main", group("actiontrail_audit_event",
		map[string]string{"event": eventAlice, "__time__": strconv.FormatInt(start.Unix()+1, 10)},
		map[string]string{"event": eventGuardRevoke, "__time__": strconv.FormatInt(start.Unix()+2, 10)},
		map[string]string{"event": eventGuardAuth, "__time__": strconv.FormatInt(start.Unix()+3, 10)},
	)))
	return f, c
}

func ids(rows []map[string]string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r["id"])
	}
	return out
}

type searchCase struct {
	name, query string
	want        []string // ids, in order
}

// contractSearchCases run in the contract (emulator and, with -integration,
// real SLS with contractIndex) over putFlowData, from base to base+60 s.
var contractSearchCases = []searchCase{
	{"All", "*", []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}},
	{"Empty", "", []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}},
	{"KeyValue", "action:REJECT", []string{"r2", "r3"}},
	{"KeyValueSpaced", "action : REJECT", []string{"r2", "r3"}},
	{"CaseInsensitive", "action:reject", []string{"r2", "r3"}},
	{"Prefix", "srcaddr:203.0.113.*", []string{"r1", "r2", "r4", "r7"}},
	{"QuotedKey", `"eni-id": eni-1`, []string{"r1", "r2", "r3"}},
	{"QuotedKeyAndValue", `"eni-id":"eni-2" and direction:out`, []string{"r5"}},
	{"Or", "action:REJECT or dstport:443", []string{"r2", "r3", "r4"}},
	{"UpperCaseOperators", "action:REJECT OR dstport:443", []string{"r2", "r3", "r4"}},
	{"Not", "not action:ACCEPT", []string{"r2", "r3", "r6", "r8"}},
	{"BinaryNot", `"eni-id":eni-1 not dstport:22`, []string{"r3"}},
	{"AndNot", `"eni-id":eni-1 and not dstport:22`, []string{"r3"}},
	{"Parentheses", `("eni-id":eni-1 or "eni-id":eni-3) and dstport:22`, []string{"r1", "r2", "r7"}},
	{"ImplicitAnd", "direction:in action:ACCEPT", []string{"r1", "r4", "r7"}},
	{"Greater", "bytes > 1000", []string{"r4"}},
	{"GreaterEqual", "bytes >= 300", []string{"r1", "r2", "r4"}},
	{"Less", "packets < 3", []string{"r3", "r5"}},
	{"LessEqual", "packets <= 3", []string{"r3", "r5", "r7"}},
	{"FullText", "REJECT", []string{"r2", "r3"}},
	{"FullTextQuoted", `"NODATA"`, []string{"r6"}},
	{"FullTextValueWithDash", "eni-3", []string{"r7", "r8"}},
	{"FullTextPrefix", "SKIP*", []string{"r8"}},
	{"Topic", "__topic__:flow_log and action:REJECT", []string{"r2", "r3"}},
	{"OtherTopic", "__topic__:other", []string{}},
}

type row = map[string]string

type sqlCase struct {
	name, query string
	want        []row
	keys        []string // meta.keys when set
}

func idRows(ids ...string) []row {
	out := []row{}
	for _, id := range ids {
		out = append(out, row{"id": id})
	}
	return out
}

// contractSQLCases run in the contract like contractSearchCases, over
// putFlowData(base).
func contractSQLCases(base time.Time) []sqlCase {
	return []sqlCase{
		{"CountStar", "* | select count(*) as c", []row{{"c": "8"}}, []string{"c"}},
		{"CountOne", "* | select count(1) as c", []row{{"c": "8"}}, nil},
		{"CountWithSearch", "action:REJECT | select count(*) as c", []row{{"c": "2"}}, nil},
		{"CountEmpty", "action:NOTHING | select count(*) as c, sum(bytes) as s", []row{{"c": "0", "s": "null"}}, nil},
		{"CountDistinct", `* | select count(distinct srcaddr) as n where srcaddr != '-'`, []row{{"n": "5"}}, nil},
		{"SumMaxMin", `* | select sum(bytes) as b, max(bytes) as mx, min(bytes) as mn where action = 'ACCEPT'`,
			[]row{{"b": "150860", "mx": "150000", "mn": "80"}}, nil},
		{"MaxString", `* | select max(action) as a, min("eni-id") as e`, []row{{"a": "REJECT", "e": "eni-1"}}, nil},
		{"Avg", `* | select avg(packets) as a where "eni-id" = 'eni-1'`, []row{{"a": "5.666666666666667"}}, nil},
		{"GroupBy", `* | select "eni-id", count(*) as c group by "eni-id" order by "eni-id"`,
			[]row{{"eni-id": "eni-1", "c": "3"}, {"eni-id": "eni-2", "c": "3"}, {"eni-id": "eni-3", "c": "2"}}, []string{"eni-id", "c"}},
		{"GroupByAliasOrderByAggregate", `* | select "eni-id" as eni, count(*) as c group by eni order by c desc, eni limit 2`,
			[]row{{"eni": "eni-1", "c": "3"}, {"eni": "eni-2", "c": "3"}}, nil},
		{"GroupByPosition", `* | select "eni-id", count(*) group by 1 order by 1 desc`,
			[]row{{"eni-id": "eni-3", "_col1": "2"}, {"eni-id": "eni-2", "_col1": "3"}, {"eni-id": "eni-1", "_col1": "3"}}, []string{"eni-id", "_col1"}},
		{"GroupByTwo", `"log-status":OK | select "eni-id", action, count(*) as c group by "eni-id", action order by "eni-id", action desc`,
			[]row{
				{"eni-id": "eni-1", "action": "REJECT", "c": "2"}, {"eni-id": "eni-1", "action": "ACCEPT", "c": "1"},
				{"eni-id": "eni-2", "action": "ACCEPT", "c": "2"}, {"eni-id": "eni-3", "action": "ACCEPT", "c": "1"},
			}, nil},
		{"OrderByAggregateExpression", `* | select dstport, sum(bytes) as b where dstport != '-' group by dstport order by sum(bytes) desc limit 1`,
			[]row{{"dstport": "443", "b": "150000"}}, nil},
		{"Having", `* | select "eni-id", count(*) as c group by "eni-id" having count(*) > 2 order by "eni-id"`,
			[]row{{"eni-id": "eni-1", "c": "3"}, {"eni-id": "eni-2", "c": "3"}}, nil},
		{"HavingAlias", `* | select "eni-id", count(*) as c group by "eni-id" having c < 3`, []row{{"eni-id": "eni-3", "c": "2"}}, nil},
		{"Columns", `* | select id, "eni-id" where action = 'REJECT' order by id`,
			[]row{{"id": "r2", "eni-id": "eni-1"}, {"id": "r3", "eni-id": "eni-1"}}, []string{"id", "eni-id"}},
		{"Time", `* | select __time__ where id = 'r3'`, []row{{"__time__": strconv.FormatInt(base.Unix()+3, 10)}}, nil},
		{"FromLog", `* | select count(*) as c from log where action = 'REJECT'`, []row{{"c": "2"}}, nil},
		{"EqualString", `* | select id where "eni-id" = 'eni-3' order by id`, idRows("r7", "r8"), nil},
		{"NotEqual", `* | select id where "eni-id" != 'eni-1' and "log-status" = 'OK' order by id`, idRows("r4", "r5", "r7"), nil},
		{"NotEqualAngle", `* | select id where "eni-id" <> 'eni-1' and "log-status" = 'OK' order by id`, idRows("r4", "r5", "r7"), nil},
		{"Greater", `* | select id where bytes > 500 order by id`, idRows("r1", "r4"), nil},
		{"GreaterEqual", `* | select id where bytes >= 300 order by id`, idRows("r1", "r2", "r4"), nil},
		{"LessNumericSkipsDash", `* | select id where bytes < 200 order by id`, idRows("r3", "r5", "r7"), nil},
		{"LessEqual", `* | select id where packets <= 3 order by id`, idRows("r3", "r5", "r7"), nil},
		{"And", `* | select id where action = 'ACCEPT' and direction = 'in' order by id`, idRows("r1", "r4", "r7"), nil},
		{"Not", `* | select id where not (action = 'ACCEPT') order by id`, idRows("r2", "r3", "r6", "r8"), nil},
		{"InStrings", `* | select id where "log-status" in ('NODATA', 'SKIPDATA') order by id`, idRows("r6", "r8"), nil},
		{"Like", `* | select id where srcaddr like '203.0.113.%' order by id`, idRows("r1", "r2", "r4", "r7"), nil},
		{"LikeUnderscore", `* | select id where "eni-id" like 'eni-_' and id like '%8' order by id`, idRows("r8"), nil},
		{"NotLike", `* | select id where srcaddr not like '203.%' order by id`, idRows("r3", "r5", "r6", "r8"), nil},
		{"IsNotNull", `* | select count(*) as c where srcaddr is not null`, []row{{"c": "8"}}, nil},
		{"OrderByDescMulti", `* | select id, action order by action desc, id desc limit 3`,
			[]row{{"id": "r3", "action": "REJECT"}, {"id": "r2", "action": "REJECT"}, {"id": "r7", "action": "ACCEPT"}}, nil},
		{"LimitOffsetComma", `* | select id order by id limit 2, 3`, idRows("r3", "r4", "r5"), nil},
	}
}

// TestGetLogsSearch: the emulator-only search cases (the rest are in
// contractSearchCases): a numeric comparison on dstport (text in contractIndex),
// key existence, and __time__ in the search part.
func TestGetLogsSearch(t *testing.T) {
	_, c := setupQueryData(t)
	from, to := start.Unix(), start.Unix()+60
	cases := []searchCase{
		{"NumericEqual", "dstport = 22", []string{"r1", "r2", "r7"}},
		{"Exists", `"log-status":* and dstport:443`, []string{"r4"}},
		{"Missing", "nosuchkey:*", []string{}},
		{"Time", "__time__ >= " + strconv.FormatInt(start.Unix()+7, 10), []string{"r7", "r8"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.GetLogsV3("flow-proj", "flows", &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
			require.NoError(t, err)
			require.True(t, res.IsComplete())
			require.False(t, res.Meta.HasSQL)
			require.Equal(t, tc.want, ids(res.Logs))
			require.EqualValues(t, len(tc.want), res.Meta.Count)
		})
	}
}

// TestGetLogsSQL: the emulator-only SQL cases (the rest are in
// contractSQLCases): numbers compared with a text field (dstport, "-" in
// bytes), unindexed columns, try_cast to double, SELECT * and LIMIT … OFFSET.
func TestGetLogsSQL(t *testing.T) {
	_, c := setupQueryData(t)
	from, to := start.Unix(), start.Unix()+60
	cases := []sqlCase{
		{"CountColumn", `* | select count("vm-id") as a, count(nosuch) as b`, []row{{"a": "8", "b": "0"}}, nil},
		{"Cast", `* | select sum(cast(bytes as bigint)) as b, sum(try_cast(packets as double)) as p`, []row{{"b": "151280", "p": "121"}}, nil},
		{"Star", `* | select * where id = 'r5'`, []row{func() row {
			r := row{"__topic__": "flow_log", "__source__": "10.1.2.3"}
			for k, v := range flowRecords[4] {
				r[k] = v
			}
			return r
		}()}, nil},
		{"Equal", `* | select id where dstport = 22 order by id`, idRows("r1", "r2", "r7"), nil},
		{"NumericStrings", `* | select id where dstport > '1000' and dstport != '-' order by id`, idRows("r3"), nil},
		{"Or", `* | select id where action = 'REJECT' or dstport = 443 order by id`, idRows("r2", "r3", "r4"), nil},
		{"In", `* | select id where dstport in (22, 3389) order by id`, idRows("r1", "r2", "r3", "r7"), nil},
		{"NotIn", `* | select id where dstport not in (22, 3389) order by id`, idRows("r4", "r5"), nil},
		{"IsNull", `* | select id where nosuch is null and id = 'r1'`, idRows("r1"), nil},
		{"LimitOffsetKeyword", `* | select id order by id limit 3 offset 2`, idRows("r3", "r4", "r5"), nil},
		{"OrderByNumeric", `* | select id, bytes where bytes != '-' order by bytes desc limit 2`,
			[]row{{"id": "r4", "bytes": "150000"}, {"id": "r1", "bytes": "600"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.GetLogsV3("flow-proj", "flows", &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
			require.NoError(t, err)
			require.True(t, res.Meta.HasSQL)
			require.Equal(t, tc.want, res.Logs)
			require.EqualValues(t, len(tc.want), res.Meta.Count)
			if tc.keys != nil {
				require.Equal(t, tc.keys, res.Meta.Keys)
			}
		})
	}
}

func TestGetLogsActionTrailJSON(t *testing.T) {
	_, c := setupQueryData(t)
	from, to := start.Unix(), start.Unix()+60
	cases := []struct {
		name, query string
		want        []row
	}{
		{"NestedSearch", `__topic__:actiontrail_audit_event and event.eventName:AuthorizeSecurityGroup | select "event.eventId" as id order by id`,
			[]row{{"id": "e1"}, {"id": "e3"}}},
		{"TwoLevels", `event.userIdentity.type:assumed-role | select "event.eventId" as id order by id`, []row{{"id": "e2"}, {"id": "e3"}}},
		{"PrefixOnNested", `event.userIdentity.userName:porthygiene-fc* and not event.eventName:Revoke* | select "event.eventId" as id`, []row{{"id": "e3"}}},
		{"FlattenedKey", `event.requestParameters.Permissions.1.PortRange:"22/22" | select "event.requestParameters.Permissions.1.SourceCidrIp" as cidr`,
			[]row{{"cidr": "0.0.0.0/0"}}},
		{"GroupByNested", `* | select "event.userIdentity.userName" as u, count(*) as c group by u order by u`,
			[]row{{"u": "alice", "c": "1"}, {"u": "porthygiene-fc:guard", "c": "2"}}},
		{"NonStringLeaves", `event.eventId:e1 | select "event.requestParameters.DryRun" as d, "event.requestParameters.Priority" as p, "event.userIdentity" as who`,
			[]row{{"d": "false", "p": "1", "who": `{"accessKeyId":"LTAI1","type":"ram-user","userName":"alice"}`}}},
		{"MissingPath", `* | select count("event.nosuch") as n`, []row{{"n": "0"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.GetLogsV3("flow-proj", "actiontrail_main", &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Logs)
		})
	}
}

func TestGetLogsDefaultLimit(t *testing.T) {
	f, c := setupQueryData(t)
	in := sls.LogGroupInput{Topic: "many"}
	for i := range 150 {
		in.Logs = append(in.Logs, sls.Log{Contents: [][2]string{{"id", strconv.Itoa(i)}}})
	}
	require.NoError(t, f.srv.CreateLogstore("flow-proj", "many", 1))
	require.NoError(t, f.srv.CreateIndex("flow-proj", "many", nil))
	_, err := f.srv.Append("flow-proj", "many", in)
	require.NoError(t, err)
	from, to := start.Unix(), start.Unix()+60
	res, err := c.GetLogsV3("flow-proj", "many", &sdk.GetLogRequest{From: from, To: to, Query: "* | select id"})
	require.NoError(t, err)
	require.Len(t, res.Logs, 100, "SQL without LIMIT returns 100 rows")
	res, err = c.GetLogsV3("flow-proj", "many", &sdk.GetLogRequest{From: from, To: to, Query: "* | select id limit 1000"})
	require.NoError(t, err)
	require.Len(t, res.Logs, 150)
	res, err = c.GetLogsV3("flow-proj", "many", &sdk.GetLogRequest{From: from, To: to, Query: "*"})
	require.NoError(t, err)
	require.Len(t, res.Logs, 100, "search-only: line defaults to 100")
	rows, err := f.srv.Query("flow-proj", "many", start, start.Add(time.Minute), "*")
	require.NoError(t, err)
	require.Len(t, rows, 150, "the Go API returns every match of a search")
}

func TestGetLogsUnsupported(t *testing.T) {
	_, c := setupQueryData(t)
	from, to := start.Unix(), start.Unix()+60
	cases := []struct{ name, query, want string }{
		{"Function", "* | select date_trunc('minute', __time__) as t", "function date_trunc is not supported"},
		{"FromTable", "* | select count(*) from flows", "only FROM log"},
		{"Arithmetic", "* | select sum(bytes) / 1024", `operator "/" is not supported`},
		{"UnquotedDash", "* | select eni-id", `quote keys containing '-'`},
		{"DottedSQL", "* | select event.eventName", `quote JSON keys`},
		{"Join", "* | select a from log join b on a = b", `unexpected "join"`},
		{"Union", "* | select 1 as a union select 2", `unexpected "union"`},
		{"Distinct", "* | select distinct srcaddr", "SELECT DISTINCT is not supported"},
		{"Between", "* | select id where bytes between 1 and 2", "BETWEEN is not supported"},
		{"Subquery", "* | select id where id in (select id)", "subqueries are not supported"},
		{"NotGrouped", "* | select srcaddr, count(*) as c", "must appear in GROUP BY"},
		{"AggregateInWhere", "* | select count(*) as c where count(*) > 1", "is not allowed in WHERE"},
		{"StarMixed", "* | select *, id", "SELECT * must be the only select item"},
		{"NotSelect", "* | delete", "expected SELECT"},
		{"MiddleWildcard", "action:REJ*ECT", "wildcard"},
		{"QuestionWildcard", "action:REJEC?", "wildcard"},
		{"UnquotedDashKey", "eni-id:eni-1", `quote it as "eni-id"`},
		{"ComparisonNeedsNumber", "bytes > lots", "needs a number"},
		{"UnbalancedParen", "(action:REJECT", "expected )"},
		{"DanglingOperator", "action:REJECT and", "unexpected end of search"},
		{"LeadingOr", "or action:REJECT", `operator "or" needs an operand`},
		{"CastType", "* | select cast(bytes as json)", "cast to"},
		{"Unterminated", "* | select 'abc", "unterminated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetLogsV3("flow-proj", "flows", &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
			e := requireSLSError(t, err, 400, "ParameterInvalid")
			require.Contains(t, e.Message, tc.want)
			require.Contains(t, e.Message, "QUERY.md")
		})
	}
}
