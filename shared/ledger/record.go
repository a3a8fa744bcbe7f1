package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the schema version this package writes and reads.
const Version = "1"

// Kind is the type of a record.
type Kind string

const (
	KindFinding      Kind = "finding"      // an exposure the guard found (whatever it then did)
	KindBackup       Kind = "backup"       // a rule about to be changed, with its full backup (written before the change)
	KindRevocation   Kind = "revocation"   // a rule that was revoked, with its full backup (written after the revoke succeeded)
	KindRestore      Kind = "restore"      // a revoked or closed rule put back
	KindEvent        Kind = "event"        // an event processed (dedup)
	KindAnnouncement Kind = "announcement" // reaper: an unused rule announced for removal
	KindClosure      Kind = "closure"      // reaper: an announced rule removed, with its backup
	KindDecision     Kind = "decision"     // a human decision (exempt, close, restore) from DingTalk or the CLI
	KindExemption    Kind = "exemption"    // an exemption seen on a rule and announced (or announced as expiring)
	KindNotification Kind = "notification" // notifier: a message sent (or not)
	KindOutbox       Kind = "outbox"       // notifier: a message waiting to be sent
)

// Kinds lists every kind.
var Kinds = []Kind{KindFinding, KindBackup, KindRevocation, KindRestore, KindEvent, KindAnnouncement, KindClosure, KindDecision, KindExemption, KindNotification, KindOutbox, KindReplication}

func (k Kind) known() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("ledger record not found")
	// ErrVersion: a record of a schema version this binary does not read.
	ErrVersion = errors.New("unsupported ledger record version")
	// ErrUnknownKind: a record of a kind this binary does not know.
	ErrUnknownKind = errors.New("unknown ledger record kind")
	// ErrMalformed: a record that is not well formed (on write: invalid).
	ErrMalformed = errors.New("malformed ledger record")
)

// Meta is what every record carries besides its body.
type Meta struct {
	// Time is when the record's fact happened at the writer, i.e. the
	// handler's anchored now; stored in UTC at millisecond precision.
	Time     time.Time `json:"time"`
	Function string    `json:"function"`
	GroupID  string    `json:"groupId"`
	Region   string    `json:"region"`
	RuleID   string    `json:"ruleId"`
	EventID  string    `json:"eventId"`
}

// Record is one ledger entry. Build records with the NewX constructors and
// read bodies with the accessors of the same name.
type Record struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	V    string `json:"v"`
	Meta
	Body json.RawMessage `json:"body"`

	err error // a constructor's encoding failure, reported by Validate
}

func newRecord(kind Kind, m Meta, body any) Record {
	m.Time = m.Time.UTC().Truncate(time.Millisecond)
	r := Record{ID: NewID(m.Time), Kind: kind, V: Version, Meta: m}
	r.Body, r.err = json.Marshal(body)
	return r
}

// NewFinding records an exposure found.
func NewFinding(m Meta, b Finding) Record { return newRecord(KindFinding, m, b) }

// NewBackup records a rule about to be revoked, with its full backup. It is
// written before the revoke: no backup, no revoke.
func NewBackup(m Meta, b Revocation) Record { return newRecord(KindBackup, m, b) }

// NewRevocation records a rule that was revoked, with its backup. It is
// written after the revoke succeeded, and only then: a revocation record
// says what happened, not what was intended.
func NewRevocation(m Meta, b Revocation) Record { return newRecord(KindRevocation, m, b) }

// NewRestore records a rule put back.
func NewRestore(m Meta, b Restore) Record { return newRecord(KindRestore, m, b) }

// NewEvent records that the event m.EventID was processed.
func NewEvent(m Meta, b Event) Record { return newRecord(KindEvent, m, b) }

// NewAnnouncement records an unused rule announced for removal.
func NewAnnouncement(m Meta, b Announcement) Record { return newRecord(KindAnnouncement, m, b) }

// NewClosure records an announced rule removed.
func NewClosure(m Meta, b Closure) Record { return newRecord(KindClosure, m, b) }

// NewExemptionNotice records an exemption seen and announced.
func NewExemptionNotice(m Meta, b ExemptionNotice) Record { return newRecord(KindExemption, m, b) }

// NewDecision records a human decision.
func NewDecision(m Meta, b Decision) Record { return newRecord(KindDecision, m, b) }

// NewNotification records a message sent or failed.
func NewNotification(m Meta, b Notification) Record { return newRecord(KindNotification, m, b) }

// NewOutbox records a message waiting to be sent.
func NewOutbox(m Meta, b Outbox) Record { return newRecord(KindOutbox, m, b) }

// Finding is the body of a finding record.
func (r Record) Finding() (Finding, error) { return decodeBody[Finding](r, KindFinding) }

// Revocation is the body of a revocation record.
func (r Record) Revocation() (Revocation, error) { return decodeBody[Revocation](r, KindRevocation) }

// ExemptionNotice is the body of an exemption record.
func (r Record) ExemptionNotice() (ExemptionNotice, error) {
	return decodeBody[ExemptionNotice](r, KindExemption)
}

// Backup is the body of a backup record (a Revocation, written before).
func (r Record) Backup() (Revocation, error) { return decodeBody[Revocation](r, KindBackup) }

// Restore is the body of a restore record.
func (r Record) Restore() (Restore, error) { return decodeBody[Restore](r, KindRestore) }

// Event is the body of an event record.
func (r Record) Event() (Event, error) { return decodeBody[Event](r, KindEvent) }

// Announcement is the body of an announcement record.
func (r Record) Announcement() (Announcement, error) {
	return decodeBody[Announcement](r, KindAnnouncement)
}

// Closure is the body of a closure record.
func (r Record) Closure() (Closure, error) { return decodeBody[Closure](r, KindClosure) }

// Decision is the body of a decision record.
func (r Record) Decision() (Decision, error) { return decodeBody[Decision](r, KindDecision) }

// Notification is the body of a notification record.
func (r Record) Notification() (Notification, error) {
	return decodeBody[Notification](r, KindNotification)
}

// Outbox is the body of an outbox record.
func (r Record) Outbox() (Outbox, error) { return decodeBody[Outbox](r, KindOutbox) }

// decodeBody decodes the body strictly (unknown fields are errors).
func decodeBody[T any](r Record, want Kind) (T, error) {
	var v T
	if r.Kind != want {
		return v, fmt.Errorf("ledger record %s is a %s, not a %s", r.ID, r.Kind, want)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("%w: %s %s: body: %v", ErrMalformed, r.Kind, r.ID, err)
	}
	if dec.More() {
		return v, fmt.Errorf("%w: %s %s: body: trailing data", ErrMalformed, r.Kind, r.ID)
	}
	return v, nil
}

// Validate reports why r cannot be written (nil when it can).
func (r Record) Validate() error { return r.validate(true) }

// validate checks r; writing also checks that rule backups parse with the
// current rule package (reading does not, so that old records stay readable).
func (r Record) validate(writing bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s %s: %s", ErrMalformed, r.Kind, r.ID, fmt.Sprintf(format, args...))
	}
	if r.err != nil {
		return bad("encode body: %v", r.err)
	}
	if r.V != Version {
		return fmt.Errorf("%w %q (record %s): this binary writes version %s", ErrVersion, r.V, r.ID, Version)
	}
	if !r.Kind.known() {
		return fmt.Errorf("%w %q (record %s)", ErrUnknownKind, r.Kind, r.ID)
	}
	if r.Time.IsZero() {
		return bad("time is required")
	}
	idt, err := IDTime(r.ID)
	if err != nil {
		return err
	}
	if n, _ := NormalizeID(r.ID); n != r.ID {
		return bad("id is not canonical (want %s)", n)
	}
	if !idt.Equal(r.Time.Truncate(time.Millisecond)) {
		return bad("id time %s differs from record time %s", idt.Format(time.RFC3339Nano), r.Time.Format(time.RFC3339Nano))
	}
	if r.Function == "" {
		return bad("function is required")
	}
	return validateKind(r, writing)
}
