// Package approvetest opens decision links in tests as a person does: GET the
// link (the confirmation page, which records nothing), then submit the page's
// form, which POSTs the signed parameters back to the link.
package approvetest

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var (
	formRe  = regexp.MustCompile(`(?s)<form method="post">(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// Form returns the fields of the confirmation form of page, and whether page
// has one.
func Form(page string) (url.Values, bool) {
	m := formRe.FindStringSubmatch(page)
	if m == nil {
		return nil, false
	}
	v := url.Values{}
	for _, in := range inputRe.FindAllStringSubmatch(m[1], -1) {
		v.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return v, true
}

// Get opens link: the status and page.
func Get(ctx context.Context, hc *http.Client, link string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, "", err
	}
	return do(hc, req)
}

// Post submits form to link, as a browser submits the confirmation form
// (which has no action: it is posted to the link as opened).
func Post(ctx context.Context, hc *http.Client, link string, form url.Values) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(hc, req)
}

// Click opens link and, when it answers 200 with a confirmation form, calls
// between (if not nil: assert that the GET recorded nothing) and submits the
// form; it returns the status and page of the last request.
func Click(ctx context.Context, hc *http.Client, link string, between func(status int, page string)) (int, string, error) {
	status, page, err := Get(ctx, hc, link)
	if err != nil || status != http.StatusOK {
		return status, page, err
	}
	form, ok := Form(page)
	if !ok {
		return status, page, fmt.Errorf("GET %s answered 200 without a confirmation form", redact(link))
	}
	if between != nil {
		between(status, page)
	}
	return Post(ctx, hc, link, form)
}

func do(hc *http.Client, req *http.Request) (int, string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// redact drops the query (it carries the signature).
func redact(link string) string {
	s, _, _ := strings.Cut(link, "?")
	return s
}
