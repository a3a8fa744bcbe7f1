package fcwire

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/replicate"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

var _ replicate.PrefixListLister = (*ecsapi.Client)(nil)

// Trail is the replicator's reader of who changed a group: the ActionTrail
// trail's SLS logstore (ACTIONTRAIL_PROJECT, ACTIONTRAIL_LOGSTORE; a trail
// of every region delivers there), searched for calls naming the group.
// nil when the variables are unset (the replicator then says "unknown").
func (w *Wiring) Trail(getenv func(string) string) replicate.Trail {
	project, ls := getenv("ACTIONTRAIL_PROJECT"), getenv("ACTIONTRAIL_LOGSTORE")
	if project == "" || ls == "" {
		return nil
	}
	return trailReader{w: w, project: project, logstore: ls}
}

type trailReader struct {
	w                 *Wiring
	project, logstore string
}

// Changes lists the successful calls on the group in region, newest first,
// leaving out the function's own role (its writes are not drift).
func (t trailReader) Changes(ctx context.Context, region, groupID string, since, until time.Time) ([]replicate.Change, error) {
	q := `"event.requestParameters.SecurityGroupId": ` + logstore.Quote(groupID)
	rows, err := t.w.sls.Query(ctx, t.project, t.logstore, since, until, q)
	if err != nil {
		return nil, fmt.Errorf("trail %s/%s: %w", t.project, t.logstore, err)
	}
	var out []replicate.Change
	for _, row := range rows {
		rec, err := trigger.ParseLogstoreEvent(row)
		if err != nil || rec.Failed() || rec.CalledByRole(t.w.Env.RoleName) || (rec.AcsRegion != "" && rec.AcsRegion != region) {
			continue
		}
		who := rec.UserIdentity.UserName
		if who == "" {
			who = rec.UserIdentity.Type + " " + rec.UserIdentity.PrincipalID
		}
		out = append(out, replicate.Change{Actor: who, EventName: rec.EventName, EventID: rec.EventID, Time: rec.EventTime})
	}
	slices.SortFunc(out, func(a, b replicate.Change) int { return b.Time.Compare(a.Time) })
	return out, nil
}
