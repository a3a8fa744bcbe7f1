// Package exposure is porthygiene's pure exposure evaluator: given the rules
// of one security group (or of all groups on one ENI), the tags of the
// groups, the resolved prefix lists, exemptions from the ledger, a policy and
// the time, it reports which rules open sensitive ports to the internet. It
// also answers, for one packet, whether the rules accept it ([Decide]).
//
// The package does no I/O, reads no clock and logs nothing: now is an input.
//
// # Alibaba Cloud semantics
//
//   - Rules are ordered by priority (1..100, lower first; below 1 counts as 1,
//     the API default), drop before accept at equal priority, then input
//     order; the first rule that matches a packet decides, and a packet that
//     matches none is denied (ingress). Rules of several groups on one ENI are
//     merged into one list before ordering.
//   - tcp and udp rules expose their port range; "all" with -1/-1 exposes
//     every tcp and udp port; icmp, icmpv6 and gre expose no port (GRE is
//     never SSH). A service is exposed only over the protocols the policy
//     lists for it: udp 22 is not ssh.
//   - A rule's effective reach is its peer minus everything that rules ordered
//     before it decide. A higher-priority drop therefore neutralises exactly
//     the ports and addresses it covers; the rest stays exposed.
//   - Source ports and the local-side CIDR of quintuple rules are ignored: an
//     attacker picks its source port, and exposing some of the group's
//     instances is exposing. This errs towards reporting.
//
// # The internet
//
// The internet is the public address space: IPv4 minus 0/8, 10/8,
// 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
// 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24 and
// 224/3 (multicast, reserved, broadcast); IPv6 global unicast 2000::/3 minus
// 2001:2::/48, 2001:db8::/32 and 3fff::/20 (so fc00::/7, fe80::/10, ::1,
// ff00::/8, ::ffff:0:0/96 … are not internet). See [IsPublic].
//
// A port is exposed to the internet ("internet-wide") when the public
// addresses whose packets to it are accepted outnumber half of a /N, N being
// the policy's threshold for the family (default 8 for IPv4, 16 for IPv6),
// capped so that the whole public space always counts (IPv6 public space
// is smaller than half of ::/0). Equivalently: more public addresses than a
// /(N+1) holds. Consequences: 0.0.0.0/0, ::/0 and every mostly public prefix
// of length <= N (all public IPv4 /8s, including 172.0.0.0/8 around its
// private /12) are internet-wide; a lone /(N+1) is not; N = 32 (128) makes
// any public address internet-wide. Security-group peers are never the
// internet; prefix lists count by their resolved entries.
//
// When one rule's own reach is internet-wide, that rule is reported. When no
// single rule's is but several accept rules together are (0.0.0.0/1 plus
// 128.0.0.0/1), each of them is reported with Combined set and the full list
// in Contributors — except the smallest contributors that are not needed: they
// are dropped (equal sizes together) while the rest is still internet-wide,
// so a bastion's /32 beside two halves of the internet is not blamed.
//
// # Prefix lists
//
// A rule on a prefix list missing from Input.PrefixLists is judged as if the
// list held every address (minus what earlier rules decide), reported with
// Unknown set, and never shadows later rules; an unresolved drop neutralises
// nothing, and the findings it might have covered are marked Unknown. Never
// silently safe.
//
// # Exemptions and allowed ports
//
// Ports the policy allows to the internet (default 80, 443) are never
// findings. Other ports that are neither sensitive nor allowed are reported
// in OtherPorts with the policy's otherPorts severity (default low; none
// turns it off). A finding's exposure can be covered by an active exemption
// from the rule's description marker, the ledger, or the group's tag (checked
// in that order, each for the ports it names, all ports if none): covered
// parts move from Report.Findings to Report.Exempted. An expired or malformed
// exemption covers nothing and the finding's Reason says so.
//
// Findings come in input order of their rules; Ports ascending.
package exposure
