package trigger

import (
	"encoding/json"
	"strconv"
	"time"
)

// SLSEvent is the SLS ("log") trigger payload: one invocation per shard and
// interval, naming the cursor range [BeginCursor, EndCursor) to read.
// Delivery is at least once: the same range can come again.
type SLSEvent struct {
	// Parameter is the trigger's functionParameter, verbatim.
	Parameter json.RawMessage `json:"parameter"`
	Source    SLSSource       `json:"source"`
	JobName   string          `json:"jobName"`
	TaskID    string          `json:"taskId"`
	// CursorTime is the Unix time (seconds) of the range.
	CursorTime int64 `json:"cursorTime"`
}

// SLSSource names the shard range.
type SLSSource struct {
	Endpoint     string `json:"endpoint"` // with scheme: "http://cn-hangzhou-intranet.log.aliyuncs.com"
	ProjectName  string `json:"projectName"`
	LogstoreName string `json:"logstoreName"`
	ShardID      int    `json:"shardId"`
	BeginCursor  string `json:"beginCursor"`
	EndCursor    string `json:"endCursor"`
}

// Kind is KindSLS.
func (SLSEvent) Kind() Kind { return KindSLS }

// Time is CursorTime; zero when absent.
func (e SLSEvent) Time() time.Time {
	if e.CursorTime == 0 {
		return time.Time{}
	}
	return time.Unix(e.CursorTime, 0).UTC()
}

// DedupKey is "sls/<project>/<logstore>/<shard>/<beginCursor>".
func (e SLSEvent) DedupKey() string {
	s := e.Source
	return "sls/" + s.ProjectName + "/" + s.LogstoreName + "/" + strconv.Itoa(s.ShardID) + "/" + s.BeginCursor
}

// DecodeSLS decodes an SLS trigger event strictly. Required: source.endpoint,
// source.projectName, source.logstoreName, source.shardId (present),
// source.beginCursor, source.endCursor.
func DecodeSLS(b []byte) (SLSEvent, error) {
	const k = KindSLS
	var presence struct {
		Source struct {
			ShardID *int `json:"shardId"`
		} `json:"source"`
	}
	if err := decodeInto(k, "", b, &presence); err != nil {
		return SLSEvent{}, err
	}
	var e SLSEvent
	if err := decodeInto(k, "", b, &e); err != nil {
		return SLSEvent{}, err
	}
	s := e.Source
	if err := required(k, "source.endpoint", s.Endpoint, "source.projectName", s.ProjectName,
		"source.logstoreName", s.LogstoreName); err != nil {
		return SLSEvent{}, err
	}
	if presence.Source.ShardID == nil {
		return SLSEvent{}, &DecodeError{Kind: k, Field: "source.shardId", Err: ErrMissingField}
	}
	if err := required(k, "source.beginCursor", s.BeginCursor, "source.endCursor", s.EndCursor); err != nil {
		return SLSEvent{}, err
	}
	if s.ShardID < 0 {
		return SLSEvent{}, &DecodeError{Kind: k, Field: "source.shardId", Err: errorf("want >= 0, got %d", s.ShardID)}
	}
	return e, nil
}
