package dingtalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// Defaults of Config.
const (
	DefaultLimit   = 20
	DefaultPenalty = 10 * time.Minute
	DefaultMaxBody = 20000
)

// Error codes the sink answers with (errcode).
const (
	CodeOK             = 0
	CodeInvalidMessage = 40035  // malformed JSON, unknown msgtype, missing field
	CodeRequirePost    = 43002  // not a POST
	CodeSendTooFast    = 130101 // rate limit and its penalty
	CodeTokenNotExist  = 300001 // unknown access_token
	CodeSecurity       = 310000 // sign, timestamp or keyword check failed
	CodeTooLong        = 460101 // body above MaxBody
)

const timestampWindow = time.Hour

// Clock reads the virtual time.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Robot is one custom robot. A Secret enables signing; Keywords enable the
// keyword check.
type Robot struct {
	Name, AccessToken, Secret string
	Keywords                  []string
}

// Config configures a Sink. Zero fields take the defaults.
type Config struct {
	Clock Clock // virtual clock (rate limit, message times); nil means the wall clock
	// Wall is the clock a signed request's timestamp is checked against: as
	// DingTalk does, the real time, not the virtual clock (senders sign at
	// their system clock whatever time they decide at); nil means the system
	// clock.
	Wall    Clock
	Stats   *stats.Stats  // nil: not counted
	Faults  *faults.Set   // nil: no faults
	Limit   int           // accepted messages per sliding minute; default 20
	Penalty time.Duration // silence after the limit is hit; default 10m
	MaxBody int           // bytes; default 20000
}

// At is the message's mention block.
type At struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIds []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

// Button is an actionCard button; a whole-card actionCard has one, made of
// singleTitle and singleURL.
type Button struct {
	Title     string `json:"title"`
	ActionURL string `json:"actionURL"`
}

// Link is a link message's target, or one feedCard entry.
type Link struct {
	Title      string `json:"title"`
	Text       string `json:"text,omitempty"`
	MessageURL string `json:"messageURL"`
	PicURL     string `json:"picURL,omitempty"`
}

// Message is one accepted message.
type Message struct {
	Robot   string          `json:"robot"`
	Time    time.Time       `json:"time"` // virtual clock
	MsgType string          `json:"msgtype"`
	Title   string          `json:"title,omitempty"` // markdown, actionCard, link
	Text    string          `json:"text,omitempty"`  // text.content, or the markdown/actionCard/link text
	At      At              `json:"at"`
	Buttons []Button        `json:"btns,omitempty"`  // actionCard
	Links   []Link          `json:"links,omitempty"` // link (one), feedCard
	Raw     json.RawMessage `json:"raw"`             // the body as received
}

// Attempt is one request and the answer it got.
type Attempt struct {
	Robot      string    `json:"robot,omitempty"` // empty for an unknown token
	Time       time.Time `json:"time"`            // virtual clock
	HTTPStatus int       `json:"httpStatus"`
	ErrCode    int       `json:"errcode"`
	ErrMsg     string    `json:"errmsg"`
	MsgType    string    `json:"msgtype,omitempty"`
}

// Sink is the webhook. Its methods are safe for concurrent use.
type Sink struct {
	cfg Config

	mu       sync.Mutex
	robots   map[string]*robotState // by access token
	messages []Message
	attempts []Attempt
}

type robotState struct {
	Robot
	accepted     []time.Time // accept times within the last minute
	penaltyUntil time.Time
}

// New returns a Sink with no robots.
func New(cfg Config) *Sink {
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	if cfg.Wall == nil {
		cfg.Wall = wallClock{}
	}
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Penalty <= 0 {
		cfg.Penalty = DefaultPenalty
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	return &Sink{cfg: cfg, robots: map[string]*robotState{}}
}

// AddRobot registers r, replacing any robot with the same access token
// (its rate-limit state starts afresh).
func (s *Sink) AddRobot(r Robot) {
	r.Keywords = append([]string(nil), r.Keywords...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.robots[r.AccessToken] = &robotState{Robot: r}
}

// Messages returns the accepted messages of the named robot, or of every
// robot when robot is "", in acceptance order.
func (s *Sink) Messages(robot string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Message{}
	for _, m := range s.messages {
		if robot == "" || m.Robot == robot {
			out = append(out, m)
		}
	}
	return out
}

// Attempts returns every request the sink answered, in order.
func (s *Sink) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt{}, s.attempts...)
}

// ServeHTTP serves POST /robot/send.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/robot/send" {
		http.NotFound(w, r)
		return
	}
	injectedThrottle := false
	if s.cfg.Faults != nil {
		d := s.cfg.Faults.Decide("dingtalk", "send", time.Now())
		if d.Latency > 0 {
			t := time.NewTimer(d.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if s.cfg.Faults.Config().DingTalkDown || d.ServerError {
			s.unavailable(w, r)
			return
		}
		injectedThrottle = d.Throttle
	}
	now := s.cfg.Clock.Now()
	q := r.URL.Query()

	s.mu.Lock()
	rs := s.robots[q.Get("access_token")]
	var robot Robot
	if rs != nil {
		robot = rs.Robot
	}
	s.mu.Unlock()

	answer := func(code int, msg, msgType string) {
		s.record(Attempt{Robot: robot.Name, Time: now, HTTPStatus: http.StatusOK, ErrCode: code, ErrMsg: msg, MsgType: msgType})
		writeJSON(w, code, msg)
	}
	if r.Method != http.MethodPost {
		answer(CodeRequirePost, "requires POST", "")
		return
	}
	if rs == nil {
		answer(CodeTokenNotExist, "token is not exist", "")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxBody)+1))
	if err != nil {
		answer(CodeInvalidMessage, "read body: "+err.Error(), "")
		return
	}
	if len(raw) > s.cfg.MaxBody {
		answer(CodeTooLong, fmt.Sprintf("message too long, exceed %d bytes", s.cfg.MaxBody), "")
		return
	}
	if robot.Secret != "" {
		if msg := checkSign(robot.Secret, q.Get("timestamp"), q.Get("sign"), s.cfg.Wall.Now()); msg != "" {
			answer(CodeSecurity, msg, "")
			return
		}
	}
	m, err := parse(raw)
	if err != nil {
		answer(CodeInvalidMessage, err.Error(), "")
		return
	}
	if len(robot.Keywords) > 0 && !containsAny(m.content, robot.Keywords) {
		answer(CodeSecurity, "keywords not in content", m.MsgType)
		return
	}

	m.Robot, m.Time, m.Raw = robot.Name, now, json.RawMessage(raw)
	if injectedThrottle || !s.admit(rs, m.Message, now) {
		answer(CodeSendTooFast, fmt.Sprintf("send too fast, exceed %d times per minute", s.cfg.Limit), m.MsgType)
		return
	}
	answer(CodeOK, "ok", m.MsgType)
}

// admit applies the rate limit at now and keeps m if it passes.
func (s *Sink) admit(rs *robotState, m Message, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(rs.penaltyUntil) {
		return false
	}
	from := now.Add(-time.Minute)
	kept := rs.accepted[:0]
	for _, t := range rs.accepted {
		if t.After(from) {
			kept = append(kept, t)
		}
	}
	rs.accepted = kept
	if len(rs.accepted) >= s.cfg.Limit {
		rs.penaltyUntil = now.Add(s.cfg.Penalty)
		return false
	}
	rs.accepted = append(rs.accepted, now)
	s.messages = append(s.messages, m)
	return true
}

func (s *Sink) record(a Attempt) {
	s.mu.Lock()
	s.attempts = append(s.attempts, a)
	s.mu.Unlock()
	if s.cfg.Stats != nil {
		code := ""
		switch {
		case a.HTTPStatus != http.StatusOK:
			code = "HTTP" + strconv.Itoa(a.HTTPStatus)
		case a.ErrCode != CodeOK:
			code = strconv.Itoa(a.ErrCode)
		}
		caller := a.Robot
		if caller == "" {
			caller = "unknown"
		}
		s.cfg.Stats.Record("dingtalk", "send", caller, code)
	}
}

// unavailable answers an injected outage: HTTP 503, no errcode body.
func (s *Sink) unavailable(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	name := ""
	if rs := s.robots[r.URL.Query().Get("access_token")]; rs != nil {
		name = rs.Name
	}
	s.mu.Unlock()
	s.record(Attempt{Robot: name, Time: s.cfg.Clock.Now(), HTTPStatus: http.StatusServiceUnavailable})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, "503 Service Temporarily Unavailable\n")
}

func writeJSON(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{code, msg})
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// checkSign returns "" when timestamp and sign are valid for secret at now,
// else the errmsg.
func checkSign(secret, timestamp, sign string, now time.Time) string {
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "invalid timestamp"
	}
	if d := now.Sub(time.UnixMilli(ms)); d > timestampWindow || d < -timestampWindow {
		return "invalid timestamp"
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if sign == "" || !hmac.Equal([]byte(sign), []byte(want)) {
		return "sign not match"
	}
	return ""
}
