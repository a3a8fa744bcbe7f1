package auth

import (
	"sync"
	"time"
)

// SignatureWindow is how far a signed request's timestamp (the RPC
// Timestamp parameter, the V3 x-acs-date header) may be from the server's
// clock.
const SignatureWindow = 15 * time.Minute

// NonceCache refuses a signature nonce already used with the same AccessKey.
// It remembers a nonce for at least 2×SignatureWindow: a replay must also
// carry a timestamp within SignatureWindow of the server's clock, so older
// nonces can be forgotten. The zero value is ready to use; it is safe for
// concurrent use.
type NonceCache struct {
	mu        sync.Mutex
	cur, prev map[nonceKey]struct{}
	rotated   time.Time
}

type nonceKey struct{ accessKeyID, nonce string }

// Use records nonce for accessKeyID at now and reports whether it was new.
func (n *NonceCache) Use(accessKeyID, nonce string, now time.Time) bool {
	key := nonceKey{accessKeyID, nonce}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur == nil {
		n.cur, n.rotated = map[nonceKey]struct{}{}, now
	}
	if now.Sub(n.rotated) > 2*SignatureWindow {
		n.prev, n.cur, n.rotated = n.cur, map[nonceKey]struct{}{}, now
	}
	if _, ok := n.cur[key]; ok {
		return false
	}
	if _, ok := n.prev[key]; ok {
		return false
	}
	n.cur[key] = struct{}{}
	return true
}
