// Package actiontrail defines the ActionTrail record localcloud emits for every
// successful ECS write, as ActionTrail delivers it to EventBridge (the CloudEvent's
// data) and to the actiontrail_<trail> logstore (the "event" field, as JSON).
package actiontrail

import "github.com/porthygiene/porthygiene/localcloud/auth"

// Record is one management event. Field names follow the ActionTrail schema.
type Record struct {
	EventID             string              `json:"eventId"`
	EventVersion        string              `json:"eventVersion"`
	EventType           string              `json:"eventType"` // "ApiCall"
	EventCategory       string              `json:"eventCategory"`
	EventRW             string              `json:"eventRW"` // "Write"
	EventName           string              `json:"eventName"`
	EventTime           string              `json:"eventTime"` // RFC3339, UTC, seconds
	EventSource         string              `json:"eventSource"`
	AcsRegion           string              `json:"acsRegion"`
	ServiceName         string              `json:"serviceName"`
	APIVersion          string              `json:"apiVersion"`
	RequestID           string              `json:"requestId"`
	SourceIPAddress     string              `json:"sourceIpAddress"`
	UserAgent           string              `json:"userAgent"`
	ErrorCode           string              `json:"errorCode"`
	ErrorMessage        string              `json:"errorMessage"`
	UserIdentity        auth.Identity       `json:"userIdentity"`
	RequestParameters   map[string]any      `json:"requestParameters"`
	ReferencedResources map[string][]string `json:"referencedResources,omitempty"`
	RecipientAccountID  string              `json:"recipientAccountId"`
}

// Sink receives records as they are produced. Emit must not block for long:
// implementations queue the delivery.
type Sink interface {
	Emit(Record)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Record)

// Emit calls f(r).
func (f SinkFunc) Emit(r Record) { f(r) }
