package notify

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

const (
	// BodyLimit is DingTalk's limit on a message body (errcode 460101 above it).
	BodyLimit = 20000
	// DefaultMaxBytes is the size Plan keeps every body under by default,
	// leaving room below BodyLimit.
	DefaultMaxBytes = 19000
)

// Message types.
const (
	TypeMarkdown   = "markdown"
	TypeActionCard = "actionCard"
)

// Message is one DingTalk message, ready to POST.
type Message struct {
	Robot    string   // robot name
	EventIDs []string // the events it shows, each once
	Type     string   // TypeMarkdown or TypeActionCard
	Title    string
	Body     []byte // complete JSON body, at most the planned maxBytes
}

type atJSON struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll"`
}

type markdownJSON struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type buttonJSON struct {
	Title     string `json:"title"`
	ActionURL string `json:"actionURL"`
}

type actionCardJSON struct {
	Title          string       `json:"title"`
	Text           string       `json:"text"`
	BtnOrientation string       `json:"btnOrientation"`
	Btns           []buttonJSON `json:"btns"`
}

type bodyJSON struct {
	MsgType    string          `json:"msgtype"`
	Markdown   *markdownJSON   `json:"markdown,omitempty"`
	ActionCard *actionCardJSON `json:"actionCard,omitempty"`
	At         *atJSON         `json:"at,omitempty"`
}

// route returns the robot an event goes to: the one its owner names, else the
// first (default) robot. ok is false when a named robot is not configured.
func route(robots []Robot, e Event) (r Robot, ok bool) {
	for _, r := range robots {
		if e.Owner.Robot != "" && r.Name == e.Owner.Robot {
			return r, true
		}
	}
	if len(robots) == 0 {
		return Robot{Name: e.Owner.Robot}, true
	}
	return robots[0], e.Owner.Robot == ""
}

// Plan turns events into messages: pure, no I/O. Events are routed (see
// route), grouped per (robot, owner team, people to mention) in order of first
// appearance, and each group becomes
//   - one message when it holds one event: an actionCard with its buttons when
//     it has buttons and nobody to mention (DingTalk's actionCard cannot @),
//     else markdown with the buttons as links;
//   - markdown digests otherwise, split into as many parts as needed.
//
// Every body is at most maxBytes (DefaultMaxBytes when ≤ 0; an event too big
// on its own is truncated), every event appears in exactly one message (a
// repeated ID is dropped), and the robot's keyword is in every title and text.
func Plan(events []Event, robots []Robot, lang Lang, maxBytes int) []Message {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	w := wordsFor(lang)
	type group struct {
		robot  Robot
		at     atJSON
		events []Event
	}
	var groups []*group
	byKey := map[string]*group{}
	seen := map[string]bool{}
	for _, e := range events {
		e = e.withID()
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		r, _ := route(robots, e)
		at := atJSON{AtMobiles: union(r.AtMobiles, e.Owner.AtMobiles), AtUserIDs: union(r.AtUserIDs, e.Owner.AtUserIDs)}
		key := strings.Join([]string{r.Name, e.Owner.Team, strings.Join(at.AtMobiles, ","), strings.Join(at.AtUserIDs, ",")}, "\x00")
		g := byKey[key]
		if g == nil {
			g = &group{robot: r, at: at}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.events = append(g.events, e)
	}
	var out []Message
	for _, g := range groups {
		if len(g.events) == 1 {
			out = append(out, single(w, g.robot, g.at, g.events[0], maxBytes))
			continue
		}
		out = append(out, digest(w, g.robot, g.at, g.events, maxBytes)...)
	}
	return out
}

func union(a, b []string) []string {
	var out []string
	for _, s := range slices.Concat(a, b) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func (at atJSON) empty() bool { return len(at.AtMobiles) == 0 && len(at.AtUserIDs) == 0 }

func mustMarshal(v any) []byte {
	b, err := marshalNoEscape(v)
	if err != nil { // only strings, slices and bools: cannot happen
		panic(fmt.Sprintf("notify: marshal message: %v", err))
	}
	return b
}

// single renders one event.
func single(w *words, r Robot, at atJSON, e Event, maxBytes int) Message {
	title := withKeyword(r.Keyword, clip(severityMark(e.Severity)+" "+kindTitle(w, e)+" "+e.GroupID, 120))
	card := len(e.Buttons) > 0 && at.empty()
	body := entry(w, e, "#### "+title, !card) + mentions(at.AtMobiles, at.AtUserIDs)
	m := Message{Robot: r.Name, EventIDs: []string{e.ID}, Title: title}
	render := func(text string) []byte {
		if card {
			c := &actionCardJSON{Title: title, Text: text, BtnOrientation: "0"}
			for _, b := range e.Buttons {
				c.Btns = append(c.Btns, buttonJSON{Title: plain(b.Title, 60), ActionURL: b.URL})
			}
			return mustMarshal(bodyJSON{MsgType: TypeActionCard, ActionCard: c})
		}
		return mustMarshal(markdownBody(title, text, at))
	}
	m.Type = TypeMarkdown
	if card {
		m.Type = TypeActionCard
	}
	m.Body = fit(render, body, maxBytes)
	return m
}

func markdownBody(title, text string, at atJSON) bodyJSON {
	b := bodyJSON{MsgType: TypeMarkdown, Markdown: &markdownJSON{Title: title, Text: text}}
	if !at.empty() {
		a := at
		b.At = &a
	}
	return b
}

// fit renders text, truncating it (at a rune boundary, marked "…") until the
// body is at most maxBytes.
func fit(render func(text string) []byte, text string, maxBytes int) []byte {
	b := render(text)
	if len(b) <= maxBytes {
		return b
	}
	lo, hi := 0, len(text) // largest n with render(clip(text, n)) fitting
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(render(clip(text, mid))) <= maxBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return render(clip(text, lo))
}

// digest renders a group of events as markdown digests of at most maxBytes,
// filling each part greedily, oldest event first.
func digest(w *words, r Robot, at atJSON, events []Event, maxBytes int) []Message {
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int {
		if c := a.EventTime.Compare(b.EventTime); c != 0 {
			return c
		}
		return strings.Compare(a.GroupID, b.GroupID)
	})
	// Split greedily on an additive size estimate (JSON escaping of a
	// concatenation is the concatenation of the escapes), then check each
	// part exactly and halve any that is still too big, so no event is ever
	// truncated away. Sizes use the widest part suffix: the final render,
	// with the real one, can only be smaller.
	widest := fmt.Sprintf(w.part, 9999, 9999)
	var parts [][]Event
	var cur []Event
	sum := 0 // escaped size of cur's entries
	for _, e := range events {
		es := jsonLen(digestEntry(w, len(cur)+1, e))
		if len(cur) > 0 && digestFrame(w, r, at, append(slices.Clip(cur), e), widest)+sum+es > maxBytes {
			parts = append(parts, cur)
			cur, sum = nil, 0
			es = jsonLen(digestEntry(w, 1, e))
		}
		cur = append(cur, e)
		sum += es
	}
	parts = append(parts, cur)
	for i := 0; i < len(parts); i++ {
		if evs := parts[i]; len(evs) > 1 && digestSize(w, r, at, evs, widest) > maxBytes {
			half := len(evs) / 2
			parts = slices.Insert(slices.Delete(parts, i, i+1), i, evs[:half], evs[half:])
			i--
		}
	}
	out := make([]Message, 0, len(parts))
	for i, evs := range parts {
		suffix := ""
		if len(parts) > 1 {
			suffix = fmt.Sprintf(w.part, i+1, len(parts))
		}
		title, text := digestText(w, r, at, evs, suffix)
		body := fit(func(t string) []byte { return mustMarshal(markdownBody(title, t, at)) }, text, maxBytes)
		ids := make([]string, len(evs))
		for j, e := range evs {
			ids[j] = e.ID
		}
		out = append(out, Message{Robot: r.Name, EventIDs: ids, Type: TypeMarkdown, Title: title, Body: body})
	}
	return out
}

// jsonLen is the size of s as a JSON string's contents.
func jsonLen(s string) int { return len(mustMarshal(s)) - 2 }

// digestFrame is the size of a digest part of evs without its entries.
func digestFrame(w *words, r Robot, at atJSON, evs []Event, suffix string) int {
	title, head := digestHead(w, r, evs, suffix)
	return len(mustMarshal(markdownBody(title, head+mentions(at.AtMobiles, at.AtUserIDs), at)))
}

// digestSize is the exact size of a digest part of evs.
func digestSize(w *words, r Robot, at atJSON, evs []Event, suffix string) int {
	title, text := digestText(w, r, at, evs, suffix)
	return len(mustMarshal(markdownBody(title, text, at)))
}

func digestHead(w *words, r Robot, evs []Event, suffix string) (title, head string) {
	title = withKeyword(r.Keyword, fmt.Sprintf(w.digestTitle, len(evs))+suffix)
	return title, "#### " + title + "\n\n" + kindSummary(w, evs) + "\n\n"
}

// digestEntry is the n-th (1-based) entry of a digest part.
func digestEntry(w *words, n int, e Event) string {
	return entry(w, e, fmt.Sprintf("**%d. %s %s**", n, severityMark(e.Severity), kindTitle(w, e)), true) + "\n"
}

// digestText is the title and markdown text of one digest part.
func digestText(w *words, r Robot, at atJSON, evs []Event, suffix string) (title, text string) {
	title, head := digestHead(w, r, evs, suffix)
	var b strings.Builder
	b.WriteString(head)
	for i, e := range evs {
		b.WriteString(digestEntry(w, i+1, e))
	}
	b.WriteString(mentions(at.AtMobiles, at.AtUserIDs))
	return title, b.String()
}
