package approve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
)

// Action is what a decision link asks for.
type Action string

const (
	// ActionKeep keeps a rule open for Link.Days (an exemption).
	ActionKeep Action = "keep"
	// ActionClose closes a rule now.
	ActionClose Action = "close"
	// ActionRestore puts a revoked or closed rule back (needs the ledger id
	// of the revocation or closure, which holds the backup) and keeps it open
	// for Link.Days, or the guard would revoke it again at once.
	ActionRestore Action = "restore"
)

// LedgerAction is the ledger Decision.Action an Action records: "exempt",
// "close" or "restore".
func (a Action) LedgerAction() string {
	if a == ActionKeep {
		return "exempt"
	}
	return string(a)
}

// hasDays reports whether the action keeps a rule open for some days.
func (a Action) hasDays() bool { return a == ActionKeep || a == ActionRestore }

// Link limits and defaults.
const (
	DefaultKeepDays = 30
	MaxKeepDays     = 365
	DefaultTTL      = 7 * 24 * time.Hour // how long a button works
	// MinKeyLen is the shortest signing key accepted (bytes).
	MinKeyLen = 16
)

// Link is one signed decision: an action on a ledger record (LedgerID) and/or
// a rule (GroupID, RuleID), valid until Expires, usable once (Nonce).
type Link struct {
	Action   Action
	LedgerID string // the record decided on (revocation, closure, announcement, finding)
	GroupID  string
	RuleID   string
	Region   string
	Days     int       // keep and restore: how long it stays open; 0 means DefaultKeepDays
	Expires  time.Time // whole seconds
	Nonce    string    // 16–64 letters and digits; Sign fills an empty one
}

// Target is what the decision is about, as recorded in Decision.Target: the
// ledger id when there is one, else "group/rule" (or the group alone).
func (l Link) Target() string {
	switch {
	case l.LedgerID != "":
		return l.LedgerID
	case l.RuleID != "":
		return l.GroupID + "/" + l.RuleID
	}
	return l.GroupID
}

// Errors of Verify; each is wrapped in a *LinkError saying why.
var (
	ErrMalformed = errors.New("malformed decision link")
	ErrForged    = errors.New("forged decision link") // the signature does not match
	ErrExpired   = errors.New("expired decision link")
	ErrNoKey     = errors.New("no signing key configured")
)

// LinkError is a refused link. Detail names the field, never the signature or
// the key.
type LinkError struct {
	Err    error // ErrMalformed, ErrForged, ErrExpired or ErrNoKey
	Detail string
}

func (e *LinkError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

func (e *LinkError) Unwrap() error { return e.Err }

func linkErr(err error, format string, a ...any) error {
	return &LinkError{Err: err, Detail: fmt.Sprintf(format, a...)}
}

// The query parameters, in the order a link carries them. Every one but sig
// is signed.
const (
	pAction  = "a"
	pLedger  = "l"
	pGroup   = "g"
	pRule    = "r"
	pRegion  = "rg"
	pDays    = "d"
	pExpires = "exp"
	pNonce   = "n"
	pSig     = "sig"
)

var signed = []string{pAction, pLedger, pGroup, pRule, pRegion, pDays, pExpires, pNonce}

// token is the syntax of every signed value: it keeps the canonical string
// unambiguous (no newline can move a value from one field to another).
var (
	token   = regexp.MustCompile(`^[A-Za-z0-9._:/-]{0,128}$`)
	idToken = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	nonceRe = regexp.MustCompile(`^[A-Za-z0-9]{16,64}$`)
	sigRe   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// canonical is the signed message: a version line, then each signed value on
// its own line, in the fixed order of signed.
func canonical(vals func(string) string) []byte {
	var b strings.Builder
	b.WriteString("porthygiene-approve/v1")
	for _, k := range signed {
		b.WriteByte('\n')
		b.WriteString(vals(k))
	}
	return []byte(b.String())
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// values is l as query values ("" for absent ones).
func (l Link) values() map[string]string {
	v := map[string]string{
		pAction: string(l.Action), pLedger: l.LedgerID, pGroup: l.GroupID, pRule: l.RuleID, pRegion: l.Region,
		pExpires: strconv.FormatInt(l.Expires.Unix(), 10), pNonce: l.Nonce,
	}
	if l.Action.hasDays() {
		v[pDays] = strconv.Itoa(l.Days)
	}
	return v
}

// NewNonce returns a random nonce (32 hex digits).
func NewNonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Sign returns the link's URL: base + "?a=keep&l=…&g=…&r=…&rg=…&d=30&exp=<unix>&n=<nonce>&sig=<hex HMAC-SHA256>",
// absent values left out. A keep or restore link without Days gets DefaultKeepDays and a
// link without a Nonce gets a random one. Sign does not validate l: check
// l.Validate first, or Verify will refuse the link as malformed.
func Sign(key []byte, base string, l Link) string {
	if l.Action.hasDays() && l.Days == 0 {
		l.Days = DefaultKeepDays
	}
	if l.Nonce == "" {
		l.Nonce = NewNonce()
	}
	v := l.values()
	var b strings.Builder
	b.WriteString(base)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, k := range signed {
		if v[k] == "" {
			continue
		}
		b.WriteString(sep + k + "=" + url.QueryEscape(v[k]))
		sep = "&"
	}
	sig := mac(key, canonical(func(k string) string { return v[k] }))
	b.WriteString(sep + pSig + "=" + hex.EncodeToString(sig))
	return b.String()
}

// Validate reports why l cannot be signed into a usable link.
func (l Link) Validate() error {
	bad := func(format string, a ...any) error { return linkErr(ErrMalformed, format, a...) }
	switch l.Action {
	case ActionKeep, ActionClose, ActionRestore:
	default:
		return bad("unknown action %q", l.Action)
	}
	if l.LedgerID != "" {
		if n, err := ledger.NormalizeID(l.LedgerID); err != nil || n != l.LedgerID {
			return bad("ledger id is not a canonical ledger id")
		}
	}
	for _, f := range []struct{ name, v string }{{"group", l.GroupID}, {"rule", l.RuleID}, {"region", l.Region}} {
		if f.v != "" && !idToken.MatchString(f.v) {
			return bad("%s id has characters an id does not have", f.name)
		}
	}
	switch {
	case l.Action == ActionRestore && l.LedgerID == "":
		return bad("restore needs the ledger id of the revocation or closure")
	case l.LedgerID == "" && (l.GroupID == "" || l.RuleID == ""):
		return bad("%s needs a ledger id or a group and rule id", l.Action)
	case l.RuleID != "" && l.GroupID == "":
		return bad("a rule id needs its group id")
	}
	if l.Action.hasDays() {
		if l.Days < 1 || l.Days > MaxKeepDays {
			return bad("days %d: want 1..%d", l.Days, MaxKeepDays)
		}
	} else if l.Days != 0 {
		return bad("days are for keep and restore only")
	}
	if l.Expires.IsZero() {
		return bad("no expiry")
	}
	if !nonceRe.MatchString(l.Nonce) {
		return bad("nonce: want 16 to 64 letters and digits")
	}
	return nil
}

// Verify checks a clicked link's query at now and returns its Link. In order:
// syntax (ErrMalformed), the signature in constant time (ErrForged; before
// any value is interpreted), the values (ErrMalformed), the expiry
// (ErrExpired, returned with the Link so the caller can say what expired).
// Parameters other than the link's own are ignored; a repeated one is
// malformed.
func Verify(key []byte, q url.Values, now time.Time) (Link, error) {
	if len(key) == 0 {
		return Link{}, &LinkError{Err: ErrNoKey}
	}
	get := func(k string) string {
		if vs := q[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	for _, k := range append([]string{pSig}, signed...) {
		if len(q[k]) > 1 {
			return Link{}, linkErr(ErrMalformed, "parameter %s given %d times", k, len(q[k]))
		}
		if k != pSig && !token.MatchString(get(k)) {
			return Link{}, linkErr(ErrMalformed, "parameter %s has characters a link does not have", k)
		}
	}
	for _, k := range []string{pAction, pExpires, pNonce, pSig} {
		if get(k) == "" {
			return Link{}, linkErr(ErrMalformed, "parameter %s is missing", k)
		}
	}
	sig := get(pSig)
	if !sigRe.MatchString(sig) {
		return Link{}, linkErr(ErrMalformed, "sig is not 64 lower-case hex digits")
	}
	got, _ := hex.DecodeString(sig)
	if !hmac.Equal(got, mac(key, canonical(get))) {
		return Link{}, linkErr(ErrForged, "the signature does not match the link")
	}

	l := Link{Action: Action(get(pAction)), LedgerID: get(pLedger), GroupID: get(pGroup), RuleID: get(pRule), Region: get(pRegion), Nonce: get(pNonce)}
	exp, err := strconv.ParseInt(get(pExpires), 10, 64)
	if err != nil {
		return Link{}, linkErr(ErrMalformed, "exp is not a Unix time")
	}
	l.Expires = time.Unix(exp, 0).UTC()
	if d := get(pDays); d != "" {
		if l.Days, err = strconv.Atoi(d); err != nil {
			return Link{}, linkErr(ErrMalformed, "d is not a number of days")
		}
	}
	if err := l.Validate(); err != nil {
		return Link{}, err
	}
	if !now.Before(l.Expires) {
		return l, linkErr(ErrExpired, "expired at %s", l.Expires.Format(time.RFC3339))
	}
	return l, nil
}
