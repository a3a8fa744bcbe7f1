package ecsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// The guard's use: read the rules, pick the exposed ones, revoke them by id.
// Here against localcloud; in Function Compute, Endpoint is empty (or
// ECS_ENDPOINT) and the credentials are the invocation's STS credentials.
func ExampleClient_RevokeByID() {
	store := auth.NewStore()
	alice := store.AddUser("alice")
	emu := lcecs.New(lcecs.Config{Auth: store})
	if err := emu.Load(world()); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	c, err := ecsapi.New(ecsapi.Config{
		Region:      "cn-hangzhou",
		Endpoint:    srv.URL,
		Credentials: ecsapi.Credentials{AccessKeyID: alice.AccessKeyID, AccessKeySecret: alice.AccessKeySecret},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	attr, err := c.DescribeRules(ctx, sgWeb)
	if err != nil {
		panic(err)
	}
	var open []string
	for _, r := range attr.Rules {
		if r.Direction == rule.Ingress && r.Peer.String() == "0.0.0.0/0" && (r.Ports.Contains(22) || r.Ports.Contains(3389)) {
			open = append(open, r.ID)
		}
	}
	res, err := c.RevokeByID(ctx, sgWeb, rule.Ingress, open)
	fmt.Println("revoked:", res.Revoked, "already gone:", res.Gone, "error:", err)

	// A second run finds nothing left to do.
	res, err = c.RevokeByID(ctx, sgWeb, rule.Ingress, open)
	fmt.Println("revoked:", res.Revoked, "already gone:", res.Gone, "error:", err)

	_, err = c.DescribeRules(ctx, "sg-bp1nosuchgroup00000")
	fmt.Println("missing group is ErrNotFound:", errors.Is(err, ecsapi.ErrNotFound))
	// Output:
	// revoked: [sgr-bp1webssh000000000 sgr-bp1webrdp000000000] already gone: [] error: <nil>
	// revoked: [] already gone: [sgr-bp1webssh000000000 sgr-bp1webrdp000000000] error: <nil>
	// missing group is ErrNotFound: true
}
