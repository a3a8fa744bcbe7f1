package ecs

import (
	"crypto/rand"
	"fmt"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
)

func accountID() string { return auth.AccountID }

// signingParams are the common and signing parameters ActionTrail leaves out
// of requestParameters.
var signingParams = map[string]bool{
	"AccessKeyId": true, "Signature": true, "SignatureMethod": true, "SignatureNonce": true,
	"SignatureVersion": true, "SignatureType": true, "Timestamp": true, "Format": true,
	"Version": true, "SecurityToken": true, "Action": true,
}

// emit sends the ActionTrail record of a successful write. It runs after the
// handler released the lock, so a reader woken by the record sees the change.
func (s *Server) emit(c *call, wr *writeResult) {
	if s.cfg.Trail == nil {
		return
	}
	params := map[string]any{}
	for k, vs := range c.r.Form {
		if signingParams[k] || len(vs) == 0 {
			continue
		}
		params[k] = vs[0]
	}
	params["RegionId"] = c.region
	params["AcsHost"] = c.r.Host
	params["AcsProduct"] = "Ecs"
	var refs map[string][]string
	if wr != nil {
		refs = wr.resources
	}
	s.cfg.Trail.Emit(actiontrail.Record{
		EventID:             newUUID(),
		EventVersion:        "1",
		EventType:           "ApiCall",
		EventCategory:       "Management",
		EventRW:             "Write",
		EventName:           c.action,
		EventTime:           s.clock.Now().UTC().Format("2006-01-02T15:04:05Z"),
		EventSource:         "ecs.aliyuncs.com",
		AcsRegion:           c.region,
		ServiceName:         "Ecs",
		APIVersion:          APIVersion,
		RequestID:           c.requestID,
		SourceIPAddress:     clientIP(c.r),
		UserAgent:           c.r.UserAgent(),
		ErrorCode:           "",
		ErrorMessage:        "",
		UserIdentity:        c.cred.Identity,
		RequestParameters:   params,
		ReferencedResources: refs,
		RecipientAccountID:  auth.AccountID,
	})
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
