package fcwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/porthygiene/porthygiene/shared/clock"
)

// EnvTimeURL names the optional trusted time source of the functions: an
// http(s) URL whose GET answers {"now":"<RFC 3339>"}. localcloud sets it, for
// every function it runs, to its control API (/_localcloud/clock), so that
// its virtual clock reaches the function through a channel no trigger
// payload can fake. In the cloud it is unset: the wall clock is the system
// clock.
const EnvTimeURL = "PORTHYGIENE_TIME_URL"

// ErrTimeSource: the trusted time source could not be read. The invocation
// fails with it (FC retries): it never decides on another clock instead.
var ErrTimeSource = errors.New("trusted time source unavailable")

// TimeReadTimeout bounds one read of the time source.
const TimeReadTimeout = 3 * time.Second

// maxTimeAnswer bounds the answer read from the time source.
const maxTimeAnswer = 4 << 10

// TimeSource is the trusted time source of EnvTimeURL. A nil *TimeSource is
// the system clock. It is safe for concurrent use.
type TimeSource struct {
	url    string
	client *http.Client
}

// NewTimeSource reads EnvTimeURL: nil (the system clock) when it is unset,
// an error when it is not an absolute http or https URL.
func NewTimeSource(getenv func(string) string) (*TimeSource, error) {
	raw := getenv(EnvTimeURL)
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want an absolute http or https URL", EnvTimeURL, raw)
	}
	// No proxy: the source is the function's own host's (localcloud's
	// loopback), and HTTP_PROXY is set for the SLS SDK only.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	return &TimeSource{url: u.String(), client: &http.Client{Transport: tr, Timeout: TimeReadTimeout}}, nil
}

// Read asks the source for the time.
func (s *TimeSource) Read(ctx context.Context) (time.Time, error) {
	fail := func(err error) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%w: GET %s: %w", ErrTimeSource, s.url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, TimeReadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fail(err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimeAnswer+1))
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("HTTP %d", resp.StatusCode))
	}
	if len(body) > maxTimeAnswer {
		return fail(fmt.Errorf("answer longer than %d bytes", maxTimeAnswer))
	}
	var ans struct {
		Now time.Time `json:"now"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fail(fmt.Errorf("answer is not {\"now\":\"<RFC 3339>\"}: %w", err))
	}
	if ans.Now.IsZero() {
		return fail(errors.New(`answer has no "now"`))
	}
	return ans.Now.UTC(), nil
}

// Wall reads the source once and returns ctx carrying the invocation's wall
// clock (clock.WithWall): the later of the system clock and that reading.
// localcloud's virtual clock starts at the system time and moves only when
// advanced, so between advances the system clock leads: the source moves the
// clock forward, never back. A nil source leaves ctx as it is (the system
// clock); a failed read is an error wrapping ErrTimeSource.
func (s *TimeSource) Wall(ctx context.Context) (context.Context, error) {
	if s == nil {
		return ctx, nil
	}
	read, err := s.Read(ctx)
	if err != nil {
		return ctx, err
	}
	return clock.WithWall(ctx, clock.Func(func() time.Time { return clock.Max(time.Now(), read).UTC() })), nil
}
