package approve_test

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/porthygiene/porthygiene/shared/approve"
)

func ExampleVerify() {
	key := []byte("example-signing-key-0123456789")
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	link := approve.Sign(key, "https://example.com/approve", approve.Link{
		Action: approve.ActionKeep, GroupID: "sg-web", RuleID: "sgr-ssh",
		Expires: now.Add(approve.DefaultTTL), Nonce: "0123456789abcdef",
	})
	u, _ := url.Parse(link)

	l, err := approve.Verify(key, u.Query(), now.Add(time.Hour))
	fmt.Println(l.Action, l.Target(), l.Days, err)

	_, err = approve.Verify(key, u.Query(), now.Add(8*24*time.Hour))
	fmt.Println(errors.Is(err, approve.ErrExpired))

	q := u.Query()
	q.Set("g", "sg-db")
	_, err = approve.Verify(key, q, now)
	fmt.Println(errors.Is(err, approve.ErrForged))
	// Output:
	// keep sg-web/sgr-ssh 30 <nil>
	// true
	// true
}
