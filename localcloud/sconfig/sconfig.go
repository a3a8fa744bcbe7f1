package sconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
)

// FC defaults the caller applies when the s.yaml leaves async settings unset.
const (
	DefaultAsyncRetryAttempts = 3
	DefaultAsyncMaxEventAge   = 18000 * time.Second
)

// Trigger types localcloud wires.
const (
	TriggerTimer       = "timer"
	TriggerEventBridge = "eventbridge"
	TriggerLog         = "log"
	TriggerHTTP        = "http"
)

// Project is a rendered s.yaml.
type Project struct {
	Name      string
	Vars      map[string]any // rendered vars
	Functions []Function     // fc3 resources, in file order
}

// Function is one fc3 resource.
type Function struct {
	Resource string // key under resources:
	Name     string // props.functionName
	Region   string
	Runtime  string
	Handler  string // path of the binary relative to CodeDir for go1
	CodeDir  string // absolute; props.code (or code.src) against the s.yaml directory
	Role     string // ARN; a bare role name is expanded as fc3 does (acs:ram::<account>:role/<lowercased name>)
	RoleName string // the role name part of Role; empty without a role

	Timeout  time.Duration // default 3s
	MemoryMB int           // default 512

	Env map[string]string // props.environmentVariables

	AsyncRetryAttempts *int          // asyncInvokeConfig.maxAsyncRetryAttempts; nil: FC default (3)
	AsyncMaxEventAge   time.Duration // asyncInvokeConfig.maxAsyncEventAgeInSeconds; zero: FC default (5 h)

	HasInitializer     bool          // props.instanceLifecycleConfig.initializer has a handler or command
	InitializerTimeout time.Duration // its timeout; zero when unset

	PreDeploy []Action // actions.pre-deploy entries that run a command
	Triggers  []Trigger
}

// Action is one `run` step of actions.pre-deploy.
type Action struct {
	Run  string
	Path string // absolute; the s.yaml directory when omitted
}

// Trigger is one entry of props.triggers. Exactly one of the config pointers is
// set, matching Type.
type Trigger struct {
	Name, Type  string
	Timer       *TimerConfig
	EventBridge *EventBridgeConfig
	Log         *LogConfig
	HTTP        *HTTPConfig
}

// TimerConfig is a timer trigger's triggerConfig.
type TimerConfig struct {
	CronExpression string // validated with localcloud/timers
	Payload        string
	Enable         bool
}

// EventBridgeConfig is an eventbridge trigger's triggerConfig.
type EventBridgeConfig struct {
	Pattern    json.RawMessage // eventRuleFilterPattern, compacted; it compiles with localcloud/eventbus
	Enable     bool            // triggerEnable, default true
	Async      bool            // asyncInvocationType as written; its meaning is ambiguous in FC's docs
	SourceType string          // eventSourceConfig.eventSourceType, default "Default"
}

// LogConfig is a log (SLS) trigger's configuration.
type LogConfig struct {
	SourceArn         string         // acs:log:<region>:<account>:project/<project>
	Project           string         // from SourceArn
	Logstore          string         // triggerConfig.sourceConfig.logstore
	Interval          time.Duration  // jobConfig.triggerInterval, 3–600 s, default 60 s
	MaxRetry          int            // jobConfig.maxRetryTime, 0–100, default 3
	FunctionParameter map[string]any // passed to the function as "parameter"
	Enable            bool
	LogProject        string // triggerConfig.logConfig: where the trigger logs
	LogLogstore       string
}

// HTTPConfig is an http trigger's triggerConfig.
type HTTPConfig struct {
	Methods  []string
	AuthType string // anonymous | function | jwt
}

// ErrNotInteger is wrapped by the *Error for a field the FC 3.0 API types as
// an integer that the s.yaml gives as a string (jobConfig.maxRetryTime and
// jobConfig.triggerInterval of a log trigger): fc3 sends triggerConfig to the
// API unchanged, and the API refuses the string.
var ErrNotInteger = errors.New("must be an integer")

// Error is a problem in the s.yaml, located by line and field path.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when unknown
	Field string // e.g. resources.drift.props.handler; empty for file-level problems
	Err   error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", loc, e.Field, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Option configures Load and Parse.
type Option func(*options)

type options struct {
	accountID string
	file      string
}

// WithAccountID sets the value of ${config('AccountID')} and of the account in
// expanded role ARNs; the default is localcloud's account (auth.AccountID).
func WithAccountID(id string) Option { return func(o *options) { o.accountID = id } }

// WithFileName sets the file name used in errors from Parse (default "s.yaml").
func WithFileName(name string) Option { return func(o *options) { o.file = name } }

// Load reads and renders the s.yaml at path. getenv supplies ${env(...)}; nil
// means an empty environment.
func Load(path string, getenv func(string) string, opts ...Option) (*Project, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load s.yaml: %w", err)
	}
	return Parse(data, filepath.Dir(path), getenv, append([]Option{WithFileName(path)}, opts...)...)
}

// Parse renders an s.yaml held in data. dir is the directory relative paths
// (code, actions' path, ${path()}) are resolved against.
func Parse(data []byte, dir string, getenv func(string) string, opts ...Option) (*Project, error) {
	o := options{accountID: auth.AccountID, file: "s.yaml"}
	for _, opt := range opts {
		opt(&o)
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("parse s.yaml: resolve directory %q: %w", dir, err)
	}
	p := &parser{file: o.file, dir: abs, accountID: o.accountID, getenv: getenv}
	return p.parse(data)
}
