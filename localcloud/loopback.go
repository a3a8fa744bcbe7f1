package localcloud

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
)

// ErrNotLoopback marks a listen address that other machines could reach.
// localcloud serves the operator's access key secret, the DingTalk robots'
// secrets and signed decision links on its control API, so it listens on
// loopback unless told otherwise (Options.ListenAny, `porthygiene local
// --listen-any`).
var ErrNotLoopback = errors.New("not a loopback address")

// CheckListenAddr returns nil when addr (host:port) listens on loopback only:
// a loopback IP (127.0.0.0/8, ::1) or "localhost". An empty host (":8600"),
// an unspecified address (0.0.0.0, ::), any other address and other host
// names are refused with an error wrapping ErrNotLoopback; a malformed addr
// with the parse error.
func CheckListenAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	a, err := netip.ParseAddr(host)
	switch {
	case host == "":
		return fmt.Errorf("listen address %q listens on every interface: %w", addr, ErrNotLoopback)
	case err != nil:
		return fmt.Errorf("listen address %q: host %q is not an IP address (give 127.0.0.1 or [::1]): %w", addr, host, ErrNotLoopback)
	case a.IsUnspecified():
		return fmt.Errorf("listen address %q listens on every interface: %w", addr, ErrNotLoopback)
	case !a.Unmap().IsLoopback():
		return fmt.Errorf("listen address %q is reachable from other machines: %w", addr, ErrNotLoopback)
	}
	return nil
}

// loopbackClient reports whether the request comes from a loopback address.
// Only the connection's remote address counts (never a forwarding header);
// one that does not parse is not loopback.
func loopbackClient(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}

// remoteSafe are the control routes that answer no secret: the only ones a
// client that is not on loopback may call (with Options.ListenAny). Every
// other route, including any added later, is loopback-only: endpoints (the
// operator's access key secret, the robots' secrets and webhook tokens),
// dingtalk/messages (signed decision links), invocations and logs (function
// output).
var remoteSafe = map[string]bool{
	"GET health":         true,
	"GET clock":          true,
	"POST clock/advance": true,
	"POST settle":        true,
	"POST traffic":       true,
	"GET stats":          true,
	"GET faults":         true,
	"POST faults":        true,
	"POST triggers":      true,
	"GET world":          true,
}
