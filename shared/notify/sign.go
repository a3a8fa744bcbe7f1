package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns DingTalk's signature for a request made at now:
// url.QueryEscape(base64(HmacSHA256(key=secret, msg=timestampMs+"\n"+secret)))
// and the millisecond timestamp it signs. DingTalk accepts a timestamp within
// one hour of its own clock.
func Sign(secret Secret, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(timestamp + "\n" + secret.Reveal()))
	return timestamp, url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// signedURL is r's webhook with &timestamp=…&sign=… appended when r has a
// signing secret. The result holds the access token: never log it.
func signedURL(r Robot, now time.Time) string {
	u := r.Webhook.Reveal()
	if r.Secret == "" {
		return u
	}
	ts, sig := Sign(r.Secret, now)
	sep := "&"
	if !strings.Contains(u, "?") {
		sep = "?"
	}
	return u + sep + "timestamp=" + ts + "&sign=" + sig
}
