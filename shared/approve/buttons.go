package approve

import (
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/notify"
)

// ButtonsIn returns the decision buttons for ev, each a link signed with key
// to base (the approve function's HTTP trigger URL), valid for DefaultTTL from
// now and usable once:
//
//	exposure-found, exposure-dry-run, reaper-announced: "keep open for 30 days", "close now"
//	exposure-revoked, reaper-closed:                     "restore" (kept open for 30 days)
//
// A button whose target the event lacks (a rule id, or the ledger id for a
// restore) is left out; no key (or one shorter than MinKeyLen) or no base
// gives none.
func ButtonsIn(lang notify.Lang, key []byte, base string, ev notify.Event, now time.Time) []notify.Button {
	if len(key) < MinKeyLen || base == "" {
		return nil
	}
	var actions []Action
	switch ev.Kind {
	case notify.KindExposureFound, notify.KindExposureDryRun, notify.KindReaperAnnounced:
		actions = []Action{ActionKeep, ActionClose}
	case notify.KindExposureRevoked, notify.KindReaperClosed:
		actions = []Action{ActionRestore}
	}
	var out []notify.Button
	for _, a := range actions {
		l := Link{Action: a, LedgerID: ev.LedgerID, GroupID: ev.GroupID, RuleID: ev.RuleID, Region: ev.Region,
			Expires: now.Add(DefaultTTL).UTC().Truncate(time.Second), Nonce: NewNonce()}
		if a.hasDays() {
			l.Days = DefaultKeepDays
		}
		if l.Validate() != nil {
			continue
		}
		out = append(out, notify.Button{Title: buttonTitle(lang, a, l.Days), URL: Sign(key, base, l)})
	}
	return out
}

func buttonTitle(lang notify.Lang, a Action, days int) string {
	if lang == notify.LangEN {
		switch a {
		case ActionKeep:
			return fmt.Sprintf("Keep open for %d days", days)
		case ActionClose:
			return "Close now"
		}
		return fmt.Sprintf("Restore (open for %d days)", days)
	}
	switch a {
	case ActionKeep:
		return fmt.Sprintf("保持开放 %d 天", days)
	case ActionClose:
		return "立即关闭"
	}
	return fmt.Sprintf("恢复（开放 %d 天）", days)
}
