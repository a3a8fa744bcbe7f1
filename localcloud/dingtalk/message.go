package dingtalk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// wireBody is a robot message as DingTalk documents it. encoding/json
// matches keys case-insensitively, so link's messageUrl and feedCard's
// messageURL both land in MessageURL.
type wireBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	ActionCard *struct {
		Title          string          `json:"title"`
		Text           string          `json:"text"`
		SingleTitle    string          `json:"singleTitle"`
		SingleURL      string          `json:"singleURL"`
		BtnOrientation json.RawMessage `json:"btnOrientation"` // "0" or "1"; clients also send numbers
		Btns           []Button        `json:"btns"`
	} `json:"actionCard"`
	Link     *Link `json:"link"`
	FeedCard *struct {
		Links []Link `json:"links"`
	} `json:"feedCard"`
	At *At `json:"at"`
}

// parsed is a decoded message plus the text its keywords are looked for in.
type parsed struct {
	Message
	content string
}

// parse decodes and checks a message body; the error text is the errmsg.
func parse(raw []byte) (parsed, error) {
	var b wireBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return parsed{}, fmt.Errorf("invalid json: %v", err)
	}
	var p parsed
	p.MsgType = b.MsgType
	if b.At != nil {
		p.At = *b.At
	}
	missing := func(field string) error { return fmt.Errorf("missing parameter %s.%s", b.MsgType, field) }
	switch b.MsgType {
	case "":
		return parsed{}, errors.New("missing parameter msgtype")
	case "text":
		if b.Text == nil || b.Text.Content == "" {
			return parsed{}, missing("content")
		}
		p.Text = b.Text.Content
		p.content = p.Text
	case "markdown":
		switch {
		case b.Markdown == nil || b.Markdown.Title == "":
			return parsed{}, missing("title")
		case b.Markdown.Text == "":
			return parsed{}, missing("text")
		}
		p.Title, p.Text = b.Markdown.Title, b.Markdown.Text
		p.content = p.Title + "\n" + p.Text
	case "actionCard":
		c := b.ActionCard
		switch {
		case c == nil || c.Title == "":
			return parsed{}, missing("title")
		case c.Text == "":
			return parsed{}, missing("text")
		case len(c.Btns) == 0 && (c.SingleTitle == "" || c.SingleURL == ""):
			return parsed{}, errors.New("missing parameter actionCard.singleTitle/singleURL or actionCard.btns")
		}
		for i, btn := range c.Btns {
			if btn.Title == "" || btn.ActionURL == "" {
				return parsed{}, fmt.Errorf("missing parameter actionCard.btns[%d].title/actionURL", i)
			}
		}
		p.Title, p.Text = c.Title, c.Text
		p.Buttons = append(p.Buttons, c.Btns...)
		if len(c.Btns) == 0 {
			p.Buttons = []Button{{Title: c.SingleTitle, ActionURL: c.SingleURL}}
		}
		p.content = p.Title + "\n" + p.Text
	case "link":
		l := b.Link
		switch {
		case l == nil || l.Title == "":
			return parsed{}, missing("title")
		case l.Text == "":
			return parsed{}, missing("text")
		case l.MessageURL == "":
			return parsed{}, missing("messageUrl")
		}
		p.Title, p.Text = l.Title, l.Text
		p.Links = []Link{*l}
		p.content = p.Title + "\n" + p.Text
	case "feedCard":
		if b.FeedCard == nil || len(b.FeedCard.Links) == 0 {
			return parsed{}, missing("links")
		}
		titles := make([]string, 0, len(b.FeedCard.Links))
		for i, l := range b.FeedCard.Links {
			if l.Title == "" || l.MessageURL == "" {
				return parsed{}, fmt.Errorf("missing parameter feedCard.links[%d].title/messageURL", i)
			}
			titles = append(titles, l.Title)
		}
		p.Links = append(p.Links, b.FeedCard.Links...)
		p.content = strings.Join(titles, "\n")
	default:
		return parsed{}, fmt.Errorf("invalid msgtype %q: want text, markdown, actionCard, link or feedCard", b.MsgType)
	}
	return p, nil
}

func containsAny(content string, keywords []string) bool {
	for _, k := range keywords {
		if k != "" && strings.Contains(content, k) {
			return true
		}
	}
	return false
}
