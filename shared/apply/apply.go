// Package apply carries out a plan: the backup of every rule to revoke is
// written to the ledger first (no backup, no revoke), then exactly those
// rules are revoked by SecurityGroupRuleId in one batched call per direction
// ("already gone" is success), replacements are authorized, and every step
// becomes a notification event. The change cap is shared by a run's groups
// and limits how many revokes one run makes; the rest are reported as
// capped. One implementation, used by every function.
package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Writer is what applying needs of one region's ECS API.
type Writer interface {
	RevokeByID(ctx context.Context, groupID string, dir rule.Direction, ruleIDs []string) (cloud.RevokeResult, error)
	Authorize(ctx context.Context, groupID string, dir rule.Direction, perms []rule.Permission) error
}

// Ledger is what applying needs of the ledger.
type Ledger interface {
	Append(ctx context.Context, recs ...ledger.Record) error
}

// ErrNoLedger: a revoke was planned without a ledger to back it up in.
var ErrNoLedger = errors.New("no ledger: refusing to revoke without a backup")

// Cap counts a run's changes against its maximum. It is safe for concurrent
// use; the zero value, and a nil *Cap, allow none.
type Cap struct {
	mu        sync.Mutex
	max, used int
	// left, when set, is read once, before the first change: how many
	// changes the minute still allows across every instance (the pace).
	left     func(ctx context.Context) int
	leftOnce sync.Once
	leftDone chan struct{} // closed when left has been read into max
	// confirm, when set, is asked after a run wrote the backups of k
	// changes it was granted (its claims on the minute): how many of the k
	// still stand once the claims other instances made meanwhile count.
	confirm func(ctx context.Context, claims []ledger.Record, k int) int
}

// NewCap allows max changes.
func NewCap(max int) *Cap { return &Cap{max: max} }

// NewPacedCap allows at most perRun changes, and no more than minuteLeft
// reports when the first change is asked for (read once, outside the lock).
func NewPacedCap(perRun int, minuteLeft func(ctx context.Context) int) *Cap {
	return &Cap{max: perRun, left: minuteLeft, leftDone: make(chan struct{})}
}

// Confirmed makes c, a paced cap, check its grants after their backups are
// written: confirm(ctx, claims, k) returns how many of the k changes whose
// backups (claims) were written still stand (0..k); the rest are held back
// as capped.
// The minute's budget read once is a snapshot that concurrent instances all
// see at once; the backups they then wrote are what makes the pace hold
// across instances.
func (c *Cap) Confirmed(confirm func(ctx context.Context, claims []ledger.Record, k int) int) *Cap {
	c.confirm = confirm
	return c
}

// Prefetch starts reading the minute's budget now, in the background, so
// that it overlaps the reads before a plan instead of delaying the first
// change by a round trip. take waits for it.
func (c *Cap) Prefetch(ctx context.Context) {
	if c == nil || c.left == nil {
		return
	}
	c.leftOnce.Do(func() { go c.readLeft(ctx) })
}

func (c *Cap) readLeft(ctx context.Context) {
	left := c.left(ctx)
	c.mu.Lock()
	c.max = max(min(c.max, left), 0)
	c.mu.Unlock()
	close(c.leftDone)
}

// take reserves up to n changes and returns how many it granted.
func (c *Cap) take(ctx context.Context, n int) int {
	if c == nil {
		return 0
	}
	if c.left != nil {
		c.leftOnce.Do(func() { c.readLeft(ctx) })
		<-c.leftDone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := max(min(n, c.max-c.used), 0)
	c.used += k
	return k
}

// Max is the cap.
func (c *Cap) Max() int {
	if c == nil {
		return 0
	}
	return c.max
}

// Applier carries out plans for one function in one run.
type Applier struct {
	// Function names the function in ledger records and event ids.
	Function string
	Ledger   Ledger // nil: revokes are refused (ErrNoLedger)
	Cap      *Cap
	Logger   *slog.Logger
	// Now is the run's decision time, stamped on records.
	Now time.Time
	// UndoCommand formats the command that undoes a revocation.
	UndoCommand func(ledgerID string) string
	// Buttons returns the decision links offered with an event; nil offers none.
	Buttons func(ev notify.Event) []notify.Button
	// WriteTimeout bounds each rule change, its retries included
	// (DefaultWriteTimeout): a change that keeps failing gives up early
	// enough for the run to tell people in its flush, and the run's error
	// makes FC retry the invocation.
	WriteTimeout time.Duration
}

// DefaultWriteTimeout is the default Applier.WriteTimeout.
const DefaultWriteTimeout = 5 * time.Second

// write runs one rule change within WriteTimeout.
func (a *Applier) write(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(a.WriteTimeout, DefaultWriteTimeout))
	defer cancel()
	return fn(ctx)
}

// Cause is what started the run: the event (Source "sweep" for sweeps) and
// whether it is the call that opened a rule.
type Cause struct {
	Event ledger.EventContext
	// Opened reports whether Event is the call that opened r (created or
	// last modified it); nil: for no rule (a sweep).
	Opened func(r rule.Rule) bool
}

// opener is who opened r, for the ledger: Event's principal when Event
// opened r, else ledger.Unknown.
func (c Cause) opener(r rule.Rule) (name string, actor notify.Actor) {
	if c.Opened == nil || !c.Opened(r) || c.Event.ActorUserName == "" {
		return ledger.Unknown, notify.Actor{UserName: ledger.Unknown}
	}
	ec := c.Event
	return ec.ActorUserName, notify.Actor{Type: ec.ActorType, UserName: ec.ActorUserName, AccessKeyID: ec.ActorAccessKeyID, SourceIP: ec.SourceIP}
}

// Outcome is what applying one plan did.
type Outcome struct {
	Findings int
	Revoked  []string // rule ids revoked
	Gone     []string // rule ids already gone
	Notified []string // rule ids reported only
	Capped   int      // revokes not done because of the cap
	Ledger   []string // ledger ids of revocations
	Events   []notify.Event
	// Authorized are the rules the replicator's Authorize steps added.
	Authorized []rule.Rule
}

// Apply carries out p for the group st describes, for cause. The error joins
// every failed call; Outcome says what was done all the same.
func (a *Applier) Apply(ctx context.Context, w Writer, st observe.State, p plan.Plan, cause Cause) (Outcome, error) {
	ec := cause.Event
	var out Outcome
	for _, s := range p.Steps {
		switch s.Kind {
		case plan.AnnounceExemption, plan.AnnounceExpiring, plan.Authorize, plan.RevokeRules, plan.Announce, plan.Cancel, plan.Close:
			// an announced exemption, the replicator's copies, the reaper's lifecycle: no exposure
		default:
			out.Findings++
		}
	}
	owner := OwnerFromTags(st.Tags)
	var revoke, copies []plan.Step
	var notices []ledger.Record
	want := p.Changes()
	granted := 0
	if want > 0 {
		granted = a.Cap.take(ctx, want)
	}
	for _, s := range p.Steps {
		f := s.Finding
		switch s.Kind {
		case plan.DryRun:
			a.log().InfoContext(ctx, "dry-run: would revoke", "group", st.GroupID, "rule", f.RuleID, "ports", f.Ports, "source", f.Source, "reason", f.Reason)
		case plan.Report:
			out.Notified = append(out.Notified, f.RuleID)
			out.Events = append(out.Events, a.Event(f, st, ec, owner, notify.KindExposureFound, s.Note, ""))
		case plan.AnnounceExemption, plan.AnnounceExpiring:
			rec, ev := a.announce(s, st, cause, owner)
			notices = append(notices, rec)
			out.Events = append(out.Events, ev)
		case plan.Authorize, plan.RevokeRules:
			// The replicator's: carried out in order, after the rest.
			k := min(granted, len(s.Rules))
			granted -= k
			out.Capped += len(s.Rules) - k
			if k > 0 {
				s.Rules = s.Rules[:k]
				copies = append(copies, s)
			}
		case plan.Announce, plan.Cancel:
			rec, ev := a.lifecycle(s, st, ec, owner)
			notices = append(notices, rec)
			out.Events = append(out.Events, ev)
		case plan.Revoke, plan.Close:
			if granted == 0 {
				// Held back by the pace: the run tells people once, in one
				// message (engine), and the revoke is reported when it
				// happens; a message per waiting rule would repeat with
				// every continuation.
				out.Capped++
				out.Notified = append(out.Notified, f.RuleID)
				continue
			}
			granted--
			revoke = append(revoke, s)
		}
	}
	var errs []error
	if len(notices) > 0 {
		if a.Ledger == nil {
			errs = append(errs, fmt.Errorf("%s: record %d notice(s): %w", a.Function, len(notices), ErrNoLedger))
		} else if err := a.Ledger.Append(ctx, notices...); err != nil {
			// Told all the same; the next run announces again, and the
			// notifier shows an event id once.
			errs = append(errs, fmt.Errorf("%s: record %d notice(s) of %s: %w", a.Function, len(notices), st.GroupID, err))
		}
	}
	if len(revoke) > 0 {
		errs = append(errs, a.revoke(ctx, w, st, revoke, cause, owner, &out))
	}
	for _, s := range copies {
		// In order, and no further after a failure: a removal planned
		// after an authorize that failed (a port changed) would leave
		// the replica with neither rule.
		if err := a.replicate(ctx, w, st, p, s, cause, &out); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return out, errors.Join(errs...)
}

// announce is the ledger notice and the notification of an exemption seen
// (or ending soon): who owns it, why, until when (cut to the policy's
// maximum, and saying so), who wrote it, flagged when the writer is who
// opened the port.
func (a *Applier) announce(s plan.Step, st observe.State, cause Cause, owner notify.Owner) (ledger.Record, notify.Event) {
	f, x := s.Finding, s.Finding.Exempt
	writer, self := ledger.Unknown, false
	switch x.Source {
	case "description":
		// A marker is written by the call that wrote the rule's description:
		// the call that opened (or modified) it, when it is this run's event.
		if by, _ := cause.opener(f.Rule); by != ledger.Unknown {
			writer, self = by, true
		}
	case "ledger":
		writer = x.Owner // an owner's decision, through the approve function
	}
	stage, kind := "announced", notify.KindExemptionNew
	if s.Kind == plan.AnnounceExpiring {
		stage, kind = "expiring", notify.KindExemptionExpiring
	}
	rec := ledger.NewExemptionNotice(a.meta(st, f.RuleID, cause.Event), ledger.ExemptionNotice{Source: x.Source, Owner: x.Owner, Reason: x.Reason,
		Asked: x.Asked, Until: x.Until, Cut: x.Cut(), Ports: x.Ports, WrittenBy: writer, SelfExempted: self, Stage: stage})
	action := s.Note + "; owner " + x.Owner + ", written by " + writer
	if x.Reason != "" {
		action += ", reason: " + x.Reason
	}
	if self {
		action += " — WRITTEN BY THE PRINCIPAL WHO OPENED THE PORT"
	}
	ev := a.Event(f, st, cause.Event, owner, kind, action, rec.ID)
	ev.ID = fmt.Sprintf("%s/%s/%s/%s/%s/%s", a.Function, f.GroupID, f.RuleID, kind, x.Source, x.Asked.UTC().Format(time.RFC3339))
	ev.UndoCommand = ""
	if self {
		ev.Severity = notify.SeverityCritical
	}
	return rec, ev
}

// revoke backs up, then revokes exactly the planned rules by id, then
// records what happened to each: a revocation record for a rule revoked (one
// per rule actually revoked), a finding record for a rule already gone or
// whose revoke failed, with the error's class.
func (a *Applier) revoke(ctx context.Context, w Writer, st observe.State, steps []plan.Step, cause Cause, owner notify.Owner, out *Outcome) error {
	ec := cause.Event
	backups := make([]ledger.Record, 0, len(steps))
	byDir := map[rule.Direction][]string{}
	for _, s := range steps {
		f := s.Finding
		backups = append(backups, ledger.NewBackup(a.meta(st, f.RuleID, ec),
			ledger.Revocation{Rule: f.Rule.Permission(), Reason: f.Reason, Replacement: s.Replacement, Event: ec}))
		byDir[f.Direction] = append(byDir[f.Direction], f.RuleID)
	}
	if a.Ledger == nil {
		return fmt.Errorf("%s: %w", a.Function, ErrNoLedger)
	}
	if err := a.Ledger.Append(ctx, backups...); err != nil {
		// No backup, no revoke: tell people loudly and let FC retry.
		return a.backupFailed(ctx, st, steps, ec, owner, out, err)
	}
	if a.Cap != nil && a.Cap.confirm != nil {
		if kept := min(max(a.Cap.confirm(ctx, backups, len(steps)), 0), len(steps)); kept < len(steps) {
			// Other instances claimed the minute first: the rest waits for
			// the paced continuation, like any capped change. Their backups
			// stay, as claims; a restore of one finds the rule still there.
			for _, s := range steps[kept:] {
				out.Capped++
				out.Notified = append(out.Notified, s.Finding.RuleID)
			}
			steps, backups = steps[:kept], backups[:kept]
			byDir = map[rule.Direction][]string{}
			for _, s := range steps {
				byDir[s.Finding.Direction] = append(byDir[s.Finding.Direction], s.Finding.RuleID)
			}
		}
	}
	return a.revokeBackedUp(ctx, w, st, steps, backups, byDir, cause, owner, out)
}

// backupFailed tells people that the rules were not revoked because their
// backups could not be written.
func (a *Applier) backupFailed(_ context.Context, st observe.State, steps []plan.Step, ec ledger.EventContext, owner notify.Owner, out *Outcome, err error) error {
	for _, s := range steps {
		out.Notified = append(out.Notified, s.Finding.RuleID)
		ev := a.Event(s.Finding, st, ec, owner, notify.KindError, "NOT revoked: the ledger backup could not be written", "")
		ev.Detail = err.Error()
		out.Events = append(out.Events, ev)
	}
	return fmt.Errorf("%s: write backup of %d rules of %s: %w", a.Function, len(steps), st.GroupID, err)
}

// revokeBackedUp revokes the backed-up steps by id and records each outcome.
func (a *Applier) revokeBackedUp(ctx context.Context, w Writer, st observe.State, steps []plan.Step, backups []ledger.Record, byDir map[rule.Direction][]string, cause Cause, owner notify.Owner, out *Outcome) error {
	ec := cause.Event
	var errs []error
	done := map[string]bool{}
	gone := map[string]bool{}
	failed := map[string]error{}
	for _, dir := range []rule.Direction{rule.Ingress, rule.Egress} {
		ids := byDir[dir]
		if len(ids) == 0 {
			continue
		}
		var res cloud.RevokeResult
		err := a.write(ctx, func(ctx context.Context) (err error) {
			res, err = w.RevokeByID(ctx, st.GroupID, dir, ids)
			return err
		})
		for _, id := range res.Revoked {
			done[id] = true
		}
		for _, id := range res.Gone {
			gone[id] = true
		}
		out.Revoked = append(out.Revoked, res.Revoked...)
		out.Gone = append(out.Gone, res.Gone...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: revoke %v in %s: %w", a.Function, ids, st.GroupID, err))
			for _, id := range ids {
				if !done[id] && !gone[id] {
					failed[id] = err
				}
			}
		}
	}
	outcomes := make([]ledger.Record, 0, len(steps))
	revocationID := map[string]string{}
	for i, s := range steps {
		f := s.Finding
		m := a.meta(st, f.RuleID, ec)
		switch {
		case done[f.RuleID] && s.Kind == plan.Close:
			rec := ledger.NewClosure(m, ledger.Closure{AnnouncementID: s.Lifecycle.AnnouncementID, Rule: f.Rule.Permission(),
				Reason: f.Reason, BackupID: backups[i].ID})
			revocationID[f.RuleID] = rec.ID
			outcomes = append(outcomes, rec)
		case done[f.RuleID]:
			by, _ := cause.opener(f.Rule)
			rec := ledger.NewRevocation(m, ledger.Revocation{Rule: f.Rule.Permission(), Reason: f.Reason,
				Replacement: s.Replacement, Event: ec, OpenedBy: by, BackupID: backups[i].ID})
			revocationID[f.RuleID] = rec.ID
			outcomes = append(outcomes, rec)
		case gone[f.RuleID]:
			// Another run (often one started by an unrelated change on the
			// same group) revoked it first; if this run's event opened the
			// rule, this is where the ledger learns who did.
			fr := ledger.Finding{Rule: f.Rule.Permission(), Reason: f.Reason, Mode: "enforce", Action: "already gone", Event: ec}
			if by, _ := cause.opener(f.Rule); by != ledger.Unknown {
				fr.OpenedBy = by
			}
			outcomes = append(outcomes, ledger.NewFinding(m, fr))
		case failed[f.RuleID] != nil:
			outcomes = append(outcomes, ledger.NewFinding(m, ledger.Finding{Rule: f.Rule.Permission(), Reason: f.Reason, Mode: "enforce",
				Action: "revoke failed (" + ErrorClass(failed[f.RuleID]) + ")", Event: ec}))
		}
	}
	recorded := true
	if err := a.Ledger.Append(ctx, outcomes...); err != nil {
		// The rules are revoked (or not) all the same; the backups hold them.
		recorded = false
		a.log().ErrorContext(ctx, "record the outcome of revokes", "group", st.GroupID, "error", err)
	}
	for i, s := range steps {
		f := s.Finding
		if err := failed[f.RuleID]; err != nil {
			// The rule is still open: say so in this invocation's flush, not
			// at the next sweep. The invocation fails, so FC retries it.
			out.Notified = append(out.Notified, f.RuleID)
			ev := a.Event(f, st, ec, owner, notify.KindError, "NOT revoked: the revoke failed; the rule is still open and will be retried", "")
			ev.Detail = err.Error()
			out.Events = append(out.Events, ev)
			continue
		}
		if !done[f.RuleID] {
			continue
		}
		id := revocationID[f.RuleID]
		if !recorded {
			id = backups[i].ID
		}
		out.Ledger = append(out.Ledger, id)
		action := "revoked"
		if !recorded {
			action = "revoked (its ledger record failed: backup " + backups[i].ID + ")"
		}
		if s.Note != "" {
			action += "; " + s.Note
		}
		if len(s.Replacement) > 0 {
			if err := a.write(ctx, func(ctx context.Context) error { return w.Authorize(ctx, st.GroupID, f.Direction, s.Replacement) }); err != nil {
				errs = append(errs, fmt.Errorf("%s: authorize replacement of %s: %w", a.Function, f.RuleID, err))
				action += " (replacement for trusted sources FAILED)"
			} else {
				action += " and replaced by trusted sources"
			}
		}
		by, actor := cause.opener(f.Rule)
		a.log().InfoContext(ctx, "revoked", "group", st.GroupID, "rule", f.RuleID, "ports", f.Ports, "source", f.Source,
			"openedBy", by, "ledgerId", id, "undo", a.undo(id))
		kind := notify.KindExposureRevoked
		if s.Kind == plan.Close {
			kind, action = notify.KindReaperClosed, "closed: "+strings.TrimPrefix(action, "revoked")
		}
		ev := a.Event(f, st, ec, owner, kind, action, id)
		ev.Actor = actor
		if s.Kind == plan.Close {
			ev.Ports = rulePorts(f.Rule)
		}
		out.Events = append(out.Events, ev)
	}
	return errors.Join(errs...)
}

// lifecycle is the ledger record and the notification of a reaper
// announcement or its cancellation. An announcement's id is keyed by the
// group, the rule and the day (ledger.KeyedID): two runs announcing the same
// rule on the same day (a redelivered timer, overlapping runs inside SLS's
// index delay) write one record, dated at the day's start; the
// notification's id is keyed the same.
func (a *Applier) lifecycle(s plan.Step, st observe.State, ec ledger.EventContext, owner notify.Owner) (ledger.Record, notify.Event) {
	f, l := s.Finding, s.Lifecycle
	if l == nil {
		l = &plan.Lifecycle{}
	}
	body := ledger.Announcement{Rule: f.Rule.Permission(), Reason: f.Reason, EligibleAt: l.ClosesAt, Evidence: l.Evidence, Stage: ledger.StageAnnounced}
	kind, stage := notify.KindReaperAnnounced, "announced"
	if s.Kind == plan.Cancel {
		body.Stage, body.AnnouncementID = ledger.StageCancelled, l.AnnouncementID
		kind, stage = notify.KindReaperCancelled, "cancelled"
	}
	m := a.meta(st, f.RuleID, ec)
	m.Time = a.Now.UTC().Truncate(24 * time.Hour) // dated at its day: the key's slot
	rec := ledger.NewAnnouncement(m, body)
	day := m.Time.Format(time.DateOnly)
	rec.ID = ledger.KeyedID(m.Time, strings.Join([]string{a.Function, st.Region, st.GroupID, f.RuleID, stage, l.AnnouncementID}, "/"))
	ev := a.Event(f, st, ec, owner, kind, s.Note, rec.ID)
	ev.Ports = rulePorts(f.Rule)
	ev.ID = fmt.Sprintf("%s/%s/%s/%s/%s", a.Function, f.GroupID, f.RuleID, kind, cmp.Or(l.AnnouncementID, day))
	ev.UndoCommand = ""
	return rec, ev
}

// rulePorts is a rule's whole port range, for the reaper's messages (its
// findings name no exposed port).
func rulePorts(r rule.Rule) []notify.PortRange {
	if !r.Protocol.HasPorts() {
		return nil
	}
	return []notify.PortRange{{From: r.Ports.From, To: r.Ports.To}}
}

func (a *Applier) meta(st observe.State, ruleID string, ec ledger.EventContext) ledger.Meta {
	return ledger.Meta{Time: a.Now, Function: a.Function, GroupID: st.GroupID, Region: st.Region, RuleID: ruleID, EventID: ec.EventID}
}

// ErrorClass names the sentinel an error matches, for records and messages.
func ErrorClass(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{{cloud.ErrThrottled, "throttled"}, {cloud.ErrServer, "server error"}, {cloud.ErrForbidden, "forbidden"},
		{cloud.ErrQuota, "quota"}, {cloud.ErrNotFound, "not found"}, {cloud.ErrInvalid, "invalid"},
		{context.DeadlineExceeded, "timeout"}, {context.Canceled, "cancelled"}} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

func (a *Applier) log() *slog.Logger { return cmp.Or(a.Logger, slog.Default()) }

func (a *Applier) undo(id string) string {
	if a.UndoCommand == nil {
		return "porthygiene restore --id " + id
	}
	return a.UndoCommand(id)
}

// Event is the notification of one finding's outcome.
func (a *Applier) Event(f exposure.Finding, st observe.State, ec ledger.EventContext, owner notify.Owner, kind notify.Kind, action, ledgerID string) notify.Event {
	ports := make([]notify.PortRange, 0, len(f.Ports))
	for _, p := range f.Ports {
		ports = append(ports, notify.PortRange{From: p, To: p})
	}
	ev := notify.Event{
		// One occurrence: this rule, this kind of outcome, this event (or sweep).
		ID:        fmt.Sprintf("%s/%s/%s/%s/%s", a.Function, f.GroupID, f.RuleID, kind, cmp.Or(ledgerID, ec.EventID, "sweep")),
		Kind:      kind,
		Severity:  notify.Severity(f.Severity),
		Region:    st.Region,
		GroupID:   f.GroupID,
		GroupName: st.Name,
		RuleID:    f.RuleID,
		Direction: string(f.Direction),
		Protocol:  string(f.Protocol),
		Ports:     ports,
		Services:  f.Services,
		Source:    f.Source,
		Actor:     notify.Actor{Type: ec.ActorType, UserName: ec.ActorUserName, AccessKeyID: ec.ActorAccessKeyID, SourceIP: ec.SourceIP},
		EventTime: ec.EventTime,
		Action:    action,
		Detail:    f.Reason,
		Owner:     owner,
		LedgerID:  ledgerID,
	}
	if ledgerID != "" {
		ev.UndoCommand = a.undo(ledgerID)
	}
	if a.Buttons != nil {
		ev.Buttons = a.Buttons(ev)
	}
	return ev
}

// OwnerFromTags reads the routing tags of a group: "porthygiene-robot",
// "porthygiene-at" (comma-separated mobiles or user ids) and "team".
func OwnerFromTags(tags map[string]string) notify.Owner {
	o := notify.Owner{Team: tags["team"], Robot: tags["porthygiene-robot"]}
	for _, at := range strings.Split(tags["porthygiene-at"], ",") {
		at = strings.TrimSpace(at)
		switch {
		case at == "":
		case isDigits(at):
			o.AtMobiles = append(o.AtMobiles, at)
		default:
			o.AtUserIDs = append(o.AtUserIDs, at)
		}
	}
	return o
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
