package notify

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func sampleEvent(i int) Event {
	return Event{
		ID:          fmt.Sprintf("ev-%04d", i),
		Kind:        KindExposureRevoked,
		Severity:    SeverityCritical,
		Region:      "cn-hangzhou",
		GroupID:     fmt.Sprintf("sg-bp1%06d", i%7),
		GroupName:   "web-prod",
		RuleID:      fmt.Sprintf("sgr-bp1%08d", i),
		Direction:   "ingress",
		Protocol:    "tcp",
		Ports:       []PortRange{{22, 22}, {3389, 3389}},
		Services:    []string{"ssh", "rdp"},
		Source:      "0.0.0.0/0",
		Actor:       Actor{Type: "ram-user", UserName: "alice", AccessKeyID: "LTAI5tABCDEFGHIJKLMNOPQR", SourceIP: "203.0.113.7"},
		EventTime:   testNow.Add(time.Duration(i) * time.Second),
		Action:      "revoked",
		UndoCommand: fmt.Sprintf("porthygiene restore --id L%06d", i),
		LedgerID:    fmt.Sprintf("L%06d", i),
	}
}

// bodyOf decodes a planned body into title, text and the @ lists.
func bodyOf(t *testing.T, m Message) (title, text string, at atJSON) {
	t.Helper()
	var b bodyJSON
	require.NoError(t, json.Unmarshal(m.Body, &b))
	require.Equal(t, m.Type, b.MsgType)
	switch {
	case b.Markdown != nil:
		title, text = b.Markdown.Title, b.Markdown.Text
	case b.ActionCard != nil:
		title, text = b.ActionCard.Title, b.ActionCard.Text
	}
	if b.At != nil {
		at = *b.At
	}
	return title, text, at
}

func TestPlanSplitsLargeDigest(t *testing.T) {
	r := testRobot()
	var evs []Event
	for i := range 60 {
		evs = append(evs, sampleEvent(i))
	}
	// The digest unsplit: about 25,000 bytes.
	title, text := digestText(&zh, r, atJSON{}, evs, "")
	whole := len(mustMarshal(markdownBody(title, text, atJSON{})))
	require.Greater(t, whole, 24000)
	require.Less(t, whole, 30000)

	msgs := Plan(evs, []Robot{r}, LangZH, 0)
	require.Len(t, msgs, 2)
	seen := map[string]int{}
	for i, m := range msgs {
		require.LessOrEqual(t, len(m.Body), DefaultMaxBytes)
		require.Less(t, len(m.Body), BodyLimit)
		require.Equal(t, TypeMarkdown, m.Type)
		title, text, _ := bodyOf(t, m)
		require.Contains(t, title, r.Keyword)
		require.Contains(t, text, r.Keyword)
		require.Contains(t, title, fmt.Sprintf("（%d/2）", i+1))
		for _, id := range m.EventIDs {
			seen[id]++
			require.Contains(t, text, "`"+id+"`", "the event is shown in the part that claims it")
		}
	}
	require.Len(t, seen, len(evs), "no event lost")
	for id, n := range seen {
		require.Equal(t, 1, n, "event %s in one part only", id)
	}
}

func TestPlanEveryBodyFits(t *testing.T) {
	// Many sizes and limits: each body fits, each event once.
	r := testRobot()
	for _, limit := range []int{3000, 5000, 19000} {
		for _, n := range []int{1, 2, 7, 150} {
			var evs []Event
			for i := range n {
				e := sampleEvent(i)
				e.Detail = strings.Repeat("细节", i%40*10)
				evs = append(evs, e)
			}
			msgs := Plan(evs, []Robot{r}, LangEN, limit)
			count := 0
			for _, m := range msgs {
				require.LessOrEqual(t, len(m.Body), limit, "limit %d, %d events", limit, n)
				count += len(m.EventIDs)
			}
			require.Equal(t, n, count)
		}
	}
}

func TestPlanTruncatesHugeEvent(t *testing.T) {
	e := sampleEvent(1)
	e.Services = nil
	e.Detail = strings.Repeat("x", 50000)
	e.Buttons = []Button{{Title: "keep", URL: "https://fc.example/approve?t=1"}}
	msgs := Plan([]Event{e}, []Robot{testRobot()}, LangZH, 1200)
	require.Len(t, msgs, 1)
	require.LessOrEqual(t, len(msgs[0].Body), 1200)
	_, text, _ := bodyOf(t, msgs[0])
	require.True(t, strings.HasSuffix(text, "…"))
}

func TestPlanSingleEvents(t *testing.T) {
	r := testRobot()
	buttons := []Button{{Title: "保留 30 天", URL: "https://approve.example/keep?sig=a"}, {Title: "立即关闭", URL: "https://approve.example/close?sig=b"}}

	t.Run("ActionCardWithButtons", func(t *testing.T) {
		e := sampleEvent(1)
		e.Buttons = buttons
		msgs := Plan([]Event{e}, []Robot{r}, LangZH, 0)
		require.Len(t, msgs, 1)
		require.Equal(t, TypeActionCard, msgs[0].Type)
		var b bodyJSON
		require.NoError(t, json.Unmarshal(msgs[0].Body, &b))
		require.Len(t, b.ActionCard.Btns, 2)
		require.Equal(t, buttons[0].URL, b.ActionCard.Btns[0].ActionURL)
		require.Contains(t, b.ActionCard.Title, r.Keyword)
	})
	t.Run("MentionsMakeMarkdownWithLinks", func(t *testing.T) {
		e := sampleEvent(1)
		e.Buttons = buttons
		e.Owner = Owner{Team: "web", AtMobiles: []string{"13800000000"}, AtUserIDs: []string{"u1"}}
		msgs := Plan([]Event{e}, []Robot{r}, LangZH, 0)
		require.Len(t, msgs, 1)
		require.Equal(t, TypeMarkdown, msgs[0].Type, "actionCard cannot @")
		_, text, at := bodyOf(t, msgs[0])
		require.Equal(t, []string{"13800000000"}, at.AtMobiles)
		require.Equal(t, []string{"u1"}, at.AtUserIDs)
		require.Contains(t, text, "@13800000000 @u1")
		require.Contains(t, text, "](https://approve.example/keep?sig=a)")
	})
	t.Run("NoButtonsMarkdown", func(t *testing.T) {
		msgs := Plan([]Event{sampleEvent(1)}, []Robot{r}, LangZH, 0)
		require.Equal(t, TypeMarkdown, msgs[0].Type)
	})
	t.Run("ContentSaysWhatWhoDidUndo", func(t *testing.T) {
		_, text, _ := bodyOf(t, Plan([]Event{sampleEvent(1)}, []Robot{r}, LangEN, 0)[0])
		for _, want := range []string{"`sg-bp1000001`", "`web-prod`", "`sgr-bp100000001`", "TCP port 22,3389 (ssh, rdp)", "`0.0.0.0/0`",
			"`alice`", "RAM user", "`LTAI5tAB…`", "`203.0.113.7`", "2026-05-01 10:00:01 UTC", "revoked", "`porthygiene restore --id L000001`"} {
			require.Contains(t, text, want)
		}
		require.NotContains(t, text, "LTAI5tABCDEFGHIJKLMNOPQR", "only a prefix of the AccessKey ID")
	})
	t.Run("UntrustedNamesStayLiteral", func(t *testing.T) {
		e := sampleEvent(1)
		e.GroupName = "x`[click](https://evil.example)\n#### fake"
		_, text, _ := bodyOf(t, Plan([]Event{e}, []Robot{r}, LangEN, 0)[0])
		require.Contains(t, text, "`x'[click](https://evil.example) #### fake`")
	})
}

func TestPlanRoutesAndGroups(t *testing.T) {
	def, web := testRobot(), Robot{Name: "web", Webhook: "https://h/?access_token=w", Keyword: "web-kw", AtUserIDs: []string{"lead"}}
	e1, e2, e3, e4 := sampleEvent(1), sampleEvent(2), sampleEvent(3), sampleEvent(4)
	e2.Owner = Owner{Team: "web", Robot: "web"}
	e3.Owner = Owner{Team: "web", Robot: "web"}
	e4.Owner = Owner{Robot: "gone"} // unknown robot → default
	dup := e1
	msgs := Plan([]Event{e1, e2, e3, e4, dup}, []Robot{def, web}, LangZH, 0)
	require.Len(t, msgs, 2)
	require.Equal(t, "ops", msgs[0].Robot)
	require.Equal(t, []string{"ev-0001", "ev-0004"}, msgs[0].EventIDs)
	require.Equal(t, "web", msgs[1].Robot)
	require.Equal(t, []string{"ev-0002", "ev-0003"}, msgs[1].EventIDs)
	title, text, at := bodyOf(t, msgs[1])
	require.Contains(t, title, "web-kw")
	require.Equal(t, []string{"lead"}, at.AtUserIDs, "robot-wide mentions")
	require.Contains(t, text, "@lead")
}

func TestPlanGolden(t *testing.T) {
	card := sampleEvent(1)
	card.Buttons = []Button{{Title: "保留 30 天", URL: "https://approve.example/keep?sig=a"}, {Title: "立即关闭", URL: "https://approve.example/close?sig=b"}}
	dry, reaper := sampleEvent(2), sampleEvent(3)
	dry.Kind, dry.Action, dry.Severity = KindExposureDryRun, "dry-run: would revoke", SeverityHigh
	reaper.Kind, reaper.Action, reaper.Severity, reaper.Actor = KindReaperAnnounced, "will close on 2026-12-01", SeverityLow, Actor{}
	failure := Event{ID: "ev-err", Kind: KindError, Severity: SeverityMedium, Region: "cn-shanghai", Detail: "describe security groups: Throttling", EventTime: testNow}
	for name, tc := range map[string]struct {
		lang   Lang
		events []Event
	}{
		"card_zh":   {LangZH, []Event{card}},
		"digest_zh": {LangZH, []Event{dry, reaper, failure}},
		"digest_en": {LangEN, []Event{dry, reaper, failure}},
	} {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			for _, m := range Plan(tc.events, []Robot{testRobot()}, tc.lang, 0) {
				var pretty any
				require.NoError(t, json.Unmarshal(m.Body, &pretty))
				out, err := json.MarshalIndent(pretty, "", "  ")
				require.NoError(t, err)
				b.Write(out)
				b.WriteString("\n")
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update")
			require.Equal(t, string(want), b.String())
		})
	}
}

func FuzzPlanFits(f *testing.F) {
	f.Add(3, 19000, "web", "x", uint8(2))
	f.Add(40, 4000, "", "`[a](b)`\n", uint8(0))
	f.Add(1, 900, "ops", strings.Repeat("长", 3000), uint8(5))
	f.Fuzz(func(t *testing.T, n, maxBytes int, team, detail string, buttons uint8) {
		n, maxBytes = 1+abs(n)%200, 900+abs(maxBytes)%19100
		var evs []Event
		for i := range n {
			e := sampleEvent(i % 150) // repeated IDs must be dropped
			e.Owner.Team = team + strconv.Itoa(i%3)
			e.Detail = detail
			for b := range int(buttons % 4) {
				e.Buttons = append(e.Buttons, Button{Title: detail, URL: "https://a.example/" + strconv.Itoa(b)})
			}
			evs = append(evs, e)
		}
		seen := map[string]int{}
		for _, m := range Plan(evs, []Robot{testRobot()}, LangZH, maxBytes) {
			require.LessOrEqual(t, len(m.Body), maxBytes)
			require.True(t, json.Valid(m.Body))
			title, text, _ := bodyOf(t, m)
			require.Contains(t, title, "porthygiene")
			require.Contains(t, text, "porthygiene")
			for _, id := range m.EventIDs {
				seen[id]++
			}
		}
		require.Len(t, seen, min(n, 150))
		for id, c := range seen {
			require.Equal(t, 1, c, id)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
