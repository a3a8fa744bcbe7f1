package localcloud_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// A rule that references a prefix list lets through what the list holds now:
// widening the list with ModifyPrefixList opens the port in the flow-log
// model, and the write reaches EventBridge as an ActionTrail event naming the
// list.
func TestModifyPrefixListOpensTrafficAndEmitsEvent(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	cl := lctest.ECS(t, c)

	var mu sync.Mutex
	var events []eventbus.Event
	c.Bus.Subscribe("test", eventbus.MustCompilePattern(`{"source":["acs.ecs"],"data":{"eventName":["ModifyPrefixList"]}}`),
		func(ev eventbus.Event, _ []byte) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		})

	auth := ecs.CreateAuthorizeSecurityGroupRequest()
	auth.RegionId, auth.SecurityGroupId = c.Region(), "sg-bastion"
	auth.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourcePrefixListId: "pl-office"}}
	_, err := cl.AuthorizeSecurityGroup(auth)
	require.NoError(t, err)

	action := func(srcaddr string) string {
		t.Helper()
		before := c.Clock.Now()
		n, err := c.InjectTraffic([]localcloud.Traffic{{ENI: "eni-bastion-1", SrcAddr: srcaddr, SrcPort: 40000, DstPort: 22}})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		rows, err := c.SLS.Query("vpc-flowlog-demo", "flowlog", before, before.Add(time.Second),
			`srcaddr: "`+srcaddr+`" | select action`)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		c.Clock.Advance(time.Minute) // the next flow is in a later window
		return rows[0]["action"]
	}
	require.Equal(t, "ACCEPT", action("203.0.113.9"), "in the list")
	require.Equal(t, "REJECT", action("192.0.2.9"), "not (yet) in the list")

	mod := ecs.CreateModifyPrefixListRequest()
	mod.RegionId, mod.PrefixListId = c.Region(), "pl-office"
	mod.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: "192.0.2.0/24", Description: "new branch"}}
	_, err = cl.ModifyPrefixList(mod)
	require.NoError(t, err)
	require.Equal(t, "ACCEPT", action("192.0.2.9"), "ModifyPrefixList widened the list: the port is open to it")

	lctest.Settle(t, c)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 1)
	ev := events[0]
	require.Equal(t, "ecs:ActionTrail:ApiCall", ev.Type)
	require.Equal(t, "acs:ecs:"+c.Region()+":1234567890123456:prefixlist/pl-office", ev.Subject)
	var data struct {
		EventName         string         `json:"eventName"`
		RequestParameters map[string]any `json:"requestParameters"`
	}
	require.NoError(t, json.Unmarshal(ev.Data, &data))
	require.Equal(t, "ModifyPrefixList", data.EventName)
	require.Equal(t, "pl-office", data.RequestParameters["PrefixListId"])
	require.Equal(t, "192.0.2.0/24", data.RequestParameters["AddEntry.1.Cidr"])

	// While sg-bastion references it, the list cannot be deleted.
	del := ecs.CreateDeletePrefixListRequest()
	del.RegionId, del.PrefixListId = c.Region(), "pl-office"
	_, err = cl.DeletePrefixList(del)
	require.ErrorContains(t, err, "NotAllowed.AssociationExist")
}
