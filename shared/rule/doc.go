// Package rule is porthygiene's SDK-free model of an ECS security-group rule.
//
// Everything the cloud returns as strings ("TCP", "22/22", "Accept", Priority as
// number or string, empty strings for absent fields) is parsed once, here, into
// typed values. A Rule is a value: comparing two rules with == compares every field.
//
// There are two ways in:
//
//   - [Permission.Rule] turns the string fields of one permission, as
//     DescribeSecurityGroupAttribute returns them or AuthorizeSecurityGroup
//     accepts them, into a Rule. The ECS adapter maps SDK structs into a
//     Permission field by field and calls it. [Rule.Permission] is the inverse
//     (the lowercase request form), so a backed-up rule can be re-authorized
//     exactly.
//   - [ParseAttribute] reads a DescribeSecurityGroupAttribute response body.
//
// Invariants of a Rule returned by Permission.Rule or ParseAttribute:
//
//   - Direction is Ingress or Egress; Protocol and Policy are lowercase
//     constants of this package; Priority is 1..100 (absent means 1, the API
//     default); Policy absent means Accept; NicType absent means "intranet".
//   - Ports is 1..65535 with From <= To for tcp and udp, and AnyPort ("-1/-1")
//     for icmp, icmpv6, gre and all.
//   - Peer has exactly one kind. Following the API, a CIDR wins over a
//     security group when both are given, and a prefix list is ignored when any
//     other peer is given; IPv4 and IPv6 CIDRs together are an error. A CIDR
//     peer is masked ("10.1.2.3/8" becomes "10.0.0.0/8", a plain IP a /32 or
//     /128) and its family matches the field it came from.
//   - rule.Permission().Rule(rule.GroupID, rule.Region) == rule.
//
// Parsers never panic on any input; they return errors that name the field and
// the offending value.
package rule
