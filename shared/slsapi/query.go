package slsapi

import (
	"context"
	"fmt"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"

	"github.com/porthygiene/porthygiene/shared/logstore"
)

// maxPageLines is the most rows a search-only GetLogs request returns.
const maxPageLines = logstore.MaxPageLines

// incompleteAttempts bounds re-issuing a query whose progress is Incomplete.
const incompleteAttempts = 8

// Page selects rows of a search-only query: Lines (1..logstore.MaxPageLines,
// 0 means logstore.MaxPageLines) from Offset, oldest first unless Reverse.
// SQL queries ignore it (they page with LIMIT).
type Page = logstore.Page

// The Client is the ledger's log store.
var _ logstore.Store = (*Client)(nil)

// Query runs query ("<search>" or "<search> | <SQL>") over the logs whose time
// is in [from, to) (whole seconds: from rounds down, to rounds up) and returns
// the rows, every value a string; rows carry __time__, __topic__, __source__.
// A search-only query is paged logstore.MaxPageLines at a time until
// exhausted; an SQL query is one request (its LIMIT, default 100, bounds the
// rows). A response whose progress is Incomplete is re-issued.
func (c *Client) Query(ctx context.Context, project, logstore string, from, to time.Time, query string) ([]map[string]string, error) {
	if hasSQL(query) {
		return c.QueryPage(ctx, project, logstore, from, to, query, Page{})
	}
	var all []map[string]string
	for off := 0; ; off += maxPageLines {
		rows, err := c.QueryPage(ctx, project, logstore, from, to, query, Page{Lines: maxPageLines, Offset: off})
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if len(rows) < maxPageLines {
			return all, nil
		}
	}
}

// QueryPage runs one GetLogs request (re-issued while Incomplete).
func (c *Client) QueryPage(ctx context.Context, project, logstore string, from, to time.Time, query string, p Page) ([]map[string]string, error) {
	cl := call{op: "GetLogs", project: project, logstore: logstore}
	f, t := from.Unix(), to.Unix()
	if to.After(time.Unix(t, 0)) {
		t++ // [from, to) in whole seconds must still include to's second
	}
	if f > t {
		return nil, &Error{Op: cl.op, Project: project, Logstore: logstore, Message: fmt.Sprintf("from %v is after to %v", from, to), Err: ErrInvalid}
	}
	req := &sdk.GetLogRequest{From: f, To: t, Query: query}
	if !hasSQL(query) {
		lines := p.Lines
		if lines <= 0 || lines > maxPageLines {
			lines = maxPageLines
		}
		req.Lines, req.Offset, req.Reverse = int64(lines), int64(max(p.Offset, 0)), p.Reverse
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var resp *sdk.GetLogsV3Response
		err := c.do(ctx, cl, func(sc sdk.ClientInterface) error {
			var err error
			resp, err = sc.GetLogsV3(project, logstore, req)
			return err
		})
		if err != nil {
			return nil, err
		}
		if resp.IsComplete() {
			return resp.Logs, nil
		}
		if attempt == incompleteAttempts {
			return nil, &Error{Op: cl.op, Project: project, Logstore: logstore, Message: fmt.Sprintf("query still incomplete after %d attempts", attempt), Err: ErrServer}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, cl.wrapCtx(ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// hasSQL reports whether query has an SQL part: a | outside double quotes.
func hasSQL(query string) bool {
	in := false
	for i := 0; i < len(query); i++ {
		switch query[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		case '|':
			if !in {
				return true
			}
		}
	}
	return false
}
