package approve_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/porthygiene/porthygiene/shared/approve"
)

// FuzzVerifyQuery: the approve function's only outside input is a clicked
// link's query. Whatever an attacker types, Verify answers a Link or an
// error that is one of the named sentinels — and a Link it accepts is one
// this key signed: signing it again yields the same signature.
func FuzzVerifyQuery(f *testing.F) {
	for _, l := range []approve.Link{keepLink(),
		{Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(3600e9), Nonce: "ABCDEFGHIJKLMNOP"},
		{Action: approve.ActionRestore, LedgerID: lid, Days: 7, Expires: t0.Add(3600e9), Nonce: "0123456789abcdef"},
	} {
		u, err := url.Parse(approve.Sign(key, base, l))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(u.RawQuery)
	}
	f.Add("")
	f.Add("a=keep&a=close")
	f.Add("sig=" + "00000000000000000000000000000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the HTTP layer refuses it before Verify
		}
		l, err := approve.Verify(key, q, t0)
		if err != nil {
			if !errors.Is(err, approve.ErrMalformed) && !errors.Is(err, approve.ErrForged) && !errors.Is(err, approve.ErrExpired) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			if !errors.Is(err, approve.ErrExpired) {
				return
			}
		}
		// Accepted (or only expired): the signature must be ours.
		resigned, perr := url.Parse(approve.Sign(key, base, l))
		if perr != nil {
			t.Fatal(perr)
		}
		if got, want := resigned.Query().Get("sig"), q.Get("sig"); got != want {
			t.Fatalf("Verify accepted a link this key did not sign:\n query %q\n link  %+v", raw, l)
		}
	})
}

// FuzzVerifyTampered: a signed link with one byte of its query changed
// verifies only if the change left every signed value as it was (e.g. a
// parameter of another name added); otherwise it is refused.
func FuzzVerifyTampered(f *testing.F) {
	f.Add(0, byte('x'))
	f.Add(5, byte('0'))
	f.Add(200, byte('&'))
	u, err := url.Parse(approve.Sign(key, base, keepLink()))
	if err != nil {
		f.Fatal(err)
	}
	orig := u.RawQuery
	want, err := approve.Verify(key, u.Query(), t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pos int, b byte) {
		if pos < 0 {
			pos = -pos
		}
		raw := []byte(orig)
		raw[pos%len(raw)] = b
		q, err := url.ParseQuery(string(raw))
		if err != nil {
			return
		}
		got, err := approve.Verify(key, q, t0)
		if err != nil {
			return
		}
		if got != want {
			t.Fatalf("a tampered link verified with other values:\n query %q\n got  %+v\n want %+v", raw, got, want)
		}
	})
}
