package approve_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
)

var (
	key  = []byte("test-signing-key-0123456789abcdef")
	t0   = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	base = "https://approve.example.com/http/approve"
	lid  = ledger.NewID(t0.Add(-time.Hour))
)

func keepLink() approve.Link {
	return approve.Link{Action: approve.ActionKeep, LedgerID: lid, GroupID: "sg-bp1web", RuleID: "sgr-bp1ssh", Region: "cn-hangzhou",
		Days: 30, Expires: t0.Add(approve.DefaultTTL), Nonce: "0123456789abcdef0123456789abcdef"}
}

func query(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query()
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, l := range []approve.Link{
		keepLink(),
		{Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: "ABCDEFGHIJKLMNOP"},
		{Action: approve.ActionRestore, LedgerID: lid, Days: 7, Expires: t0.Add(time.Hour), Nonce: approve.NewNonce()},
	} {
		t.Run(string(l.Action), func(t *testing.T) {
			require.NoError(t, l.Validate())
			link := approve.Sign(key, base, l)
			require.True(t, strings.HasPrefix(link, base+"?a="+string(l.Action)+"&"), link)
			got, err := approve.Verify(key, query(t, link), t0)
			require.NoError(t, err)
			require.Equal(t, l, got)
		})
	}
}

func TestSignFormat(t *testing.T) {
	link := approve.Sign(key, base, keepLink())
	require.Regexp(t, `^https://approve\.example\.com/http/approve\?a=keep&l=L[0-9A-Z]{18}&g=sg-bp1web&r=sgr-bp1ssh&rg=cn-hangzhou&d=30&exp=\d+&n=0123456789abcdef0123456789abcdef&sig=[0-9a-f]{64}$`, link)
	require.Contains(t, approve.Sign(key, base+"?x=1", keepLink()), "?x=1&a=keep&", "a base with a query")

	// Defaults: days for keep, a nonce.
	l := keepLink()
	l.Days, l.Nonce = 0, ""
	got, err := approve.Verify(key, query(t, approve.Sign(key, base, l)), t0)
	require.NoError(t, err)
	require.Equal(t, approve.DefaultKeepDays, got.Days)
	require.Len(t, got.Nonce, 32)
}

func TestVerifyRefuses(t *testing.T) {
	good := query(t, approve.Sign(key, base, keepLink()))
	edit := func(f func(q url.Values)) url.Values {
		q := url.Values{}
		for k, v := range good {
			q[k] = append([]string(nil), v...)
		}
		f(q)
		return q
	}
	cases := []struct {
		name string
		q    url.Values
		key  []byte
		now  time.Time
		want error
	}{
		{"ForgedKey", good, []byte("another-key-0123456789abcdef"), t0, approve.ErrForged},
		{"ForgedSig", edit(func(q url.Values) { q.Set("sig", strings.Repeat("0", 64)) }), key, t0, approve.ErrForged},
		// Each signed field, changed, breaks the signature.
		{"TamperedAction", edit(func(q url.Values) { q.Set("a", "close") }), key, t0, approve.ErrForged},
		{"TamperedGroup", edit(func(q url.Values) { q.Set("g", "sg-other") }), key, t0, approve.ErrForged},
		{"TamperedRule", edit(func(q url.Values) { q.Set("r", "sgr-other") }), key, t0, approve.ErrForged},
		{"TamperedLedger", edit(func(q url.Values) { q.Set("l", ledger.NewID(t0)) }), key, t0, approve.ErrForged},
		{"TamperedRegion", edit(func(q url.Values) { q.Del("rg") }), key, t0, approve.ErrForged},
		{"TamperedDays", edit(func(q url.Values) { q.Set("d", "365") }), key, t0, approve.ErrForged},
		{"ExtendedExpiry", edit(func(q url.Values) { q.Set("exp", "4102444800") }), key, t0.Add(30 * 24 * time.Hour), approve.ErrForged},
		{"OtherNonce", edit(func(q url.Values) { q.Set("n", "ffffffffffffffffffffffffffffffff") }), key, t0, approve.ErrForged},
		// A newline would let a value move between fields.
		{"NewlineShift", edit(func(q url.Values) { q.Set("a", "keep\n"+q.Get("l")); q.Del("l") }), key, t0, approve.ErrMalformed},
		{"Expired", good, key, t0.Add(approve.DefaultTTL), approve.ErrExpired},
		{"ExpiredLongAgo", good, key, t0.Add(365 * 24 * time.Hour), approve.ErrExpired},
		{"NoSig", edit(func(q url.Values) { q.Del("sig") }), key, t0, approve.ErrMalformed},
		{"ShortSig", edit(func(q url.Values) { q.Set("sig", "abcd") }), key, t0, approve.ErrMalformed},
		{"UpperSig", edit(func(q url.Values) { q.Set("sig", strings.ToUpper(q.Get("sig"))) }), key, t0, approve.ErrMalformed},
		{"NoAction", edit(func(q url.Values) { q.Del("a") }), key, t0, approve.ErrMalformed},
		{"NoNonce", edit(func(q url.Values) { q.Del("n") }), key, t0, approve.ErrMalformed},
		{"NoExpiry", edit(func(q url.Values) { q.Del("exp") }), key, t0, approve.ErrMalformed},
		{"Repeated", edit(func(q url.Values) { q.Add("g", "sg-bp1web") }), key, t0, approve.ErrMalformed},
		{"Empty", url.Values{}, key, t0, approve.ErrMalformed},
		{"NoKey", good, nil, t0, approve.ErrNoKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := approve.Verify(tc.key, tc.q, tc.now)
			require.ErrorIs(t, err, tc.want)
			var le *approve.LinkError
			require.ErrorAs(t, err, &le)
			require.NotContains(t, err.Error(), good.Get("sig"), "errors never quote the signature")
		})
	}
	_, err := approve.Verify(key, edit(func(q url.Values) { q.Set("utm_source", "dingtalk") }), t0)
	require.NoError(t, err, "parameters that are not the link's are ignored")
}

func TestVerifySignedButInvalid(t *testing.T) {
	// Sign does not validate; Verify refuses what should not have been signed.
	for name, l := range map[string]approve.Link{
		"UnknownAction":   {Action: "open", GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
		"RestoreNoLedger": {Action: approve.ActionRestore, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
		"CloseNoRule":     {Action: approve.ActionClose, GroupID: "sg-1", Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
		"TooManyDays":     {Action: approve.ActionKeep, GroupID: "sg-1", RuleID: "sgr-1", Days: 400, Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
		"ShortNonce":      {Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: "abc"},
		"NotALedgerID":    {Action: approve.ActionRestore, LedgerID: "L123", Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
		"LowerCaseLedger": {Action: approve.ActionRestore, LedgerID: strings.ToLower(lid), Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, l.Validate(), approve.ErrMalformed)
			_, err := approve.Verify(key, query(t, approve.Sign(key, base, l)), t0)
			require.ErrorIs(t, err, approve.ErrMalformed)
		})
	}
	closeWithDays := approve.Link{Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Days: 3, Expires: t0.Add(time.Hour), Nonce: "0123456789abcdef"}
	require.ErrorIs(t, closeWithDays.Validate(), approve.ErrMalformed, "days are for keep and restore")
}

func TestButtons(t *testing.T) {
	ev := notify.Event{ID: "e1", Kind: notify.KindExposureFound, GroupID: "sg-1", RuleID: "sgr-1", Region: "cn-hangzhou", LedgerID: lid}
	bs := approve.ButtonsIn(notify.LangEN, key, base, ev, t0)
	require.Len(t, bs, 2)
	require.Equal(t, "Keep open for 30 days", bs[0].Title)
	require.Equal(t, "Close now", bs[1].Title)
	keep, err := approve.Verify(key, query(t, bs[0].URL), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, approve.ActionKeep, keep.Action)
	require.Equal(t, 30, keep.Days)
	require.Equal(t, "sgr-1", keep.RuleID)
	require.Equal(t, t0.Add(approve.DefaultTTL), keep.Expires)
	closeLink, err := approve.Verify(key, query(t, bs[1].URL), t0)
	require.NoError(t, err)
	require.NotEqual(t, keep.Nonce, closeLink.Nonce, "one nonce per button")

	ev.Kind = notify.KindExposureRevoked
	bs = approve.ButtonsIn(notify.LangZH, key, base, ev, t0)
	require.Len(t, bs, 1)
	require.Equal(t, "恢复（开放 30 天）", bs[0].Title)
	restore, err := approve.Verify(key, query(t, bs[0].URL), t0)
	require.NoError(t, err)
	require.Equal(t, lid, restore.LedgerID)

	ev.LedgerID = ""
	require.Empty(t, approve.ButtonsIn(notify.LangZH, key, base, ev, t0), "no restore without the backup's ledger id")
	ev.Kind = notify.KindReaperAnnounced
	require.Len(t, approve.ButtonsIn(notify.LangZH, key, base, ev, t0), 2, "keep and close by group and rule")
	require.Empty(t, approve.ButtonsIn(notify.LangZH, nil, base, ev, t0), "no key, no buttons")
	require.Empty(t, approve.ButtonsIn(notify.LangZH, key, "", ev, t0), "no base, no buttons")
	ev.Kind = notify.KindError
	require.Empty(t, approve.ButtonsIn(notify.LangZH, key, base, ev, t0))
}
