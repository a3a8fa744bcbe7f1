package trigger_test

import (
	"fmt"
	"os"

	"github.com/porthygiene/porthygiene/shared/trigger"
)

func ExampleDecode() {
	payload, _ := os.ReadFile("../../events/eventbridge-own-role-revoke.json")
	ev, err := trigger.Decode(payload)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	switch e := ev.(type) {
	case trigger.CloudEvent:
		rec, err := e.ActionTrail()
		if err != nil {
			fmt.Println("rejected:", err)
			return
		}
		fmt.Println(rec.EventName, "by", rec.UserIdentity.UserName)
		fmt.Println("ours:", rec.CalledByRole("porthygiene-fc-role"), "failed:", rec.Failed())
		fmt.Println("dedup:", e.DedupKey())
	case trigger.TimerEvent, trigger.SLSEvent, trigger.HTTPEvent:
		fmt.Println(e.Kind())
	}

	_, err = trigger.Decode([]byte(`{"eventId":"x"}`))
	fmt.Println(err)
	// Output:
	// RevokeSecurityGroup by porthygiene-fc-role:guard
	// ours: true failed: false
	// dedup: actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E07
	// invalid trigger payload: unknown payload kind: top-level keys [eventId]
}
