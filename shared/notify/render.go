package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// words holds every fixed string of one language.
type words struct {
	kinds                                  map[Kind]string
	actions                                map[Kind]string // default Action per kind
	severities                             map[Severity]string
	actorTypes                             map[string]string
	what, who, did, undo, record, detail   string
	team, event, unknown, anyPort, port    string
	ingress, egress, src, dst, ip          string
	region, group, rule, ak                string
	digestTitle, part, total, sep, listSep string
	colon, space                           string // label colon; space between words
	zone                                   *time.Location
	timeFmt                                string
}

var zh = words{
	kinds: map[Kind]string{
		KindExposureRevoked: "已撤销暴露规则", KindExposureFound: "发现暴露规则",
		KindExposureDryRun: "发现暴露规则（演练，未撤销）", KindReaperAnnounced: "临时规则即将关闭",
		KindReaperClosed: "临时规则已关闭", KindReaperCancelled: "规则关闭已取消", KindReaperReview: "每月端口使用情况核查", KindReplicated: "规则已复制", KindRestored: "规则已恢复", KindError: "porthygiene 处理出错",
		KindExemptionNew: "新的豁免：暴露规则保持开放", KindExemptionExpiring: "豁免即将到期",
	},
	actions: map[Kind]string{
		KindExposureRevoked: "已撤销", KindExposureFound: "未处理（仅通知）", KindExposureDryRun: "演练：本应撤销",
		KindReaperAnnounced: "将按期关闭", KindReaperClosed: "已关闭", KindReaperCancelled: "保留，不再关闭", KindReaperReview: "核查", KindReplicated: "已复制", KindRestored: "已恢复", KindError: "需人工检查",
		KindExemptionNew: "保持开放至豁免到期", KindExemptionExpiring: "到期后关闭",
	},
	severities: map[Severity]string{SeverityCritical: "严重", SeverityHigh: "高", SeverityMedium: "中", SeverityLow: "低", SeverityInfo: "提示"},
	actorTypes: map[string]string{"root-account": "主账号", "ram-user": "RAM 用户", "assumed-role": "角色", "system": "系统"},
	what:       "发生了什么", who: "谁 / 何时", did: "处理", undo: "撤销方法", record: "记录", detail: "说明",
	team: "负责团队", event: "事件", unknown: "未知", anyPort: "全部端口", port: "端口",
	ingress: "入方向", egress: "出方向", src: "来源", dst: "目的", ip: "来源 IP",
	region: "地域", group: "安全组", rule: "规则", ak: "AK",
	digestTitle: "安全组通知 %d 条", part: "（%d/%d）", total: "共 %d 条：", sep: "，", listSep: "、", colon: "：", space: "",
	zone: time.FixedZone("UTC+8", 8*3600), timeFmt: "2006-01-02 15:04:05 (UTC+8)",
}

var en = words{
	kinds: map[Kind]string{
		KindExposureRevoked: "Exposed rule revoked", KindExposureFound: "Exposed rule found",
		KindExposureDryRun: "Exposed rule found (dry run, not revoked)", KindReaperAnnounced: "Temporary rule will be closed",
		KindReaperClosed: "Temporary rule closed", KindReaperCancelled: "Closure called off", KindReaperReview: "Monthly port review", KindReplicated: "Rule replicated", KindRestored: "Rule restored", KindError: "porthygiene error",
		KindExemptionNew: "New exemption: an exposed rule stays open", KindExemptionExpiring: "Exemption ends soon",
	},
	actions: map[Kind]string{
		KindExposureRevoked: "revoked", KindExposureFound: "none (notice only)", KindExposureDryRun: "dry-run: would revoke",
		KindReaperAnnounced: "will close on schedule", KindReaperClosed: "closed", KindReaperCancelled: "kept, no longer closing", KindReaperReview: "review", KindReplicated: "replicated", KindRestored: "restored", KindError: "needs a human",
		KindExemptionNew: "left open until the exemption ends", KindExemptionExpiring: "closed when it ends",
	},
	severities: map[Severity]string{SeverityCritical: "critical", SeverityHigh: "high", SeverityMedium: "medium", SeverityLow: "low", SeverityInfo: "info"},
	actorTypes: map[string]string{"root-account": "root account", "ram-user": "RAM user", "assumed-role": "assumed role", "system": "system"},
	what:       "What happened", who: "Who / when", did: "What we did", undo: "How to undo", record: "Record", detail: "Detail",
	team: "Owner", event: "event", unknown: "unknown", anyPort: "all ports", port: "port",
	ingress: "ingress", egress: "egress", src: "source", dst: "destination", ip: "source IP",
	region: "region", group: "security group", rule: "rule", ak: "AK",
	digestTitle: "Security group notices: %d", part: " (%d/%d)", total: "%d in all: ", sep: ", ", listSep: ", ", colon: ": ", space: " ",
	zone: time.UTC, timeFmt: "2006-01-02 15:04:05 UTC",
}

func wordsFor(l Lang) *words {
	if l.orDefault() == LangEN {
		return &en
	}
	return &zh
}

func severityMark(s Severity) string {
	switch s {
	case SeverityCritical:
		return "🔴"
	case SeverityHigh:
		return "🟠"
	case SeverityMedium:
		return "🟡"
	}
	return "🔵"
}

// code renders an untrusted identifier literally: inside a code span, so a
// group name cannot inject a markdown link, on one line, bounded in length.
func code(s string) string {
	s = strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
	return "`" + clip(s, 200) + "`"
}

// plain flattens free text to one line, bounded in length.
// Untrusted text (a tag, a description, an error) must never become markup:
// a "[Close now](link)" in a tag value would otherwise render as a button
// next to ours. Brackets, angle brackets and line breaks are neutralised.
var plainText = strings.NewReplacer("\n", " ", "\r", " ", "[", "［", "]", "］", "<", "‹", ">", "›")

func plain(s string, n int) string {
	return clip(plainText.Replace(s), n)
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// akPrefix shows only the start of an AccessKey ID.
func akPrefix(id string) string {
	if id == "" {
		return ""
	}
	n := 8
	if len(id) <= 12 {
		n = len(id) / 3
	}
	return id[:n] + "…"
}

func portsText(w *words, ps []PortRange) string {
	if len(ps) == 0 {
		return ""
	}
	var parts []string
	for i, p := range ps {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (+%d)", len(ps)-i))
			break
		}
		switch {
		case p.From == -1 && p.To == -1, p.From <= 1 && p.To >= 65535:
			return w.anyPort
		case p.From == p.To:
			parts = append(parts, strconv.Itoa(p.From))
		default:
			parts = append(parts, strconv.Itoa(p.From)+"-"+strconv.Itoa(p.To))
		}
	}
	return w.port + " " + strings.Join(parts, ",")
}

func orWord(s string, m map[string]string) string {
	if v, ok := m[s]; ok {
		return v
	}
	return s
}

// entry renders one event as markdown lines under heading. Links are the
// buttons as markdown links (markdown messages and digests); an actionCard
// carries them as real buttons instead.
func entry(w *words, e Event, heading string, links bool) string {
	var b strings.Builder
	b.WriteString(heading)
	b.WriteString("\n")
	line := func(label, text string) {
		if text != "" {
			b.WriteString("- **" + label + "**" + w.colon + text + "\n")
		}
	}

	// What happened: region, group, direction, rule, protocol/ports/services, peer.
	var what []string
	if e.Region != "" {
		what = append(what, w.region+" "+code(e.Region))
	}
	if e.GroupID != "" || e.GroupName != "" {
		g := w.group + " " + code(e.GroupID)
		if e.GroupName != "" {
			g += " (" + code(e.GroupName) + ")"
		}
		what = append(what, g)
	}
	r := ""
	switch e.Direction {
	case "ingress":
		r = w.ingress + w.space
	case "egress":
		r = w.egress + w.space
	}
	r += w.rule
	if e.RuleID != "" {
		r += " " + code(e.RuleID)
	}
	proto := strings.ToUpper(e.Protocol)
	if pt := portsText(w, e.Ports); pt != "" {
		proto = strings.TrimSpace(proto + " " + pt)
	}
	if len(e.Services) > 0 {
		svc := e.Services
		if len(svc) > 20 {
			svc = append(slices.Clip(svc[:20]), "…")
		}
		proto += " (" + plain(strings.Join(svc, w.listSep), 300) + ")"
	}
	if proto != "" {
		r += " " + proto
	}
	if e.Source != "" {
		peer := w.src
		if e.Direction == "egress" {
			peer = w.dst
		}
		r += w.sep + peer + " " + code(e.Source)
	}
	if e.RuleID != "" || e.Protocol != "" || len(e.Ports) > 0 || e.Source != "" {
		what = append(what, r)
	}
	line(w.what, strings.Join(what, w.sep))
	if e.Detail != "" {
		line(w.detail, plain(e.Detail, 1000))
	}

	// Who and when.
	var who []string
	if a := e.Actor; a.UserName != "" || a.Type != "" || a.AccessKeyID != "" {
		id := code(orString(a.UserName, w.unknown))
		var extra []string
		if a.Type != "" {
			extra = append(extra, plain(orWord(a.Type, w.actorTypes), 60))
		}
		if a.AccessKeyID != "" {
			extra = append(extra, w.ak+" "+code(akPrefix(a.AccessKeyID)))
		}
		if len(extra) > 0 {
			id += " (" + strings.Join(extra, w.sep) + ")"
		}
		who = append(who, id)
	}
	if e.Actor.SourceIP != "" {
		who = append(who, w.ip+" "+code(e.Actor.SourceIP))
	}
	if !e.EventTime.IsZero() {
		who = append(who, e.EventTime.In(w.zone).Format(w.timeFmt))
	}
	line(w.who, strings.Join(who, w.sep))

	action := e.Action
	if action == "" {
		action = w.actions[e.Kind]
	}
	line(w.did, plain(action, 300))
	if e.UndoCommand != "" {
		line(w.undo, code(e.UndoCommand))
	}
	if e.Owner.Team != "" {
		line(w.team, code(e.Owner.Team))
	}
	rec := []string{}
	if e.LedgerID != "" {
		rec = append(rec, code(e.LedgerID))
	}
	rec = append(rec, w.event+" "+code(e.ID))
	line(w.record, strings.Join(rec, " · "))
	if links && len(e.Buttons) > 0 {
		var ls []string
		for _, btn := range e.Buttons {
			ls = append(ls, "["+strings.NewReplacer("[", "(", "]", ")").Replace(plain(btn.Title, 60))+"]("+btn.URL+")")
		}
		b.WriteString("- " + strings.Join(ls, " | ") + "\n")
	}
	return b.String()
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func kindTitle(w *words, e Event) string {
	if t, ok := w.kinds[e.Kind]; ok {
		return t
	}
	return plain(string(e.Kind), 60)
}

// withKeyword makes sure the robot's keyword is in the title.
func withKeyword(kw, title string) string {
	if kw == "" || strings.Contains(title, kw) {
		return title
	}
	return "【" + kw + "】" + title
}

// mentions renders the @ line that makes DingTalk markdown notify people.
func mentions(mobiles, users []string) string {
	var at []string
	for _, m := range mobiles {
		at = append(at, "@"+m)
	}
	for _, u := range users {
		at = append(at, "@"+u)
	}
	if len(at) == 0 {
		return ""
	}
	return "\n" + strings.Join(at, " ") + "\n"
}

// kindSummary counts events per kind: "已撤销暴露规则 3，发现暴露规则 1".
func kindSummary(w *words, evs []Event) string {
	count := map[string]int{}
	var order []string
	for _, e := range evs {
		t := kindTitle(w, e)
		if count[t] == 0 {
			order = append(order, t)
		}
		count[t]++
	}
	var parts []string
	for _, t := range order {
		parts = append(parts, t+" "+strconv.Itoa(count[t]))
	}
	return fmt.Sprintf(w.total, len(evs)) + strings.Join(parts, w.sep)
}
