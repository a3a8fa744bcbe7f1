// Command echofn is the test function of package fcrt. It echoes its
// payload and its FC context; the payload's "op" makes it fail, panic,
// sleep past its deadline, exit, log, or fail until a retry count.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

type request struct {
	Op    string `json:"op"`              // "", fail, failUntil, panic, sleep, exit, log
	Sleep string `json:"sleep,omitempty"` // for sleep: ignores the context deadline
	N     int    `json:"n,omitempty"`     // for failUntil: fail while RetryCount < n
	Msg   string `json:"msg,omitempty"`
}

type reply struct {
	Payload       json.RawMessage    `json:"payload"`
	RequestID     string             `json:"requestId"`
	AccessKeyID   string             `json:"accessKeyId"`
	HasSecret     bool               `json:"hasSecret"`
	SecurityToken string             `json:"securityToken"`
	RetryCount    int                `json:"retryCount"`
	DeadlineInMS  int64              `json:"deadlineInMs"`
	Function      fccontext.Function `json:"function"`
	Region        string             `json:"region"`
	AccountID     string             `json:"accountId"`
	InitRequestID string             `json:"initRequestId"`
	PID           int                `json:"pid"`
	Env           map[string]string  `json:"env"`
}

// initState is written by the initializer; a test binary may keep it global.
var initState struct {
	sync.Mutex
	requestID string
}

func initialize(ctx context.Context) {
	fctx, _ := fccontext.FromContext(ctx)
	initState.Lock()
	initState.requestID = fctx.RequestID
	initState.Unlock()
	if os.Getenv("ECHO_INIT_FAIL") != "" {
		panic("initializer failed on request")
	}
}

func handle(ctx context.Context, event []byte) (reply, error) {
	var req request
	if len(event) > 0 {
		if err := json.Unmarshal(event, &req); err != nil {
			return reply{}, fmt.Errorf("decode event: %w", err)
		}
	}
	fctx, _ := fccontext.FromContext(ctx)
	switch req.Op {
	case "fail":
		return reply{}, errors.New("boom: " + req.Msg)
	case "failUntil":
		if fctx.RetryCount < req.N {
			return reply{}, fmt.Errorf("boom: retry %d < %d", fctx.RetryCount, req.N)
		}
	case "panic":
		panic("kaboom: " + req.Msg)
	case "sleep":
		d, err := time.ParseDuration(req.Sleep)
		if err != nil {
			return reply{}, err
		}
		time.Sleep(d)
	case "exit":
		os.Exit(3)
	case "log":
		fmt.Println("stdout: " + req.Msg)
		fmt.Fprintln(os.Stderr, "stderr: "+req.Msg)
	}
	payload := json.RawMessage(event)
	if len(event) == 0 {
		payload = nil
	}
	dl, _ := ctx.Deadline()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	initState.Lock()
	initID := initState.requestID
	initState.Unlock()
	return reply{
		Payload:       payload,
		RequestID:     fctx.RequestID,
		AccessKeyID:   fctx.Credentials.AccessKeyId,
		HasSecret:     fctx.Credentials.AccessKeySecret != "",
		SecurityToken: fctx.Credentials.SecurityToken,
		RetryCount:    fctx.RetryCount,
		DeadlineInMS:  time.Until(dl).Milliseconds(),
		Function:      fctx.Function,
		Region:        fctx.Region,
		AccountID:     fctx.AccountId,
		InitRequestID: initID,
		PID:           os.Getpid(),
		Env:           env,
	}, nil
}

func main() {
	fc.RegisterInitializerFunction(initialize)
	fc.Start(handle)
}
