package eventbus

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleEvent is a CloudEvent carrying an ActionTrail record, with the value
// shapes patterns must handle: nested objects, arrays, numbers, booleans, null.
const sampleEvent = `{
  "id": "45ef4dewdwe1-7c35-447a-bd93-fab****",
  "source": "acs.ecs",
  "specversion": "1.0",
  "type": "ecs:ActionTrail:ApiCall",
  "subject": "acs:ecs:cn-hangzhou:1234567890123456:securitygroup/sg-bp1",
  "time": "2026-01-05T03:12:44Z",
  "data": {
    "eventName": "AuthorizeSecurityGroup",
    "eventType": "ApiCall",
    "eventVersion": 1,
    "acsRegion": "cn-hangzhou",
    "sourceIpAddress": "198.51.100.23",
    "errorCode": "",
    "responseElements": null,
    "count": 300,
    "isGlobal": false,
    "tags": ["prod", "web"],
    "userIdentity": {"type": "ram-user", "userName": "alice", "accountId": "1234567890123456"},
    "referencedResources": {"ACS::ECS::SecurityGroup": ["sg-bp1"]},
    "items": [{"kind": "a"}, {"kind": "b"}]
  }
}`

func TestPatternOperators(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		want    bool
	}{
		// Exact values.
		{"ExactString", `{"source":["acs.ecs"]}`, true},
		{"ExactStringOtherValue", `{"source":["acs.oss"]}`, false},
		{"ExactStringIsCaseSensitive", `{"source":["ACS.ECS"]}`, false},
		{"OrWithinArray", `{"source":["acs.oss","acs.ecs"]}`, true},
		{"AndAcrossKeys", `{"source":["acs.ecs"],"type":["ecs:ActionTrail:ConsoleOperation"]}`, false},
		{"ExactNumberByText", `{"data":{"count":[300]}}`, true},
		{"ExactNumberOtherTextDiffers", `{"data":{"count":[300.0]}}`, false},
		{"ExactNumberDoesNotMatchString", `{"data":{"eventVersion":["1"]}}`, false},
		{"ExactBool", `{"data":{"isGlobal":[false]}}`, true},
		{"ExactBoolOther", `{"data":{"isGlobal":[true]}}`, false},
		{"EmptyString", `{"data":{"errorCode":[""]}}`, true},
		{"EmptyStringDoesNotMatchNull", `{"data":{"responseElements":[""]}}`, false},
		{"Null", `{"data":{"responseElements":[null]}}`, true},
		{"NullDoesNotMatchEmptyString", `{"data":{"errorCode":[null]}}`, false},
		{"NullDoesNotMatchMissing", `{"data":{"nope":[null]}}`, false},
		// Nested objects.
		{"Nested", `{"data":{"userIdentity":{"type":["ram-user"]}}}`, true},
		{"NestedMismatch", `{"data":{"userIdentity":{"type":["assumed-role"]}}}`, false},
		{"NestedMissingParent", `{"detail":{"x":["y"]}}`, false},
		{"NestedMissingParentExistsFalse", `{"detail":{"x":[{"exists":false}]}}`, true},
		{"NestedOnScalar", `{"source":{"x":["y"]}}`, false},
		{"NestedInArrayOfObjects", `{"data":{"items":{"kind":["b"]}}}`, true},
		{"NestedInArrayOfObjectsNone", `{"data":{"items":{"kind":["c"]}}}`, false},
		// Arrays in the event.
		{"ArrayAnyElement", `{"data":{"tags":["web"]}}`, true},
		{"ArrayNoElement", `{"data":{"tags":["db"]}}`, false},
		{"ArrayInNestedKey", `{"data":{"referencedResources":{"ACS::ECS::SecurityGroup":["sg-bp1"]}}}`, true},
		// prefix / suffix / contains.
		{"Prefix", `{"source":[{"prefix":"acs."}]}`, true},
		{"PrefixNoMatch", `{"source":[{"prefix":"aliyun."}]}`, false},
		{"PrefixOnNumber", `{"data":{"count":[{"prefix":"3"}]}}`, false},
		{"Suffix", `{"type":[{"suffix":":ActionTrail:ApiCall"}]}`, true},
		{"SuffixNoMatch", `{"type":[{"suffix":":ConsoleOperation"}]}`, false},
		{"Contains", `{"data":{"eventName":[{"contains":"SecurityGroup"}]}}`, true},
		{"ContainsNoMatch", `{"data":{"eventName":[{"contains":"Instance"}]}}`, false},
		// anything-but.
		{"AnythingButString", `{"data":{"eventName":[{"anything-but":"RevokeSecurityGroup"}]}}`, true},
		{"AnythingButStringExcluded", `{"data":{"eventName":[{"anything-but":"AuthorizeSecurityGroup"}]}}`, false},
		{"AnythingButList", `{"data":{"userIdentity":{"type":[{"anything-but":["assumed-role","system"]}]}}}`, true},
		{"AnythingButListExcluded", `{"data":{"userIdentity":{"type":[{"anything-but":["assumed-role","ram-user"]}]}}}`, false},
		{"AnythingButNumber", `{"data":{"count":[{"anything-but":301}]}}`, true},
		{"AnythingButNumberExcluded", `{"data":{"count":[{"anything-but":300}]}}`, false},
		{"AnythingButPrefix", `{"data":{"userIdentity":{"userName":[{"anything-but":{"prefix":"porthygiene-fc-role:"}}]}}}`, true},
		{"AnythingButPrefixExcluded", `{"data":{"userIdentity":{"userName":[{"anything-but":{"prefix":"ali"}}]}}}`, false},
		{"AnythingButMissingField", `{"data":{"nope":[{"anything-but":"x"}]}}`, false},
		{"AnythingButArrayAnyElement", `{"data":{"tags":[{"anything-but":"prod"}]}}`, true},
		// exists.
		{"ExistsTrue", `{"data":{"acsRegion":[{"exists":true}]}}`, true},
		{"ExistsTrueMissing", `{"data":{"vpcId":[{"exists":true}]}}`, false},
		{"ExistsFalse", `{"data":{"vpcId":[{"exists":false}]}}`, true},
		{"ExistsFalsePresent", `{"data":{"acsRegion":[{"exists":false}]}}`, false},
		{"ExistsTrueNull", `{"data":{"responseElements":[{"exists":true}]}}`, true},
		// cidr.
		{"Cidr", `{"data":{"sourceIpAddress":[{"cidr":"198.51.100.0/24"}]}}`, true},
		{"CidrOutside", `{"data":{"sourceIpAddress":[{"cidr":"10.0.0.0/8"}]}}`, false},
		{"CidrUnmaskedBlock", `{"data":{"sourceIpAddress":[{"cidr":"198.51.100.77/24"}]}}`, true},
		{"CidrOnNonIP", `{"data":{"acsRegion":[{"cidr":"0.0.0.0/0"}]}}`, false},
		// numeric.
		{"NumericRange", `{"data":{"count":[{"numeric":[">",0,"<=",300]}]}}`, true},
		{"NumericRangeOutside", `{"data":{"count":[{"numeric":[">",0,"<",300]}]}}`, false},
		{"NumericEqualByValue", `{"data":{"count":[{"numeric":["=",3e2]}]}}`, true},
		{"NumericOnString", `{"data":{"acsRegion":[{"numeric":[">",0]}]}}`, false},
		{"NumericMissing", `{"data":{"nope":[{"numeric":[">",0]}]}}`, false},
		// Mixed alternatives.
		{"MixedAlternatives", `{"source":[{"prefix":"acs.o"},"acs.ecs"]}`, true},
	}
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(sampleEvent), &ev)) // float64 numbers: Match handles them
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := CompilePattern(json.RawMessage(tc.pattern))
			require.NoError(t, err)
			got, err := p.MatchJSON([]byte(sampleEvent))
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "pattern %s", tc.pattern)
			if tc.name != "ExactNumberOtherTextDiffers" { // text comparison needs json.Number
				require.Equal(t, tc.want, p.Match(ev), "pattern %s on a float64-decoded event", tc.pattern)
			}
		})
	}
}

func TestCompilePatternErrors(t *testing.T) {
	cases := []struct {
		name, pattern, want string
	}{
		{"InvalidJSON", `{"source":`, "invalid JSON"},
		{"TrailingData", `{"source":["a"]} {}`, "trailing data"},
		{"NotAnObject", `["acs.ecs"]`, "must be a JSON object"},
		{"Empty", `{}`, "pattern is empty"},
		{"ScalarValue", `{"source":"acs.ecs"}`, `source: value must be an array of alternatives or an object, got a string`},
		{"EmptyArray", `{"source":[]}`, "source: empty array"},
		{"EmptyNested", `{"data":{}}`, "data: empty object"},
		{"UnknownOperator", `{"data":{"eventName":["a",{"prefx":"Auth"}]}}`, `data.eventName[1]: unknown operator "prefx"`},
		{"TwoOperators", `{"source":[{"prefix":"a","suffix":"b"}]}`, "exactly one operator"},
		{"NestedArray", `{"source":[["a"]]}`, "source[0]: alternative must be a value or an operator object, got an array"},
		{"PrefixNotString", `{"source":[{"prefix":1}]}`, `operator "prefix" needs a string`},
		{"ExistsNotBool", `{"source":[{"exists":"yes"}]}`, `operator "exists" needs true or false`},
		{"CidrIPv6", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `operator "cidr" needs an IPv4 CIDR block`},
		{"CidrNoMask", `{"ip":[{"cidr":"10.0.0.1"}]}`, `operator "cidr" needs an IPv4 CIDR block`},
		{"NumericOddLength", `{"n":[{"numeric":[">",0,"<"]}]}`, `operator "numeric" needs`},
		{"NumericBadComparison", `{"n":[{"numeric":["!=",0]}]}`, `unknown comparison "!="`},
		{"NumericNotNumber", `{"n":[{"numeric":[">","0"]}]}`, `">" needs a number`},
		{"AnythingButUnknownKey", `{"s":[{"anything-but":{"suffix":"x"}}]}`, `unknown operator "anything-but.suffix"`},
		{"AnythingButEmptyList", `{"s":[{"anything-but":[]}]}`, "non-empty list"},
		{"AnythingButBool", `{"s":[{"anything-but":true}]}`, `operator "anything-but" needs`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompilePattern(json.RawMessage(tc.pattern))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// projectPattern is the eventbridge trigger pattern of the drift function.
const projectPattern = `{"source":["acs.ecs"],"type":["ecs:ActionTrail:ApiCall","ecs:ActionTrail:ConsoleOperation"],"data":{"eventName":["AuthorizeSecurityGroup","AuthorizeSecurityGroupEgress","RevokeSecurityGroup","RevokeSecurityGroupEgress","ModifySecurityGroupRule","ModifySecurityGroupEgressRule","CreateSecurityGroup","DeleteSecurityGroup","JoinSecurityGroup","LeaveSecurityGroup","ModifyNetworkInterfaceAttribute"]}}`

func TestProjectPattern(t *testing.T) {
	p := MustCompilePattern(projectPattern)
	cases := []struct {
		name      string
		eventType string
		eventName string
		want      bool
	}{
		{"ApiCallAuthorize", "ApiCall", "AuthorizeSecurityGroup", true},
		{"ConsoleRevokeEgress", "ConsoleOperation", "RevokeSecurityGroupEgress", true},
		{"JoinSecurityGroup", "ApiCall", "JoinSecurityGroup", true},
		{"UnrelatedAPI", "ApiCall", "StartInstance", false},
		{"ServiceEvent", "AliyunServiceEvent", "AuthorizeSecurityGroup", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := sampleRecord()
			rec.EventType = tc.eventType
			rec.EventName = tc.eventName
			ok, err := p.MatchJSON(CloudEvent(rec, "cn-hangzhou").JSON())
			require.NoError(t, err)
			require.Equal(t, tc.want, ok)
		})
	}

	other := MustCompilePattern(`{"source":["acs.actiontrail"],"type":["actiontrail:ActionTrail:ApiCall"]}`)
	ok, err := other.MatchJSON(CloudEvent(sampleRecord(), "cn-hangzhou").JSON())
	require.NoError(t, err)
	require.False(t, ok, "ECS events do not carry ActionTrail's own source")
}

func TestPatternStringIsCompact(t *testing.T) {
	p := MustCompilePattern("{ \"source\" : [ \"acs.ecs\" ] }")
	require.Equal(t, `{"source":["acs.ecs"]}`, p.String())
}

func TestMatchJSONRejectsNonObjects(t *testing.T) {
	_, err := MustCompilePattern(`{"source":["a"]}`).MatchJSON([]byte(`[1]`))
	require.Error(t, err)
}
