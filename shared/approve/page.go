package approve

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// page is the short answer to a click, in Chinese and English.
type page struct {
	Title string
	Lines []string
	// Form, when set, is the confirmation form: it POSTs Fields to the
	// page's own URL (no action attribute: the link as opened).
	Form *form
}

type form struct {
	Fields []field
	Button string
}

type field struct{ Name, Value string }

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{with .Form}}<form method="post">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit">{{.Button}}</button>
</form>
{{end}}<p><small>porthygiene</small></p>
</body>
</html>
`))

// respond renders p. The page is never cached, and the link (which carries
// its signature) is not sent on as a Referer.
func respond(status int, p page) trigger.HTTPResponse {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		b.Reset()
		b.WriteString(template.HTMLEscapeString(p.Title))
	}
	return trigger.HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"Referrer-Policy":        "no-referrer",
			"X-Content-Type-Options": "nosniff",
		},
		Body: b.String(),
	}
}

const nothingZH, nothingEN = "未做任何更改。", "Nothing was changed."

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// what describes the target: "rule sgr-1 of group sg-1 (ledger L…)".
func what(l Link) (zh, en string) {
	switch {
	case l.RuleID != "":
		zh, en = fmt.Sprintf("安全组 %s 的规则 %s", l.GroupID, l.RuleID), fmt.Sprintf("rule %s of group %s", l.RuleID, l.GroupID)
	case l.GroupID != "":
		zh, en = "安全组 "+l.GroupID, "group "+l.GroupID
	}
	if l.LedgerID != "" {
		if zh == "" {
			return "记录 " + l.LedgerID, "record " + l.LedgerID
		}
		zh, en = zh+"（记录 "+l.LedgerID+"）", en+" (record "+l.LedgerID+")"
	}
	return zh, en
}

func pageRecorded(l Link, rec ledger.Record) page {
	zh, en := what(l)
	d, _ := rec.Decision()
	var lz, le string
	switch l.Action {
	case ActionKeep:
		lz, le = fmt.Sprintf("已记录：%s 保持开放至 %s。", zh, stamp(d.Until)), fmt.Sprintf("Recorded: %s stays open until %s.", en, stamp(d.Until))
	case ActionClose:
		lz, le = fmt.Sprintf("已记录：立即关闭%s。", zh), fmt.Sprintf("Recorded: close %s now.", en)
	default:
		lz, le = fmt.Sprintf("已记录：恢复%s，开放至 %s。", zh, stamp(d.Until)), fmt.Sprintf("Recorded: restore %s and keep it open until %s.", en, stamp(d.Until))
	}
	return page{Title: "已记录 · Recorded", Lines: []string{
		lz, le,
		"porthygiene 将在下次运行时执行此决定。决定记录：" + rec.ID,
		"porthygiene acts on it at its next run. Decision record: " + rec.ID,
	}}
}

// pageConfirm asks to confirm the decision l would record if confirmed at
// now; its form carries the link's parameters q (signed ones and sig).
func pageConfirm(l Link, q url.Values, now time.Time) page {
	zh, en := what(l)
	until := now.Add(time.Duration(l.Days) * 24 * time.Hour)
	var lz, le string
	switch l.Action {
	case ActionKeep:
		lz, le = fmt.Sprintf("确认后将记录：%s 保持开放 %d 天（至约 %s）。", zh, l.Days, stamp(until)),
			fmt.Sprintf("On confirmation, this records: %s stays open for %d days (until about %s).", en, l.Days, stamp(until))
	case ActionClose:
		lz, le = fmt.Sprintf("确认后将记录：立即关闭%s。", zh), fmt.Sprintf("On confirmation, this records: close %s now.", en)
	default:
		lz, le = fmt.Sprintf("确认后将记录：恢复%s，开放 %d 天（至约 %s）。", zh, l.Days, stamp(until)),
			fmt.Sprintf("On confirmation, this records: restore %s and keep it open for %d days (until about %s).", en, l.Days, stamp(until))
	}
	f := &form{Button: "确认 · Confirm"}
	for _, k := range append(append([]string(nil), signed...), pSig) {
		if v := q.Get(k); v != "" {
			f.Fields = append(f.Fields, field{k, v})
		}
	}
	return page{Title: "请确认 · Confirm the decision", Lines: []string{
		lz, le,
		fmt.Sprintf("尚未记录任何内容。此链接有效至 %s，仅可使用一次。", stamp(l.Expires)),
		fmt.Sprintf("Nothing is recorded yet. This link is valid until %s and can be used once.", stamp(l.Expires)),
	}, Form: f}
}

func pageReplayed(prior ledger.Record) page {
	return page{Title: "链接已使用 · Link already used", Lines: []string{
		fmt.Sprintf("此链接已于 %s 使用过（决定记录 %s）。%s", stamp(prior.Time), prior.ID, nothingZH),
		fmt.Sprintf("This link was already used at %s (decision record %s). %s", stamp(prior.Time), prior.ID, nothingEN),
	}}
}

func pageExpired(l Link) page {
	return page{Title: "链接已过期 · Link expired", Lines: []string{
		fmt.Sprintf("此链接已于 %s 过期。%s请使用较新消息中的按钮，或使用 porthygiene 命令行。", stamp(l.Expires), nothingZH),
		fmt.Sprintf("This link expired at %s. %s Use a button of a newer message, or the porthygiene CLI.", stamp(l.Expires), nothingEN),
	}}
}

func pageForged() page {
	return page{Title: "链接无效 · Invalid link", Lines: []string{
		"此链接的签名不正确（链接被修改或伪造）。" + nothingZH,
		"This link's signature does not match (the link was altered or forged). " + nothingEN,
	}}
}

func pageMalformed() page {
	return page{Title: "链接不完整 · Incomplete link", Lines: []string{
		"此链接不完整或已损坏。" + nothingZH,
		"This link is incomplete or damaged. " + nothingEN,
	}}
}

func pageMethod() page {
	return page{Title: "不支持的请求 · Method not allowed", Lines: []string{
		"请在浏览器中打开此链接。" + nothingZH,
		"Open the link in a browser. " + nothingEN,
	}}
}

func pageDisabled() page {
	return page{Title: "暂不可用 · Unavailable", Lines: []string{
		"决定链接未启用（缺少签名密钥或账本配置）。" + nothingZH,
		"Decision links are not enabled (no signing key or ledger configured). " + nothingEN,
	}}
}

func pageUnavailable() page {
	return page{Title: "暂不可用 · Unavailable", Lines: []string{
		"暂时无法记录此决定。" + nothingZH + "请稍后重试此链接。",
		"The decision cannot be recorded right now. " + nothingEN + " Try the link again later.",
	}}
}
