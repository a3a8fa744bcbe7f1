package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimerEvent is the timer trigger payload. Payload is the trigger's configured
// string; ours hold a JSON document (e.g. {"mode":"sweep"}), read with
// PayloadJSON or DecodePayload.
//
// porthygiene's own asynchronous fan-out invocations use the same shape (see
// EncodeTimer), so one decoder and one handler path serve both.
type TimerEvent struct {
	TriggerTime time.Time `json:"triggerTime"` // required
	TriggerName string    `json:"triggerName"` // required
	Payload     string    `json:"payload"`
}

// Kind is KindTimer.
func (TimerEvent) Kind() Kind { return KindTimer }

// Time is TriggerTime.
func (e TimerEvent) Time() time.Time { return e.TriggerTime }

// DedupKey is "timer/<name>/<RFC 3339 time>".
func (e TimerEvent) DedupKey() string {
	return "timer/" + e.TriggerName + "/" + e.TriggerTime.UTC().Format(time.RFC3339Nano)
}

// PayloadJSON returns the payload as raw JSON; nil for an empty payload, an
// error naming the field when it is not one JSON value.
func (e TimerEvent) PayloadJSON() (json.RawMessage, error) {
	if strings.TrimSpace(e.Payload) == "" {
		return nil, nil
	}
	var raw json.RawMessage
	if err := strictUnmarshal([]byte(e.Payload), &raw, false); err != nil {
		return nil, &DecodeError{Kind: KindTimer, Field: "payload", Err: describeJSONErr(err)}
	}
	return raw, nil
}

// DecodePayload decodes the payload JSON into v strictly: unknown fields and
// wrong types are errors naming "payload.<field>". An empty payload is an
// error (ErrMissingField).
func (e TimerEvent) DecodePayload(v any) error {
	raw, err := e.PayloadJSON()
	if err != nil {
		return err
	}
	if raw == nil {
		return &DecodeError{Kind: KindTimer, Field: "payload", Err: ErrMissingField}
	}
	err = strictUnmarshal(raw, v, true)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &DecodeError{Kind: KindTimer, Field: "payload." + te.Field, Err: fmt.Errorf("want %s, got JSON %s", typeName(te.Type), te.Value)}
	}
	// encoding/json has no type for DisallowUnknownFields' error
	// (golang/go#29035): its text is the only way to name the field.
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return &DecodeError{Kind: KindTimer, Field: "payload." + strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), Err: errors.New("unknown field")}
	}
	return &DecodeError{Kind: KindTimer, Field: "payload", Err: describeJSONErr(err)}
}

// EncodeTimer builds a timer-shaped payload (for an asynchronous fan-out
// invocation of our own): name, time at, and payload marshalled into the
// payload string.
func EncodeTimer(name string, at time.Time, payload any) ([]byte, error) {
	if name == "" || at.IsZero() {
		return nil, errors.New("encode timer payload: name and time are required")
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode timer payload: %w", err)
	}
	return json.Marshal(TimerEvent{TriggerTime: at.UTC(), TriggerName: name, Payload: string(p)})
}

// DecodeTimer decodes a timer event strictly. Required: triggerTime, triggerName.
func DecodeTimer(b []byte) (TimerEvent, error) {
	const k = KindTimer
	var times struct {
		TriggerTime string `json:"triggerTime"`
	}
	if err := decodeInto(k, "", b, &times); err != nil {
		return TimerEvent{}, err
	}
	if _, err := parseTimeField(k, "triggerTime", times.TriggerTime, true); err != nil {
		return TimerEvent{}, err
	}
	var e TimerEvent
	if err := decodeInto(k, "", b, &e); err != nil {
		return TimerEvent{}, err
	}
	if err := required(k, "triggerName", e.TriggerName); err != nil {
		return TimerEvent{}, err
	}
	return e, nil
}
