package eventbus

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/stretchr/testify/require"
)

func sampleRecord() actiontrail.Record {
	return actiontrail.Record{
		EventID:       "3F2C0000-0000-4000-8000-000000000001",
		EventVersion:  "1",
		EventType:     "ApiCall",
		EventCategory: "Management",
		EventRW:       "Write",
		EventName:     "AuthorizeSecurityGroup",
		EventTime:     "2026-01-05T03:12:44Z",
		EventSource:   "ecs.aliyuncs.com",
		AcsRegion:     "cn-hangzhou",
		ServiceName:   "Ecs",
		APIVersion:    "2014-05-26",
		UserIdentity: auth.Identity{
			Type: "ram-user", PrincipalID: "2000000000000001", AccountID: auth.AccountID,
			AccessKeyID: "LTAI0000", UserName: "alice",
		},
		RequestParameters: map[string]any{
			"RegionId": "cn-hangzhou", "SecurityGroupId": "sg-bp1",
			"Permissions.1.PortRange": "22/22", "Permissions.1.SourceCidrIp": "0.0.0.0/0",
		},
		RecipientAccountID: auth.AccountID,
	}
}

func TestCloudEventEnvelope(t *testing.T) {
	rec := sampleRecord()
	ev := CloudEvent(rec, "cn-hangzhou")

	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), ev.ID)
	require.NotEqual(t, ev.ID, CloudEvent(rec, "cn-hangzhou").ID, "every event gets its own id")
	require.Equal(t, "acs.ecs", ev.Source)
	require.Equal(t, "1.0", ev.SpecVersion)
	require.Equal(t, "ecs:ActionTrail:ApiCall", ev.Type)
	require.Equal(t, "application/json;charset=utf-8", ev.DataContentType)
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:securitygroup/sg-bp1", ev.Subject)
	require.Equal(t, "2026-01-05T03:12:44Z", ev.Time)
	require.Equal(t, "2026-01-05T03:12:44.000Z", ev.AliyunPublishTime)
	require.Equal(t, "1234567890123456", ev.AliyunAccountID)
	require.Equal(t, "default", ev.AliyunEventBusName)
	require.Equal(t, "cn-hangzhou", ev.AliyunRegionID)
	require.Equal(t, "127.0.0.1", ev.AliyunPublishAddr)

	var back actiontrail.Record
	require.NoError(t, json.Unmarshal(ev.Data, &back))
	require.Equal(t, rec, back, "data is the record")

	var wire map[string]any
	require.NoError(t, json.Unmarshal(ev.JSON(), &wire))
	for _, k := range []string{"id", "source", "specversion", "type", "datacontenttype", "subject", "time",
		"aliyunaccountid", "aliyunpublishtime", "aliyuneventbusname", "aliyunregionid", "aliyunpublishaddr", "data"} {
		require.Contains(t, wire, k)
	}
	require.NotContains(t, wire, "dataschema", "empty dataschema is omitted")
	require.Equal(t, "alice", wire["data"].(map[string]any)["userIdentity"].(map[string]any)["userName"])

	var round Event
	require.NoError(t, json.Unmarshal(ev.JSON(), &round))
	require.JSONEq(t, string(ev.JSON()), string(round.JSON()))
}

func TestCloudEventVariants(t *testing.T) {
	rec := sampleRecord()
	rec.EventType = "ConsoleOperation"
	rec.RequestParameters = map[string]any{"NetworkInterfaceId": "eni-1"}
	rec.RecipientAccountID = ""
	ev := CloudEvent(rec, "")
	require.Equal(t, "ecs:ActionTrail:ConsoleOperation", ev.Type)
	require.Equal(t, "cn-hangzhou", ev.AliyunRegionID, "region defaults to the record's")
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:networkinterface/eni-1", ev.Subject)

	rec.RequestParameters = nil
	rec.ReferencedResources = map[string][]string{"ACS::ECS::SecurityGroup": {"sg-2"}}
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:securitygroup/sg-2", CloudEvent(rec, "").Subject)

	// Prefix-list calls name a list, not a group: by parameter, or (a
	// CreatePrefixList) only by the resource the call created.
	rec.ReferencedResources = nil
	rec.RequestParameters = map[string]any{"PrefixListId": "pl-1", "AddEntry.1.Cidr": "0.0.0.0/0"}
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:prefixlist/pl-1", CloudEvent(rec, "").Subject)
	rec.RequestParameters = map[string]any{"PrefixListName": "office"}
	rec.ReferencedResources = map[string][]string{"ACS::ECS::PrefixList": {"pl-2"}}
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:prefixlist/pl-2", CloudEvent(rec, "").Subject)

	rec.RequestParameters = nil
	rec.ReferencedResources = nil
	require.Equal(t, "acs:ecs:cn-hangzhou:1234567890123456:*", CloudEvent(rec, "").Subject)
}
