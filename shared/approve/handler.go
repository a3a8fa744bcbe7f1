package approve

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// Ledger is what the Handler needs of *ledger.Ledger.
type Ledger interface {
	// Append writes recs, all or none.
	Append(ctx context.Context, recs ...ledger.Record) error
	// Query returns the records f selects, sorted by (time, id).
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
}

var _ Ledger = (*ledger.Ledger)(nil)

// ErrReplayed: the link's nonce is already in a decision record.
var ErrReplayed = errors.New("decision link already used")

// By is Decision.By of the decisions the Handler records, and Via their
// channel.
const (
	By  = "dingtalk-link"
	Via = "dingtalk"
)

// DefaultFunction is the default Handler.Function.
const DefaultFunction = "approve"

// NonceKey is the Meta.EventID of the decision a link's nonce recorded: the
// key that makes a link usable once.
func NonceKey(nonce string) string { return "approve/" + nonce }

// Handler answers clicks on decision links, delivered as FC 3.0 HTTP trigger
// events. Its zero value refuses everything (no key, no ledger); it is safe
// for concurrent use.
type Handler struct {
	// Key is APPROVE_SIGNING_KEY. Shorter than MinKeyLen: every request is
	// refused (503) and logged.
	Key notify.Secret
	// Ledger records decisions. nil: every request is refused (503).
	Ledger Ledger
	// Now is the wall clock; nil: time.Now. A clock in the request's context
	// (clock.WithWall) comes first. Decisions are taken at
	// clock.Decide(wall, the request's time, clock.Skew).
	Now func() time.Time
	// Logger; nil: slog.Default().
	Logger *slog.Logger
	// Function is Meta.Function of the records; "": DefaultFunction.
	Function string
}

// Handle answers a decision link, in two steps, so that opening a link
// records nothing (chat clients fetch links to build previews):
//
//   - GET verifies the link and, when it is valid and unused, answers 200
//     with a confirmation page saying what would be recorded, whose form
//     POSTs the same signed parameters. It never writes.
//   - POST verifies the parameters again (those of the form body, else those
//     of the query) and, for a valid first use, appends one decision record
//     and answers 200 with a page saying what was recorded.
//
// Otherwise it writes nothing and answers with a page saying why:
//
//	400 malformed, 403 forged, 410 expired, 409 already used,
//	405 neither GET nor POST, 503 not configured or the ledger unavailable
//	(try again).
//
// SLS makes a write searchable by GetLogs only seconds later, so two POSTs of
// one link within that window both find it unused. The decision record is
// therefore keyed: dated at the second of the decision (DecisionSlot) with an
// id derived from the nonce (ledger.KeyedID), and its body depends on nothing
// else, so both POSTs write the same record, which every reader sees once.
// Only two POSTs racing across a second boundary can write two records; the
// later-seen one is answered 409, and readers take the first per NonceKey.
func (h *Handler) Handle(ctx context.Context, ev trigger.HTTPEvent) trigger.HTTPResponse {
	method := ev.RequestContext.HTTP.Method
	log := h.logger().With("requestId", ev.RequestContext.RequestID, "method", method)
	wall := clock.Wall(ctx, h.now)
	now, ahead := clock.Decide(wall, ev.Time(), clock.Skew)
	if ahead {
		log.WarnContext(ctx, "request time ahead of the wall clock ignored", "requestTime", ev.Time(), "wall", wall, "skew", clock.Skew)
	}
	if method != http.MethodGet && method != http.MethodPost {
		log.WarnContext(ctx, "decision link refused", "reason", "method")
		return respond(http.StatusMethodNotAllowed, pageMethod())
	}
	if len(h.Key) < MinKeyLen || h.Ledger == nil {
		log.ErrorContext(ctx, "decision links are disabled: APPROVE_SIGNING_KEY must be set (at least 16 bytes) and the ledger configured; every link is refused",
			"keySet", h.Key != "", "ledger", h.Ledger != nil)
		return respond(http.StatusServiceUnavailable, pageDisabled())
	}
	q, err := params(ev)
	if err != nil {
		log.WarnContext(ctx, "decision link refused", "err", err)
		return respond(http.StatusBadRequest, pageMalformed())
	}
	l, err := Verify([]byte(h.Key.Reveal()), q, now)
	if err != nil {
		log.WarnContext(ctx, "decision link refused", "err", err, "action", l.Action, "target", l.Target())
		switch {
		case errors.Is(err, ErrForged):
			return respond(http.StatusForbidden, pageForged())
		case errors.Is(err, ErrExpired):
			return respond(http.StatusGone, pageExpired(l))
		}
		return respond(http.StatusBadRequest, pageMalformed())
	}
	log = log.With("action", l.Action, "target", l.Target(), "nonce", l.Nonce)

	prior, err := h.decisions(ctx, l.Nonce)
	if err != nil {
		log.ErrorContext(ctx, "decision link: read the ledger; nothing recorded", "err", err)
		return respond(http.StatusServiceUnavailable, pageUnavailable())
	}
	if len(prior) > 0 {
		log.WarnContext(ctx, "decision link refused", "err", ErrReplayed, "decision", prior[0].ID)
		return respond(http.StatusConflict, pageReplayed(prior[0]))
	}
	if method == http.MethodGet {
		log.InfoContext(ctx, "decision link opened; awaiting confirmation")
		return respond(http.StatusOK, pageConfirm(l, q, now))
	}

	rec := h.record(l, now)
	if err := h.Ledger.Append(ctx, rec); err != nil {
		log.ErrorContext(ctx, "decision link: record the decision; nothing recorded", "err", err)
		return respond(http.StatusServiceUnavailable, pageUnavailable())
	}
	// A concurrent confirmation of the same link may have been appended
	// meanwhile: the first record is the decision.
	if after, err := h.decisions(ctx, l.Nonce); err != nil {
		log.WarnContext(ctx, "decision link: re-read after recording", "err", err)
	} else if len(after) > 0 && after[0].ID != rec.ID {
		log.WarnContext(ctx, "decision link confirmed twice at once; the first decision stands", "decision", after[0].ID, "duplicate", rec.ID)
		return respond(http.StatusConflict, pageReplayed(after[0]))
	}
	log.InfoContext(ctx, "decision recorded", "decision", rec.ID)
	return respond(http.StatusOK, pageRecorded(l, rec))
}

// maxFormBytes bounds a POST's form body; a confirmation form is far smaller.
const maxFormBytes = 8 << 10

// params are the link's parameters: a POST's form body
// (application/x-www-form-urlencoded) when it carries any, else the query.
func params(ev trigger.HTTPEvent) (url.Values, error) {
	q := url.Values{}
	for k, v := range ev.QueryParameters {
		q.Set(k, v)
	}
	if ev.RequestContext.HTTP.Method != http.MethodPost || ev.Body == "" {
		return q, nil
	}
	mt, _, _ := mime.ParseMediaType(ev.Header("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return q, nil
	}
	body, err := ev.DecodedBody()
	if err != nil {
		return nil, linkErr(ErrMalformed, "the form body is not base64")
	}
	if len(body) > maxFormBytes {
		return nil, linkErr(ErrMalformed, "the form body has %d bytes, more than %d", len(body), maxFormBytes)
	}
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, linkErr(ErrMalformed, "the form body is not URL-encoded")
	}
	if len(f) == 0 {
		return q, nil
	}
	return f, nil
}

// decisions returns the decision records of nonce, oldest first.
func (h *Handler) decisions(ctx context.Context, nonce string) ([]ledger.Record, error) {
	return h.Ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}, EventID: NonceKey(nonce)})
}

// DecisionSlot is the granularity of a decision record's time: the record is
// dated at the start of the second it was taken in, so that every POST of one
// link in that second writes the same record. (A coarser slot would make
// more racing POSTs one record, but would tie decisions of different links
// on one rule, which readers order by time: the latest decision stands.)
const DecisionSlot = time.Second

// record is the decision l asks for, taken at now: dated at now's
// DecisionSlot and keyed by the link's nonce, so that it is the same record
// whoever writes it within the slot.
func (h *Handler) record(l Link, now time.Time) ledger.Record {
	now = now.UTC().Truncate(DecisionSlot)
	d := ledger.Decision{Action: l.Action.LedgerAction(), Target: l.Target(), By: By, Via: Via, Reason: reason(l)}
	if l.Action.hasDays() {
		d.Until = now.Add(time.Duration(l.Days) * 24 * time.Hour).UTC()
	}
	fn := h.Function
	if fn == "" {
		fn = DefaultFunction
	}
	m := ledger.Meta{Time: now, Function: fn, GroupID: l.GroupID, Region: l.Region, RuleID: l.RuleID, EventID: NonceKey(l.Nonce)}
	rec := ledger.NewDecision(m, d)
	rec.ID = ledger.KeyedID(rec.Time, NonceKey(l.Nonce))
	return rec
}

func reason(l Link) string {
	switch l.Action {
	case ActionKeep:
		return "keep open (DingTalk decision link)"
	case ActionClose:
		return "close now (DingTalk decision link)"
	}
	return "restore and keep open (DingTalk decision link)"
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
