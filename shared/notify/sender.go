package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/aws/smithy-go/waiter"
)

// Sender defaults.
const (
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	DefaultMaxAttempts = 4
	DefaultReserve     = time.Second      // kept back before the ctx deadline
	DefaultMaxElapsed  = 20 * time.Second // retry window when ctx has no deadline
	DefaultHTTPTimeout = 10 * time.Second
	maxAnswerBytes     = 64 << 10
)

// Sender posts message bodies to DingTalk robots. The zero value is ready to
// use with the defaults above; a Sender is safe for concurrent use.
type Sender struct {
	Client      *http.Client  // nil: a client with DefaultHTTPTimeout
	MinBackoff  time.Duration // 0: DefaultMinBackoff
	MaxBackoff  time.Duration // 0: DefaultMaxBackoff
	MaxAttempts int           // 0: DefaultMaxAttempts
	Reserve     time.Duration // 0: DefaultReserve
	MaxElapsed  time.Duration // 0: DefaultMaxElapsed
}

var defaultClient = &http.Client{Timeout: DefaultHTTPTimeout}

// Send posts body (a complete DingTalk JSON message) to r, signing each attempt
// with the time now returns. Retryable failures other than rate limiting are
// retried with exponential backoff and jitter (smithy-go waiter.ComputeDelay)
// while the next attempt fits before ctx's deadline (less Reserve) and
// MaxAttempts allows; 130101 is never retried at once, since the robot stays
// silenced for 10 minutes. A failure is a *SendError whose strings hold no
// token, webhook or secret.
func (s *Sender) Send(ctx context.Context, r Robot, body []byte, now func() time.Time) error {
	return s.send(ctx, r, body, now, newRedactor([]Robot{r}), nil)
}

// send is Send with a redactor and a gate consulted before every retry (the
// notifier spends one unit of the robot's budget per retry).
func (s *Sender) send(ctx context.Context, r Robot, body []byte, now func() time.Time, rd redactor, mayRetry func() bool) error {
	minB, maxB := orDur(s.MinBackoff, DefaultMinBackoff), orDur(s.MaxBackoff, DefaultMaxBackoff)
	if maxB < minB {
		maxB = minB
	}
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(orDur(s.MaxElapsed, DefaultMaxElapsed))
	}
	deadline = deadline.Add(-orDur(s.Reserve, DefaultReserve))
	for attempt := 1; ; attempt++ {
		se := s.post(ctx, r, body, now(), rd)
		if se == nil {
			return nil
		}
		se.Attempts = attempt
		if !se.Retryable || se.Reason == ReasonRateLimited || attempt >= maxAttempts || ctx.Err() != nil {
			return se
		}
		remaining := time.Until(deadline)
		if remaining <= minB {
			return se
		}
		delay, err := waiter.ComputeDelay(int64(attempt), minB, maxB, remaining)
		if err != nil || delay <= 0 || delay >= remaining {
			return se
		}
		if mayRetry != nil && !mayRetry() {
			return se
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return se
		case <-t.C:
		}
	}
}

// post makes one attempt and classifies it; nil means delivered.
func (s *Sender) post(ctx context.Context, r Robot, body []byte, at time.Time, rd redactor) *SendError {
	fail := func(o Outcome, status int, err error) *SendError {
		return &SendError{Robot: r.Name, Code: o.Code, Msg: rd.String(o.Msg), HTTPStatus: status,
			Reason: o.Reason, Retryable: o.Retryable, Err: rd.Error(err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, signedURL(r, at), bytes.NewReader(body))
	if err != nil {
		return fail(Outcome{Reason: ReasonClient}, 0, err)
	}
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(Outcome{Reason: ReasonTransport, Retryable: true}, 0, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(Outcome{Reason: ReasonTransport, Retryable: true}, resp.StatusCode, err)
	}
	o := Classify(resp.StatusCode, answer)
	if o.OK {
		return nil
	}
	return fail(o, resp.StatusCode, nil)
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
