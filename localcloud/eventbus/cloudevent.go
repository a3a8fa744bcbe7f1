package eventbus

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
)

// Envelope constants for ActionTrail events on the default bus.
const (
	SpecVersion     = "1.0"
	DataContentType = "application/json;charset=utf-8"
	DefaultBusName  = "default"
	// PublishAddr is reported as aliyunpublishaddr: the loopback address of localcloud.
	PublishAddr = "127.0.0.1"
)

// Event is a CloudEvents 1.0 envelope with Alibaba Cloud's extensions, as
// EventBridge delivers it to a function. Data must be valid JSON (or nil,
// which encodes as null).
type Event struct {
	ID                 string          `json:"id"`
	Source             string          `json:"source"`
	SpecVersion        string          `json:"specversion"`
	Type               string          `json:"type"`
	DataContentType    string          `json:"datacontenttype"`
	DataSchema         string          `json:"dataschema,omitempty"`
	Subject            string          `json:"subject"`
	Time               string          `json:"time"`
	AliyunAccountID    string          `json:"aliyunaccountid"`
	AliyunPublishTime  string          `json:"aliyunpublishtime"`
	AliyunEventBusName string          `json:"aliyuneventbusname"`
	AliyunRegionID     string          `json:"aliyunregionid"`
	AliyunPublishAddr  string          `json:"aliyunpublishaddr"`
	Data               json.RawMessage `json:"data"`
}

// JSON encodes the event. It panics if Data is not valid JSON, which is a bug
// in the caller.
func (e Event) JSON() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("eventbus: encode event %s: %v", e.ID, err))
	}
	return b
}

// CloudEvent wraps an ActionTrail record as the default bus delivers it:
// source "acs.ecs", type "ecs:ActionTrail:<eventType>", data = the record.
//
// region is the bus's region (rec.AcsRegion when empty). time is the record's
// eventTime; aliyunpublishtime is the same instant with milliseconds (the real
// value is a non-RFC3339 "…179PRC" string that consumers must not parse
// strictly, so we keep it simple). The subject names the security group, ENI or
// instance the call was about ([UNCONFIRMED] on the real bus).
func CloudEvent(rec actiontrail.Record, region string) Event {
	if region == "" {
		region = rec.AcsRegion
	}
	account := rec.RecipientAccountID
	if account == "" {
		account = rec.UserIdentity.AccountID
	}
	eventType := rec.EventType
	if eventType == "" {
		eventType = "ApiCall"
	}
	evTime, pubTime := rec.EventTime, rec.EventTime
	if t, err := time.Parse(time.RFC3339Nano, rec.EventTime); err == nil {
		evTime = t.UTC().Format(time.RFC3339)
		pubTime = t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	data, err := json.Marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("eventbus: encode record %s: %v", rec.EventID, err))
	}
	return Event{
		ID:                 newUUID(),
		Source:             "acs.ecs",
		SpecVersion:        SpecVersion,
		Type:               "ecs:ActionTrail:" + eventType,
		DataContentType:    DataContentType,
		Subject:            subject(rec, region, account),
		Time:               evTime,
		AliyunAccountID:    account,
		AliyunPublishTime:  pubTime,
		AliyunEventBusName: DefaultBusName,
		AliyunRegionID:     region,
		AliyunPublishAddr:  PublishAddr,
		Data:               data,
	}
}

// subject is "acs:ecs:<region>:<account>:<kind>/<id>" for the first resource
// the call names, or "acs:ecs:<region>:<account>:*" when it names none.
func subject(rec actiontrail.Record, region, account string) string {
	base := "acs:ecs:" + region + ":" + account + ":"
	for _, r := range []struct{ param, refKey, kind string }{
		{"SecurityGroupId", "ACS::ECS::SecurityGroup", "securitygroup"},
		{"NetworkInterfaceId", "ACS::ECS::NetworkInterface", "networkinterface"},
		{"InstanceId", "ACS::ECS::Instance", "instance"},
		{"PrefixListId", "ACS::ECS::PrefixList", "prefixlist"},
	} {
		if id, ok := rec.RequestParameters[r.param].(string); ok && id != "" {
			return base + r.kind + "/" + id
		}
		if ids := rec.ReferencedResources[r.refKey]; len(ids) > 0 && ids[0] != "" {
			return base + r.kind + "/" + ids[0]
		}
	}
	return base + "*"
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("eventbus: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
