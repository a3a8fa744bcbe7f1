package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ActionTrailRecord is one ActionTrail management event, as EventBridge puts
// it in a CloudEvent's data and as the trail's SLS logstore stores it in the
// "event" field. Fields the cloud leaves empty are "".
type ActionTrailRecord struct {
	EventID       string    `json:"eventId"`      // required; the dedup key
	EventVersion  Scalar    `json:"eventVersion"` // "1" or 1
	EventType     string    `json:"eventType"`    // ApiCall | ConsoleOperation | ...
	EventRW       string    `json:"eventRW"`      // Read | Write
	EventName     string    `json:"eventName"`    // required; the API action, e.g. AuthorizeSecurityGroup
	EventTime     time.Time `json:"eventTime"`    // required
	EventCategory string    `json:"eventCategory"`
	EventSource   string    `json:"eventSource"`
	AcsRegion     string    `json:"acsRegion"`
	ServiceName   string    `json:"serviceName"`
	APIVersion    string    `json:"apiVersion"`
	RequestID     string    `json:"requestId"`

	SourceIPAddress string `json:"sourceIpAddress"`
	UserAgent       string `json:"userAgent"`
	// ErrorCode is "" when the call succeeded; failed calls are recorded too.
	ErrorCode    string       `json:"errorCode"`
	ErrorMessage string       `json:"errorMessage"`
	UserIdentity UserIdentity `json:"userIdentity"`

	// RequestParameters are the API's query parameters (repeated ones
	// flattened: "Permissions.1.PortRange") plus gateway extras. Values are
	// strings, booleans, json.Number or nested values; see Params.
	RequestParameters map[string]any `json:"requestParameters"`
	// RequestParameterJSON is the same as a JSON document, usually inside a
	// string; kept verbatim.
	RequestParameterJSON json.RawMessage     `json:"requestParameterJson,omitempty"`
	ResponseElements     json.RawMessage     `json:"responseElements,omitempty"`
	AdditionalEventData  json.RawMessage     `json:"additionalEventData,omitempty"`
	ReferencedResources  map[string][]string `json:"referencedResources"` // {"ACS::ECS::SecurityGroup": ["sg-…"]}
	ResourceName         string              `json:"resourceName"`
	ResourceType         string              `json:"resourceType"`
	RecipientAccountID   string              `json:"recipientAccountId"`
	EventAttributes      map[string]any      `json:"eventAttributes"` // {"SensitiveAction": "true"}
	IsGlobal             Scalar              `json:"isGlobal"`
	VpcID                string              `json:"vpcId"`
}

// UserIdentity is the caller of an ActionTrail event.
type UserIdentity struct {
	// Type is root-account | ram-user | assumed-role | system | cloudsso-user | alibaba-cloud-account.
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	AccountID   string `json:"accountId"`
	// AccessKeyID is absent for console logins; "STS.…" for assumed roles.
	AccessKeyID string `json:"accessKeyId"`
	// UserName is the RAM user, or "<role>:<session>" for an assumed role.
	UserName       string          `json:"userName"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext carries session attributes such as mfaAuthenticated and creationDate.
type SessionContext struct {
	Attributes map[string]any `json:"attributes"`
}

// Failed reports whether the recorded API call failed (errorCode set).
func (r ActionTrailRecord) Failed() bool { return r.ErrorCode != "" }

// CalledByRole reports whether the caller is an assumed session of the RAM
// role roleName ("assumed-role", userName "<roleName>:<session>"). Role names
// are compared case-insensitively (fc3 lowercases role ARNs).
func (r ActionTrailRecord) CalledByRole(roleName string) bool {
	if roleName == "" || r.UserIdentity.Type != "assumed-role" {
		return false
	}
	role, _, ok := strings.Cut(r.UserIdentity.UserName, ":")
	return ok && strings.EqualFold(role, roleName)
}

// Params returns the request parameters as strings, the form the API received
// them in: json.Number as its text, booleans as "true"/"false", null as "",
// nested values as compact JSON. When requestParameters is empty it reads
// requestParameterJson instead (a JSON object, or a string holding one).
func (r ActionTrailRecord) Params() (map[string]string, error) {
	src := r.RequestParameters
	if len(src) == 0 && len(r.RequestParameterJSON) > 0 && !bytes.Equal(bytes.TrimSpace(r.RequestParameterJSON), []byte("null")) {
		raw := []byte(r.RequestParameterJSON)
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(s)
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := strictUnmarshal(raw, &src, false); err != nil {
				return nil, &DecodeError{Kind: KindActionTrail, Field: "requestParameterJson", Err: describeJSONErr(err)}
			}
		}
	}
	out := make(map[string]string, len(src))
	for k, v := range src {
		switch v := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = fmt.Sprint(v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, &DecodeError{Kind: KindActionTrail, Field: "requestParameters." + k, Err: err}
			}
			out[k] = string(b)
		}
	}
	return out, nil
}

// Resources returns the referenced resource ids of type typ
// ("ACS::ECS::SecurityGroup"), sorted.
func (r ActionTrailRecord) Resources(typ string) []string {
	ids := append([]string(nil), r.ReferencedResources[typ]...)
	sort.Strings(ids)
	return ids
}

func decodeActionTrail(kind Kind, prefix string, b []byte) (ActionTrailRecord, error) {
	var times struct {
		EventTime string `json:"eventTime"`
	}
	if err := decodeInto(kind, prefix, b, &times); err != nil {
		return ActionTrailRecord{}, err
	}
	if _, err := parseTimeField(kind, prefix+"eventTime", times.EventTime, true); err != nil {
		return ActionTrailRecord{}, err
	}
	var r ActionTrailRecord
	if err := decodeInto(kind, prefix, b, &r); err != nil {
		return ActionTrailRecord{}, err
	}
	if err := required(kind, prefix+"eventId", r.EventID, prefix+"eventName", r.EventName); err != nil {
		return ActionTrailRecord{}, err
	}
	return r, nil
}

// ParseLogstoreEvent reads an ActionTrail record from a log of the trail's
// SLS logstore (actiontrail_<trail>): the "event" field holds the record as a
// JSON string. Other fields (__topic__, owner_id, ...) are ignored.
func ParseLogstoreEvent(contents map[string]string) (ActionTrailRecord, error) {
	ev, ok := contents["event"]
	if !ok || strings.TrimSpace(ev) == "" {
		return ActionTrailRecord{}, &DecodeError{Kind: KindActionTrail, Field: "event", Err: ErrMissingField}
	}
	return decodeActionTrail(KindActionTrail, "event.", []byte(ev))
}
