package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// Environment variables read by ParseConfig.
const (
	EnvRobots = "DINGTALK_ROBOTS" // JSON list of robots; the first is the default
	EnvLang   = "DINGTALK_LANG"   // "zh" (default) or "en"
)

// Lang is the language of the messages.
type Lang string

const (
	LangZH Lang = "zh" // the default
	LangEN Lang = "en"
)

// orDefault maps the zero Lang (and anything unknown) to Chinese.
func (l Lang) orDefault() Lang {
	if l == LangEN {
		return LangEN
	}
	return LangZH
}

// Robot is one DingTalk custom robot. Webhook is the full URL including the
// access_token; Secret is the "SEC…" signing secret (empty when the robot uses
// keywords only). Keyword, if set, is put in the title and text of every
// message. AtMobiles/AtUserIDs are mentioned in every message to this robot.
type Robot struct {
	Name      string   `json:"name"`
	Webhook   Secret   `json:"webhook"`
	Secret    Secret   `json:"secret,omitempty"`
	Keyword   string   `json:"keyword,omitempty"`
	AtMobiles []string `json:"atMobiles,omitempty"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
}

// LogValue logs a robot by name and keyword only.
func (r Robot) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", r.Name), slog.String("keyword", r.Keyword))
}

// Config is the notifier's configuration from the environment.
type Config struct {
	Robots []Robot // the first is the default robot
	Lang   Lang
}

// ErrNoRobots is wrapped by the error of ParseConfig and ParseRobots when
// DINGTALK_ROBOTS is not set (empty or blank): a function may then run
// without notifications, where any other configuration error is fatal.
var ErrNoRobots = errors.New("no DingTalk robots configured")

// ConfigError is a field-qualified configuration error. Its message never
// contains a webhook URL, token or secret.
type ConfigError struct {
	Field  string // e.g. "DINGTALK_ROBOTS[1].webhook"
	Reason string
	Err    error // a sentinel the error is (ErrNoRobots), or nil
}

func (e *ConfigError) Error() string { return "notify config: " + e.Field + ": " + e.Reason }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// ParseConfig reads DINGTALK_ROBOTS and DINGTALK_LANG through getenv and
// validates the result.
func ParseConfig(getenv func(string) string) (Config, error) {
	robots, err := ParseRobots(getenv(EnvRobots))
	if err != nil {
		return Config{}, err
	}
	c := Config{Robots: robots}
	switch l := strings.ToLower(strings.TrimSpace(getenv(EnvLang))); l {
	case "", "zh", "zh-cn", "cn":
		c.Lang = LangZH
	case "en", "en-us":
		c.Lang = LangEN
	default:
		return Config{}, &ConfigError{Field: EnvLang, Reason: fmt.Sprintf("unknown language %q (want zh or en)", l)}
	}
	return c, nil
}

// ParseRobots decodes and validates the JSON list of DINGTALK_ROBOTS
// (`[{"name","webhook","secret","keyword","atMobiles","atUserIds"}]`).
// Decoding errors report a position or a field name, never the input.
func ParseRobots(raw string) ([]Robot, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, &ConfigError{Field: EnvRobots, Reason: "not set (want a JSON list of robots)", Err: ErrNoRobots}
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var robots []Robot
	if err := dec.Decode(&robots); err != nil {
		return nil, &ConfigError{Field: EnvRobots, Reason: describeJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ConfigError{Field: EnvRobots, Reason: "trailing data after the JSON list"}
	}
	if err := validateRobots(robots); err != nil {
		return nil, err
	}
	return robots, nil
}

// describeJSONError turns a decoding error into words that quote no input
// (a syntax error's message may quote a character of a secret).
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: wrong JSON type %s (want %s)", te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no type or sentinel for DisallowUnknownFields'
		// error (golang/go#29035; json/v2's ErrUnknownName is still behind
		// GOEXPERIMENT=jsonv2): its text is the only way to tell it apart.
		return strings.TrimPrefix(err.Error(), "json: ") // names the field, not a value
	}
	return "invalid JSON"
}

// Validate checks every robot: a unique name, an http(s) webhook with an
// access_token, and at least one of secret or keyword (DingTalk requires a
// security setting; the IP allow-list is unusable from FC).
func (c Config) Validate() error { return validateRobots(c.Robots) }

func validateRobots(robots []Robot) error {
	if len(robots) == 0 {
		return &ConfigError{Field: EnvRobots, Reason: "empty list (want at least the default robot)"}
	}
	var errs []error
	names := map[string]bool{}
	for i, r := range robots {
		field := func(f string) string { return fmt.Sprintf("%s[%d].%s", EnvRobots, i, f) }
		bad := func(f, reason string) { errs = append(errs, &ConfigError{Field: field(f), Reason: reason}) }
		switch {
		case r.Name == "":
			bad("name", "required")
		case names[r.Name]:
			bad("name", fmt.Sprintf("duplicate robot name %q", r.Name))
		}
		names[r.Name] = true
		if r.Webhook == "" {
			bad("webhook", "required")
		} else if u, err := url.Parse(r.Webhook.Reveal()); err != nil { // err quotes the URL: drop it
			bad("webhook", "not a URL")
		} else if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			bad("webhook", "want an http(s) URL with a host")
		} else if u.Query().Get("access_token") == "" {
			bad("webhook", "no access_token in the query")
		}
		if r.Secret != "" && !strings.HasPrefix(r.Secret.Reveal(), "SEC") {
			bad("secret", `want the robot's "SEC…" signing secret`)
		}
		if r.Secret == "" && r.Keyword == "" {
			bad("secret", "set a signing secret or a keyword (DingTalk needs one security setting)")
		}
	}
	return errors.Join(errs...)
}

// marshalNoEscape encodes v as JSON without HTML escaping (DingTalk renders
// the text; "\u003c" would only waste bytes of the 20,000-byte budget).
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
