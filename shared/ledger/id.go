package ledger

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

const (
	crockford  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	idTimeLen  = 10
	idRandLen  = 8
	idLen      = 1 + idTimeLen + idRandLen
	idPrefix   = 'L'
	maxIDMilli = 1<<(5*idTimeLen) - 1
)

// NewID returns a new record id for time t (see the package doc).
func NewID(t time.Time) string {
	var r [5]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return idOf(t, r)
}

// KeyedID returns the record id for time t whose last 8 digits are derived
// from key (SHA-256) instead of drawn at random: every writer of the same
// (t, key) writes the same id, so concurrent writes of one fact are one
// record to every reader, since readers de-duplicate by id. SLS has no
// conditional write and its search lags writes by seconds; a keyed id is how
// a write is made idempotent across instances (see DESIGN.md, "SLS is not
// read-your-writes").
func KeyedID(t time.Time, key string) string {
	h := sha256.Sum256([]byte(key))
	return idOf(t, [5]byte(h[:5]))
}

func idOf(t time.Time, r [5]byte) string {
	var b [idLen]byte
	b[0] = idPrefix
	ms := uint64(max(t.UnixMilli(), 0))
	for i := idTimeLen; i >= 1; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	v := uint64(r[0])<<32 | uint64(r[1])<<24 | uint64(r[2])<<16 | uint64(r[3])<<8 | uint64(r[4])
	for i := idLen - 1; i > idTimeLen; i-- {
		b[i] = crockford[v&31]
		v >>= 5
	}
	return string(b[:])
}

// NormalizeID returns the canonical form of an id typed by a person:
// surrounding space and dashes removed, upper case, I and L read as 1, O as 0.
func NormalizeID(s string) (string, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if len(s) != idLen || s[0] != idPrefix {
		return "", fmt.Errorf("%w: id %q: want %c and %d base32 digits", ErrMalformed, s, idPrefix, idLen-1)
	}
	b := []byte(s)
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case 'I', 'L':
			b[i] = '1'
		case 'O':
			b[i] = '0'
		}
		if strings.IndexByte(crockford, b[i]) < 0 {
			return "", fmt.Errorf("%w: id %q: %q is not a base32 digit", ErrMalformed, s, b[i])
		}
	}
	return string(b), nil
}

// IDTime returns the time encoded in an id (millisecond precision, UTC).
func IDTime(id string) (time.Time, error) {
	n, err := NormalizeID(id)
	if err != nil {
		return time.Time{}, err
	}
	var ms uint64
	for i := 1; i <= idTimeLen; i++ {
		ms = ms<<5 | uint64(strings.IndexByte(crockford, n[i]))
	}
	if ms > maxIDMilli {
		return time.Time{}, fmt.Errorf("%w: id %q: time out of range", ErrMalformed, id)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}
