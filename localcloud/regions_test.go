package localcloud_test

import (
	"sync"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// EventBridge's default bus is regional: an ECS write in cn-shanghai reaches
// the rules of cn-shanghai's default bus (aliyunregionid cn-shanghai) and not
// those of cn-hangzhou's, and the other way round.
func TestDefaultBusIsRegional(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	cl := lctest.ECS(t, c)
	require.Equal(t, "cn-hangzhou", c.Region())
	require.Same(t, c.Bus, c.BusOf(""), "the default region's bus")
	require.Same(t, c.Bus, c.BusOf("cn-hangzhou"))

	var mu sync.Mutex
	got := map[string][]string{} // bus region → aliyunregionid of what its rule received
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		c.BusOf(region).Subscribe("test", eventbus.MustCompilePattern(`{"source":["acs.ecs"],"data":{"eventName":["CreateSecurityGroup"]}}`),
			func(ev eventbus.Event, _ []byte) {
				mu.Lock()
				got[region] = append(got[region], ev.AliyunRegionID)
				mu.Unlock()
			})
	}
	create := func(region string) {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.RegionId = region
		req.SecurityGroupName = "regional"
		_, err := cl.CreateSecurityGroup(req)
		require.NoError(t, err)
	}
	create("cn-shanghai")
	create("cn-shanghai")
	create("cn-hangzhou")
	lctest.Settle(t, c)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"cn-shanghai", "cn-shanghai"}, got["cn-shanghai"])
	require.Equal(t, []string{"cn-hangzhou"}, got["cn-hangzhou"])
}
