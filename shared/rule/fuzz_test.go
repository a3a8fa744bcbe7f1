package rule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// checkInvariants fails t when r breaks a documented invariant of a complete rule.
func checkInvariants(t *testing.T, r Rule) {
	t.Helper()
	if r.Direction != Ingress && r.Direction != Egress {
		t.Fatalf("direction %q", r.Direction)
	}
	if err := r.Ports.ValidFor(r.Protocol); err != nil {
		t.Fatalf("ports: %v", err)
	}
	if r.Priority < 1 || r.Priority > 100 {
		t.Fatalf("priority %d", r.Priority)
	}
	if r.Policy != Accept && r.Policy != Drop {
		t.Fatalf("policy %q", r.Policy)
	}
	switch r.Peer.Kind {
	case PeerCIDR4, PeerCIDR6:
		if r.Peer.Prefix != r.Peer.Prefix.Masked() || r.Peer.Prefix.Addr().Is4() != (r.Peer.Kind == PeerCIDR4) {
			t.Fatalf("peer %+v", r.Peer)
		}
	case PeerGroup, PeerPrefixList:
		if r.Peer.ID == "" {
			t.Fatalf("peer %+v without id", r.Peer)
		}
	default:
		t.Fatalf("peer kind %q", r.Peer.Kind)
	}
	back, err := r.Permission().Rule(r.GroupID, r.Region)
	if err != nil {
		t.Fatalf("round trip of %+v: %v", r, err)
	}
	if back != r {
		t.Fatalf("round trip changed the rule:\n got %+v\nwant %+v", back, r)
	}
}

func FuzzParseAttribute(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "attribute-*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(compactSeed(b))
	}
	f.Add([]byte(`{"SecurityGroupId":"sg-1","Permissions":{"Permission":{"Direction":"egress","IpProtocol":"udp","PortRange":"1/2","DestCidrIp":"::1","Priority":1e2}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseAttribute(body)
		if err != nil {
			return
		}
		if a.GroupID == "" {
			t.Fatal("accepted a body without a group id")
		}
		for _, r := range a.Rules {
			checkInvariants(t, r)
		}
	})
}

// compactSeed shrinks a fixture for the fuzzer (whose minimizer is slow on
// large inputs): no whitespace, no empty-string fields.
func compactSeed(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return emptyField.ReplaceAll(buf.Bytes(), nil)
}

var emptyField = regexp.MustCompile(`"[A-Za-z]+":"",`)

func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"22/22", "1/65535", "-1/-1", "0/0", "65536/1", "22", " 3/4 ", "-1/5", "1/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParsePortRange(s)
		if err != nil {
			return
		}
		if !r.IsAny() && (r.From < 1 || r.To > 65535 || r.From > r.To) {
			t.Fatalf("ParsePortRange(%q) = %v", s, r)
		}
		again, err := ParsePortRange(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}

func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{"0.0.0.0/0", "::/0", "10.1.2.3/8", "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4/120",
		"fe80::1%eth0", "sg-abc", "pl-abc", "sg-", "1.2.3.4/33", " 1.2.3.4/0 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if pfx, err := ParseCIDR(s); err == nil {
			if !pfx.IsValid() || pfx != pfx.Masked() {
				t.Fatalf("ParseCIDR(%q) = %v, not masked", s, pfx)
			}
		}
		p, err := ParsePeer(s)
		if err != nil {
			return
		}
		again, err := ParsePeer(p.String())
		if err != nil || again != p {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
