package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind says what an Event reports.
type Kind string

const (
	KindExposureRevoked   Kind = "exposure-revoked"   // an exposing rule was revoked
	KindExposureFound     Kind = "exposure-found"     // an exposing rule was found and left (exempt, monitor-only)
	KindExposureDryRun    Kind = "exposure-dry-run"   // dry run: the rule would have been revoked
	KindReaperAnnounced   Kind = "reaper-announced"   // a temporary rule will be closed on a date
	KindReaperClosed      Kind = "reaper-closed"      // a temporary rule was closed
	KindReaperCancelled   Kind = "reaper-cancelled"   // an announced closure was called off (traffic, exemption, change)
	KindReaperReview      Kind = "reaper-review"      // the monthly port review of a group (REJECTed probes, verdicts)
	KindReplicated        Kind = "replicated"         // a rule was replicated to other groups/regions
	KindRestored          Kind = "restored"           // a revoked rule was put back (an owner's decision)
	KindExemptionNew      Kind = "exemption-new"      // an exemption keeps an exposing rule open: who, why, until when
	KindExemptionExpiring Kind = "exemption-expiring" // an exemption ends soon; the rule is closed then
	KindError             Kind = "error"              // porthygiene failed to do its job
)

// Severity ranks an Event; the zero value renders as info.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// PortRange is an inclusive port range; {-1,-1} is "any" (as the ECS API
// writes "-1/-1"). It has the shape of shared/rule.PortRange, so
// notify.PortRange(r.Ports) converts.
type PortRange struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Actor is who made the change, from the ActionTrail record.
type Actor struct {
	Type        string `json:"type,omitempty"`        // ActionTrail userIdentity.type: root-account, ram-user, assumed-role, …
	UserName    string `json:"userName,omitempty"`    // user or role session name
	AccessKeyID string `json:"accessKeyId,omitempty"` // rendered as a short prefix only
	SourceIP    string `json:"sourceIp,omitempty"`
}

// Owner routes an Event: the robot named by the security group's tag, the
// people to mention, and the owning team. An empty or unknown Robot means the
// default robot.
type Owner struct {
	Team      string   `json:"team,omitempty"`
	Robot     string   `json:"robot,omitempty"`
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
}

// Button is a link offered with the event (e.g. a signed "keep open for 30
// days" link to the approve function).
type Button struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Event is one thing to tell people. ID is the dedup key: one occurrence (a
// finding, an announcement) has one ID, and an ID is shown once. Events are
// values; the notifier persists them as JSON in the outbox.
type Event struct {
	ID        string      `json:"id"`
	Kind      Kind        `json:"kind"`
	Severity  Severity    `json:"severity,omitempty"`
	Region    string      `json:"region,omitempty"`
	GroupID   string      `json:"groupId,omitempty"`
	GroupName string      `json:"groupName,omitempty"`
	RuleID    string      `json:"ruleId,omitempty"`
	Direction string      `json:"direction,omitempty"` // ingress | egress
	Protocol  string      `json:"protocol,omitempty"`
	Ports     []PortRange `json:"ports,omitempty"`
	Services  []string    `json:"services,omitempty"` // e.g. ssh, rdp, mysql
	Source    string      `json:"source,omitempty"`   // the peer: CIDR, sg-…, pl-…
	Actor     Actor       `json:"actor,omitzero"`
	EventTime time.Time   `json:"eventTime,omitzero"`
	// Action is what porthygiene did, in the message's words: "revoked",
	// "will close on 2026-12-01", "dry-run: would revoke".
	Action      string   `json:"action,omitempty"`
	UndoCommand string   `json:"undoCommand,omitempty"` // e.g. "porthygiene restore --id L…"
	Detail      string   `json:"detail,omitempty"`      // free text, e.g. the error of a KindError
	Owner       Owner    `json:"owner,omitzero"`
	LedgerID    string   `json:"ledgerId,omitempty"`
	Buttons     []Button `json:"buttons,omitempty"`
}

// withID returns e with an ID: events without one get a content hash, so a
// repeat of the same content is still shown once.
func (e Event) withID() Event {
	if e.ID != "" {
		return e
	}
	b, _ := marshalNoEscape(e)
	sum := sha256.Sum256(b)
	e.ID = "h-" + hex.EncodeToString(sum[:12])
	return e
}
