// Package auth is localcloud's credential store: the operator's AccessKey pairs
// (RAM users) and the short-lived STS credentials handed to each function
// invocation for the function's role. Every signed request is checked against it,
// and the identity it returns is what ActionTrail records as userIdentity.
// NonceCache refuses a signature nonce used twice, for every emulated API.
package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// AccountID is the one account localcloud emulates.
const AccountID = "1234567890123456"

// Identity is the caller as ActionTrail reports it (userIdentity).
type Identity struct {
	Type        string `json:"type"` // "ram-user" or "assumed-role"
	PrincipalID string `json:"principalId"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName"` // RAM user name, or "<role>:<session>"
}

// Credential is one AccessKey pair (with an STS token for assumed roles).
type Credential struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string    // empty for RAM users
	Role            string    // role name for assumed-role credentials
	Expires         time.Time // zero for RAM users
	Identity        Identity
}

// Errors returned by Verify; their text is the Alibaba Cloud error code.
var (
	ErrUnknownKey    = errors.New("InvalidAccessKeyId.NotFound")
	ErrTokenMismatch = errors.New("InvalidSecurityToken.MismatchWithAccessKey")
	ErrTokenMissing  = errors.New("InvalidSecurityToken.Missing")
	ErrTokenExpired  = errors.New("InvalidSecurityToken.Expired")
)

// Store holds credentials. The zero value is not usable; use NewStore.
type Store struct {
	mu    sync.RWMutex
	byKey map[string]Credential
	seq   int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byKey: map[string]Credential{}} }

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("auth: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// AddUser creates a RAM user with a fresh AccessKey pair.
func (s *Store) AddUser(userName string) Credential {
	return s.AddUserWithKeys(userName, "LTAI"+randHex(8), randHex(15))
}

// AddUserWithKeys registers a RAM user with the given AccessKey pair.
func (s *Store) AddUserWithKeys(userName, accessKeyID, secret string) Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	c := Credential{
		AccessKeyID:     accessKeyID,
		AccessKeySecret: secret,
		Identity: Identity{
			Type:        "ram-user",
			PrincipalID: fmt.Sprintf("20%014d", s.seq),
			AccountID:   AccountID,
			AccessKeyID: accessKeyID,
			UserName:    userName,
		},
	}
	s.byKey[accessKeyID] = c
	return c
}

// IssueSTS returns short-lived credentials for role with the given session
// name, valid for ttl from now.
func (s *Store) IssueSTS(role, session string, now time.Time, ttl time.Duration) Credential {
	ak := "STS." + randHex(12)
	c := Credential{
		AccessKeyID:     ak,
		AccessKeySecret: randHex(16),
		SecurityToken:   "CAIS" + randHex(24),
		Role:            role,
		Expires:         now.Add(ttl),
		Identity: Identity{
			Type:        "assumed-role",
			PrincipalID: "3" + strings.Repeat("0", 5) + randHex(5) + ":" + session,
			AccountID:   AccountID,
			AccessKeyID: ak,
			UserName:    role + ":" + session,
		},
	}
	s.mu.Lock()
	s.byKey[ak] = c
	s.mu.Unlock()
	return c
}

// Secrets lists every AccessKey secret and STS token the store ever issued
// (for tests that check no secret reached a log line, a message or the
// ledger).
func (s *Store) Secrets() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, c := range s.byKey {
		out = append(out, c.AccessKeySecret)
		if c.SecurityToken != "" {
			out = append(out, c.SecurityToken)
		}
	}
	return out
}

// Lookup returns the credential for an AccessKey id.
func (s *Store) Lookup(accessKeyID string) (Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byKey[accessKeyID]
	return c, ok
}

// Verify checks that accessKeyID exists, that the security token matches (for
// STS keys) and that it has not expired at now. The caller then checks the
// signature with the returned secret.
func (s *Store) Verify(accessKeyID, token string, now time.Time) (Credential, error) {
	c, ok := s.Lookup(accessKeyID)
	if !ok {
		return Credential{}, ErrUnknownKey
	}
	if c.SecurityToken != "" {
		switch {
		case token == "":
			return Credential{}, ErrTokenMissing
		case token != c.SecurityToken:
			return Credential{}, ErrTokenMismatch
		case !c.Expires.IsZero() && now.After(c.Expires):
			return Credential{}, ErrTokenExpired
		}
	}
	return c, nil
}
