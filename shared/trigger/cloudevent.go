package trigger

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// CloudEvent is an EventBridge event (CloudEvents 1.0 with Alibaba extensions).
// For ActionTrail events (type "<service>:ActionTrail:<eventType>", e.g.
// "ecs:ActionTrail:ApiCall" with source "acs.ecs") Data is an ActionTrailRecord.
type CloudEvent struct {
	ID              string    `json:"id"`          // required; source+id is unique, redelivery repeats it
	Source          string    `json:"source"`      // required, e.g. "acs.ecs"
	SpecVersion     string    `json:"specversion"` // required, "1.0"
	Type            string    `json:"type"`        // required
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema"`
	Subject         string    `json:"subject"`
	Timestamp       time.Time `json:"time"` // required
	// Alibaba extensions. AliyunPublishTime ("2020-11-19T21:04:42.179PRC") is
	// not RFC 3339 and is kept as text.
	AliyunAccountID         string `json:"aliyunaccountid"`
	AliyunOriginalAccountID string `json:"aliyunoriginalaccountid,omitempty"`
	AliyunPublishTime       string `json:"aliyunpublishtime"`
	AliyunEventBusName      string `json:"aliyuneventbusname"`
	AliyunRegionID          string `json:"aliyunregionid"`
	AliyunPublishAddr       string `json:"aliyunpublishaddr"`
	// Data is the service-specific payload, verbatim; see ActionTrail.
	Data json.RawMessage `json:"data"`
}

// Kind is KindCloudEvent.
func (CloudEvent) Kind() Kind { return KindCloudEvent }

// IsActionTrail reports whether the type says the data is an ActionTrail record.
func (e CloudEvent) IsActionTrail() bool { return strings.Contains(e.Type, ":ActionTrail:") }

// ActionTrail decodes Data as an ActionTrail record; field paths in errors
// start with "data.".
func (e CloudEvent) ActionTrail() (ActionTrailRecord, error) {
	if len(bytes.TrimSpace(e.Data)) == 0 {
		return ActionTrailRecord{}, &DecodeError{Kind: KindCloudEvent, Field: "data", Err: ErrMissingField}
	}
	return decodeActionTrail(KindCloudEvent, "data.", e.Data)
}

// Time is data.eventTime for ActionTrail events, else the envelope's time.
func (e CloudEvent) Time() time.Time {
	if e.IsActionTrail() {
		var d struct {
			EventTime time.Time `json:"eventTime"`
		}
		if json.Unmarshal(e.Data, &d) == nil && !d.EventTime.IsZero() {
			return d.EventTime
		}
	}
	return e.Timestamp
}

// DedupKey is "actiontrail/<eventId>" for ActionTrail events (as for the same
// record read from SLS), else "cloudevent/<source>/<id>".
func (e CloudEvent) DedupKey() string {
	if e.IsActionTrail() {
		var d struct {
			EventID string `json:"eventId"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.EventID != "" {
			return ActionTrailDedupKey(d.EventID)
		}
	}
	return "cloudevent/" + e.Source + "/" + e.ID
}

// ActionTrailDedupKey is the dedup key of the ActionTrail event eventID,
// whichever path delivered it.
func ActionTrailDedupKey(eventID string) string { return "actiontrail/" + eventID }

// DecodeCloudEvent decodes an EventBridge event strictly. Required: id,
// source, specversion ("1.0"), type, time; for ActionTrail types also data,
// which must be a valid ActionTrailRecord.
func DecodeCloudEvent(b []byte) (CloudEvent, error) {
	const k = KindCloudEvent
	var times struct {
		Time string `json:"time"`
	}
	if err := decodeInto(k, "", b, &times); err != nil {
		return CloudEvent{}, err
	}
	if _, err := parseTimeField(k, "time", times.Time, true); err != nil {
		return CloudEvent{}, err
	}
	var e CloudEvent
	if err := decodeInto(k, "", b, &e); err != nil {
		return CloudEvent{}, err
	}
	if err := required(k, "id", e.ID, "source", e.Source, "specversion", e.SpecVersion, "type", e.Type); err != nil {
		return CloudEvent{}, err
	}
	if e.SpecVersion != "1.0" {
		return CloudEvent{}, &DecodeError{Kind: k, Field: "specversion", Err: errorf("want \"1.0\", got %q", e.SpecVersion)}
	}
	if e.IsActionTrail() {
		if _, err := e.ActionTrail(); err != nil {
			return CloudEvent{}, err
		}
	}
	return e, nil
}
