package trigger

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// addSamples seeds f with every sample payload the product ships (events/)
// and this package's testdata: the fuzzer starts from what the cloud sends.
func addSamples(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	files = append(files, more...)
	if len(files) == 0 {
		f.Fatal("no sample payloads found under events/ and testdata/")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"specversion":"1.0","data":{"eventTime":"9999-12-31T23:59:59Z"}}`))
}

// FuzzDecode: any payload either decodes to one of the four kinds, the
// kind's own decoder agreeing value for value, or fails with an error that
// matches ErrInvalid — never a panic, never an unmatched error. A decoded
// ActionTrail record's fields are checked the same way.
func FuzzDecode(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			var de *DecodeError
			if !errors.As(err, &de) && !errors.Is(err, ErrUnknownPayload) {
				t.Fatalf("error is neither a DecodeError nor ErrUnknownPayload: %v", err)
			}
			return
		}
		var again Event
		switch e := ev.(type) {
		case CloudEvent:
			again, err = DecodeCloudEvent(b)
			if e.IsActionTrail() {
				if _, aerr := e.ActionTrail(); aerr != nil && !errors.Is(aerr, ErrInvalid) {
					t.Fatalf("ActionTrail error does not match ErrInvalid: %v", aerr)
				}
			}
		case SLSEvent:
			again, err = DecodeSLS(b)
		case TimerEvent:
			again, err = DecodeTimer(b)
		case HTTPEvent:
			again, err = DecodeHTTP(b)
			if _, berr := e.DecodedBody(); berr != nil && !errors.Is(berr, ErrInvalid) {
				t.Fatalf("DecodedBody error does not match ErrInvalid: %v", berr)
			}
		default:
			t.Fatalf("Decode returned %T", ev)
		}
		if err != nil {
			t.Fatalf("Decode accepted a %s payload that its own decoder refuses: %v", ev.Kind(), err)
		}
		if !reflect.DeepEqual(ev, again) {
			t.Fatalf("Decode and the %s decoder disagree:\n%+v\n%+v", ev.Kind(), ev, again)
		}
		if ev.DedupKey() == "" {
			t.Fatalf("a decoded %s has no dedup key", ev.Kind())
		}
		_ = ev.Time()
	})
}

// FuzzParseLogstoreEvent: an ActionTrail record read from the trail's
// logstore (the SLS trigger path) is decoded or refused with ErrInvalid, and
// what decodes has the fields the engine keys on.
func FuzzParseLogstoreEvent(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "actiontrail-logstore-log.json")); err == nil {
		var contents map[string]string
		if json.Unmarshal(b, &contents) == nil {
			f.Add(contents["event"])
		}
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "events", "eventbridge-authorize-ssh-world.json")); err == nil {
		var ce struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &ce) == nil {
			f.Add(string(ce.Data))
		}
	}
	f.Add(``)
	f.Add(`{"eventId":"x"}`)
	f.Fuzz(func(t *testing.T, event string) {
		rec, err := ParseLogstoreEvent(map[string]string{"event": event, "__topic__": "actiontrail_audit_event"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		if rec.EventID == "" {
			t.Fatalf("a record without an event id was accepted: %+v", rec)
		}
	})
}

// FuzzTimerRoundTrip: what EncodeTimer writes (our own fan-out and paced
// continuations), DecodeTimer reads back exactly.
func FuzzTimerRoundTrip(f *testing.F) {
	f.Add("porthygiene-sweep", int64(1764633600), "slice 1/4")
	f.Add("x", int64(0), "")
	f.Add("名", int64(-62135596800), "\x00\"{}")
	f.Fuzz(func(t *testing.T, name string, unix int64, payload string) {
		at := time.Unix(unix, 0).UTC()
		b, err := EncodeTimer(name, at, map[string]string{"p": payload})
		if err != nil {
			if name == "" || at.IsZero() || at.Year() < 0 || at.Year() > 9999 {
				return
			}
			t.Fatalf("EncodeTimer(%q, %v): %v", name, at, err)
		}
		ev, err := DecodeTimer(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			// JSON cannot carry every byte string: a name that is not valid
			// UTF-8 comes back changed, and a strict decoder may refuse it.
			return
		}
		if !ev.TriggerTime.Equal(at) {
			t.Fatalf("time %v came back as %v", at, ev.TriggerTime)
		}
		var p map[string]string
		if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
			t.Fatalf("payload %q: %v", ev.Payload, err)
		}
	})
}
