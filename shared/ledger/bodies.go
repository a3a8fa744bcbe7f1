package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/rule"
)

// EventContext says who did what, from where and when: the ActionTrail event
// behind an action. Empty fields mean unknown (a sweep has no event).
type EventContext struct {
	Source           string    `json:"source,omitempty"` // eventbridge | sls | sweep | cli
	EventID          string    `json:"eventId,omitempty"`
	EventName        string    `json:"eventName,omitempty"`
	EventTime        time.Time `json:"eventTime,omitzero"`
	RequestID        string    `json:"requestId,omitempty"`
	SourceIP         string    `json:"sourceIp,omitempty"`
	ActorType        string    `json:"actorType,omitempty"` // userIdentity.type
	ActorUserName    string    `json:"actorUserName,omitempty"`
	ActorAccessKeyID string    `json:"actorAccessKeyId,omitempty"`
}

// Finding: an exposure and what the guard did about it.
// Meta: GroupID and Region required; RuleID when the rule has one.
type Finding struct {
	Rule   rule.Permission `json:"rule"`
	Reason string          `json:"reason"` // e.g. "tcp/22 open to 0.0.0.0/0"
	Mode   string          `json:"mode"`   // enforce | notify | dry-run
	Action string          `json:"action"` // revoke | notify | plan | exempt | capped | already gone | revoke failed (class) ...
	Event  EventContext    `json:"event"`
	// OpenedBy is who opened the rule when Event is the call that did
	// (see Revocation.OpenedBy); empty when not known. A run whose event
	// opened a rule that another run revoked first records it here.
	OpenedBy string `json:"openedBy,omitempty"`
}

// Revocation: the full backup of a rule. As a backup record it is written
// before the revoke; as a revocation record after the revoke succeeded, with
// BackupID naming the backup. Meta: GroupID, Region and RuleID required. Rule.Direction must be ingress
// or egress, Rule.SecurityGroupRuleId (when set) must equal Meta.RuleID, and
// Rule must parse (rule.Permission.Rule) so that a restore can re-authorize it.
type Revocation struct {
	Rule      rule.Permission `json:"rule"`
	Reason    string          `json:"reason"`
	FindingID string          `json:"findingId,omitempty"`
	// Replacement is what replace mode authorizes instead (no rule ids yet).
	Replacement []rule.Permission `json:"replacement,omitempty"`
	// Event is what started the run that revoked the rule (the trigger).
	Event EventContext `json:"event"`
	// OpenedBy is who opened the rule: the principal of the call that
	// created or last modified it, when Event is that call, else "unknown".
	// Never the principal of an unrelated event.
	OpenedBy string `json:"openedBy,omitempty"`
	// BackupID names the backup record written before the revoke.
	BackupID string `json:"backupId,omitempty"`
}

// Unknown is OpenedBy when the call that opened a rule is not known.
const Unknown = "unknown"

// ExemptionNotice: an exemption seen on a rule, announced to people. The
// first notice of an exemption (Stage "announced") fixes when it ends: Until
// is Asked cut to the policy's maximum length from then, and a later run
// never lets it run longer. Meta: GroupID, Region and RuleID required.
type ExemptionNotice struct {
	Source string    `json:"source"` // description | tag | ledger
	Owner  string    `json:"owner"`
	Reason string    `json:"reason,omitempty"`
	Asked  time.Time `json:"asked"` // the until as written
	Until  time.Time `json:"until"` // when it ends
	Cut    bool      `json:"cut,omitempty"`
	Ports  []int     `json:"ports,omitempty"`
	// WrittenBy is the principal of the call that wrote it, or "unknown";
	// SelfExempted is set when that principal also opened the port.
	WrittenBy    string `json:"writtenBy"`
	SelfExempted bool   `json:"selfExempted,omitempty"`
	Stage        string `json:"stage"` // announced | expiring
}

// Exemption keeps a rule in place until Until.
type Exemption struct {
	Until  time.Time `json:"until"`
	Owner  string    `json:"owner"`
	Reason string    `json:"reason"`
}

// Restore: a revoked (or closed) rule put back.
// Meta: GroupID and Region required. LedgerID and By required.
type Restore struct {
	LedgerID  string          `json:"ledgerId"` // the revocation or closure restored
	Rule      rule.Permission `json:"rule"`     // what was re-authorized
	NewRuleID string          `json:"newRuleId,omitempty"`
	Exemption *Exemption      `json:"exemption,omitempty"`
	By        string          `json:"by"`
	Reason    string          `json:"reason,omitempty"`
}

// Event: an event processed. Meta: EventID (the dedup key) required.
type Event struct {
	Source    string    `json:"source"` // eventbridge | sls | timer | http
	EventName string    `json:"eventName,omitempty"`
	EventTime time.Time `json:"eventTime,omitzero"`
	Outcome   string    `json:"outcome,omitempty"` // handled | ignored-own-role | ignored-failed-call ...
}

// Announcement (reaper): an unused rule announced for removal.
// Meta: GroupID, Region and RuleID required.
type Announcement struct {
	Rule       rule.Permission `json:"rule"`
	Reason     string          `json:"reason"`
	EligibleAt time.Time       `json:"eligibleAt"` // not removed before
	Evidence   string          `json:"evidence,omitempty"`
	// Stage is "announced" (or empty, the same) for an announcement, and
	// "cancelled" for the end of one without a closure (traffic appeared, an
	// exemption or a keep decision, the rule changed); a cancellation names
	// the announcement in AnnouncementID. Added to version 1.
	Stage          string `json:"stage,omitempty"`
	AnnouncementID string `json:"announcementId,omitempty"`
}

// Announcement stages.
const (
	StageAnnounced = "announced"
	StageCancelled = "cancelled"
)

// Closure (reaper): an announced rule removed, with its backup.
// Meta: GroupID, Region and RuleID required; AnnouncementID required.
type Closure struct {
	AnnouncementID string          `json:"announcementId"`
	Rule           rule.Permission `json:"rule"`
	Reason         string          `json:"reason"`
	// BackupID names the backup record written before the revoke. Added
	// to version 1.
	BackupID string `json:"backupId,omitempty"`
}

// Decision: a human decision. Action (exempt | close | restore), Target (the
// ledger id decided on) and By required.
type Decision struct {
	Action string    `json:"action"`
	Target string    `json:"target"`
	By     string    `json:"by"`
	Until  time.Time `json:"until,omitzero"` // exemption expiry
	Reason string    `json:"reason,omitempty"`
	Via    string    `json:"via,omitempty"` // dingtalk | cli
}

// Notification (notifier): a message sent, failed or suppressed. Robot required.
type Notification struct {
	Robot    string   `json:"robot"`
	Title    string   `json:"title"`
	Refs     []string `json:"refs,omitempty"` // ledger ids reported
	Status   string   `json:"status"`         // sent | failed | suppressed
	Error    string   `json:"error,omitempty"`
	Attempts int      `json:"attempts,omitempty"`
	// Until ends a robot's silence (status "penalized", written by
	// shared/notifystore after a 130101 answer). Added to version 1.
	Until time.Time `json:"until,omitzero"`
}

// Outbox (notifier): a message waiting to be sent. Robot required.
type Outbox struct {
	Robot     string    `json:"robot"`
	Title     string    `json:"title"`
	Markdown  string    `json:"markdown"`
	Refs      []string  `json:"refs,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Pending is the notifier's queued event (a notify.Pending as JSON, opaque
	// here), keyed by Meta.EventID; written by shared/notifystore. Added to
	// version 1.
	Pending json.RawMessage `json:"pending,omitempty"`
	// Done is a tombstone: the event Meta.EventID left the outbox (delivered
	// or dropped). Added to version 1.
	Done bool `json:"done,omitempty"`
}

// validateKind checks the kind's required fields and decodes the body strictly.
func validateKind(r Record, writing bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s %s: %s", ErrMalformed, r.Kind, r.ID, fmt.Sprintf(format, args...))
	}
	need := func(pairs ...string) error {
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i+1] == "" {
				return bad("%s is required", pairs[i])
			}
		}
		return nil
	}
	switch r.Kind {
	case KindFinding:
		if _, err := r.Finding(); err != nil {
			return err
		}
		return need("groupId", r.GroupID, "region", r.Region)
	case KindRevocation, KindBackup:
		b, err := decodeBody[Revocation](r, r.Kind)
		if err != nil {
			return err
		}
		if err := need("groupId", r.GroupID, "region", r.Region, "ruleId", r.RuleID); err != nil {
			return err
		}
		return checkBackup(bad, r, b.Rule, writing)
	case KindRestore:
		b, err := r.Restore()
		if err != nil {
			return err
		}
		if err := need("groupId", r.GroupID, "region", r.Region, "body.ledgerId", b.LedgerID, "body.by", b.By); err != nil {
			return err
		}
		if _, err := NormalizeID(b.LedgerID); err != nil {
			return bad("body.ledgerId: %v", err)
		}
		if b.Exemption != nil && b.Exemption.Until.IsZero() {
			return bad("body.exemption.until is required")
		}
		return nil
	case KindExemption:
		b, err := r.ExemptionNotice()
		if err != nil {
			return err
		}
		if b.Stage != "announced" && b.Stage != "expiring" {
			return bad("body.stage %q: want announced or expiring", b.Stage)
		}
		return need("groupId", r.GroupID, "region", r.Region, "ruleId", r.RuleID, "body.source", b.Source, "body.owner", b.Owner)
	case KindEvent:
		b, err := r.Event()
		if err != nil {
			return err
		}
		return need("eventId", r.EventID, "body.source", b.Source)
	case KindAnnouncement:
		b, err := r.Announcement()
		if err != nil {
			return err
		}
		if err := need("groupId", r.GroupID, "region", r.Region, "ruleId", r.RuleID); err != nil {
			return err
		}
		return checkBackup(bad, r, b.Rule, writing)
	case KindClosure:
		b, err := r.Closure()
		if err != nil {
			return err
		}
		if err := need("groupId", r.GroupID, "region", r.Region, "ruleId", r.RuleID, "body.announcementId", b.AnnouncementID); err != nil {
			return err
		}
		return checkBackup(bad, r, b.Rule, writing)
	case KindDecision:
		b, err := r.Decision()
		if err != nil {
			return err
		}
		return need("body.action", b.Action, "body.target", b.Target, "body.by", b.By)
	case KindNotification:
		b, err := r.Notification()
		if err != nil {
			return err
		}
		return need("body.robot", b.Robot, "body.status", b.Status)
	case KindReplication:
		return validateReplication(r, bad)
	case KindOutbox:
		b, err := r.Outbox()
		if err != nil {
			return err
		}
		return need("body.robot", b.Robot)
	}
	return fmt.Errorf("%w %q (record %s)", ErrUnknownKind, r.Kind, r.ID)
}

// checkBackup insists that a backup can be re-authorized exactly.
func checkBackup(bad func(string, ...any) error, r Record, p rule.Permission, writing bool) error {
	if p.SecurityGroupRuleId != "" && p.SecurityGroupRuleId != r.RuleID {
		return bad("body.rule.SecurityGroupRuleId %q differs from ruleId %q", p.SecurityGroupRuleId, r.RuleID)
	}
	if p.Direction != string(rule.Ingress) && p.Direction != string(rule.Egress) {
		return bad("body.rule.Direction %q: want ingress or egress", p.Direction)
	}
	if !writing {
		return nil
	}
	if _, err := p.Rule(r.GroupID, r.Region); err != nil {
		return bad("body.rule does not parse, so it could not be restored: %v", err)
	}
	return nil
}
