// Package ecs is localcloud's emulator of the Alibaba Cloud ECS RPC API
// (version 2014-05-26), limited to what porthygiene uses: security groups and
// their rules, tags, network interfaces, instances and prefix lists. The
// unmodified alibaba-cloud-sdk-go ECS client talks to it (client.Domain =
// "127.0.0.1:PORT", or HTTP_PROXY pointing at localcloud).
//
// It has its own rule model on purpose: nothing here imports porthygiene's
// shared/ packages, so the emulator cannot share the product's bugs.
//
// # Invariants
//
//   - Wire: parameters come from the query and/or an urlencoded body. Every
//     request is signed as the SDK signs (signature 1.0, HMAC-SHA1, key =
//     secret+"&", all parameters except Signature including empty ones, POP
//     percent-encoding, see StringToSign). Checked in this order: AccessKeyId
//     present, key known and STS token valid at the virtual clock
//     (auth.Store.Verify), Timestamp within 15 minutes of the WALL clock,
//     signature, nonce never seen before (per AccessKey, remembered ≥ 30 min).
//   - Error bodies are {"RequestId","HostId","Code","Message","Recommend"},
//     all strings; SignatureDoesNotMatch carries "server string to sign is:<sts>".
//   - Every request is counted in stats as ("ecs", Action, caller, error code);
//     the caller is the RAM user name, or the role name for STS credentials,
//     or "" when authentication failed.
//   - The account's rate limit (Config.RateLimit, calls per wall-clock second,
//     a second's worth of burst) applies after authentication, whatever faults
//     are set: above it, Throttling.User (HTTP 400).
//   - Faults (faults.Set.Decide with the wall clock) apply after authentication:
//     latency first, then Throttling.User (HTTP 400) or ServiceUnavailable (503).
//   - Region scoping: every resource lives in one region, named by RegionId
//     (default Config.DefaultRegion); a group id asked for in another region is
//     InvalidSecurityGroupId.NotFound. A public region id the world does not
//     mention is an empty region; other region ids fail InvalidRegionId.NotFound.
//   - Writes are atomic: a call is validated completely before state changes
//     (one bad permission among 100 adds nothing; an unknown rule id among
//     several revokes nothing).
//   - ActionTrail: after every successful write (Create/DeleteSecurityGroup,
//     Authorize*, Revoke*, Modify*, Join/LeaveSecurityGroup, Tag/UntagResources,
//     Create/Modify/DeletePrefixList) one actiontrail.Record is emitted, after
//     the state lock is released, so
//     a consumer triggered by it reads the new state. requestParameters holds
//     the API parameters as sent (dotted keys such as Permissions.1.PortRange),
//     without the signing/common parameters, plus AcsHost and AcsProduct.
//   - Concurrency: one RWMutex guards the whole world; reads share it.
//
// # Rules
//
//   - Identity (duplicate) tuple: direction, protocol, port range, source port
//     range, peer (CIDR compared as a network, i.e. 10.0.0.1/8 == 10.0.0.0/8;
//     or group id and owner; or prefix-list id), local CIDR (DestCidrIp of an
//     ingress rule / SourceCidrIp of an egress rule), policy and priority.
//     Description is not part of it; NicType is always intranet (VPC).
//     Authorizing an existing identity succeeds and adds nothing; two equal
//     identities in one call fail InvalidParam.DuplicatePermissions.
//   - Revoke by attributes and Modify by attributes locate rules by the same
//     tuple, with the same defaults (policy accept, priority 1).
//   - Defaults: policy accept, priority 1, port range -1/-1 for ICMP, ICMPv6,
//     GRE and ALL (required for TCP/UDP). Peer precedence: CIDR, then group,
//     then prefix list (as documented). Rule ids are "sgr-" + 20 lowercase
//     alphanumerics; group ids "sg-" + 20.
//   - Responses: Policy "Accept"/"Drop", IpProtocol upper case (ICMPv6 as
//     such), Priority a JSON number, every Permission field present ("" when
//     absent), CreateTime RFC 3339 UTC from the virtual clock.
//   - Quotas: 200 rules per group (ingress + egress, 403
//     AuthorizationLimitExceed), 1–100 permissions or rule ids per call, 20
//     group-referencing rules per basic group, 5 groups per ENI, 20 tags per
//     resource. The 1,000-rules-per-ENI quota is not enforced.
//   - Enterprise groups: InnerAccessPolicy Drop, no Drop rules, no group peers.
//
// # Prefix lists
//
//   - A rule naming a list (SourcePrefixListId / DestPrefixListId) matches the
//     list's entries at the time of the check (Decide), so ModifyPrefixList
//     widens or narrows what the rule lets through at once. ActionTrail
//     records of the prefix-list writes name the list in
//     referencedResources["ACS::ECS::PrefixList"] (and, but for Create, in
//     requestParameters.PrefixListId).
//   - CreatePrefixList: PrefixListName (2–128, a letter first; letters,
//     digits, ':', '_', '.', '-'; not http://, https://, com.aliyun,
//     com.alibabacloud), AddressFamily IPv4|IPv6 and MaxEntries 1–200 are
//     required; MaxEntries and the family never change. Entry.N.Cidr is a
//     network in standard form (10.0.0.1/8 is refused) or one address (stored
//     as /32 or /128; IPv6 printed normalised); one family per list; no CIDR
//     twice (10.0.0.1 = 10.0.0.1/32); at most MaxEntries. Descriptions: list
//     2–256, entry 2–32 characters. ClientToken makes it idempotent.
//   - ModifyPrefixList: AddEntry.N of a CIDR the list holds changes its
//     description; a CIDR in both AddEntry and RemoveEntry, or twice in one
//     of them, is refused; the result must fit MaxEntries. All or nothing.
//   - DeletePrefixList: refused (400 NotAllowed.AssociationExist) while any
//     group of the region has a rule naming the list.
//   - DescribePrefixLists (PrefixListId.N ≤ 100, PrefixListName exact,
//     AddressFamily; AssociationCount = referencing groups) and
//     DescribePrefixListAssociations (ResourceType "securitygroup") page with
//     MaxResults 1–100 (default 10) and NextToken, in creation order.
//   - [UNCONFIRMED] a rule referencing a list counting MaxEntries rules against
//     the 200-rule quota is not enforced, nor is any quota of lists per region.
//
// # Error codes chosen without a primary source
//
// Documented codes (aliyun-facts §1.12 and the current API pages) are used
// where they exist. These are our choice: InvalidParameter for more than 100
// Permissions.N / SecurityGroupRuleId.N and for out-of-range
// MaxResults/PageSize; InvalidParameter.NextToken for a bad token;
// InvalidParam.Permissions (documented: "Permissions cannot coexist with other
// parameters") when Permissions.N is mixed with the legacy flat fields or
// with SecurityGroupRuleId.N; InvalidNetworkInterfaceId.NotFound;
// InvalidParameter.Conflict for InstanceId together with NetworkInterfaceId;
// InvalidResourceType.NotSupported, InvalidResourceId.NotFound and
// InvalidTagCount for tags; InvalidRegionId.NotFound; HTTP 400 for
// InvalidAction.NotFound. For prefix lists (the documented codes are
// InvalidPrefixListId.NotFound 404 and NotAllowed.AssociationExist 400):
// InvalidPrefixListName.Malformed, InvalidParameter.AddressFamily,
// InvalidParameter.MaxEntries, InvalidCidr.Malformed,
// InvalidCidr.AddressFamilyMismatch, InvalidCidr.Duplicate,
// InvalidParameter.EntriesExceedMaxEntries (all 400) and
// InvalidPrefixListEntry.NotFound (404, RemoveEntry of a CIDR the list lacks,
// refused here although the real API may accept it).
//
// # Not emulated
//
// XML responses (Format is ignored, JSON is always returned), ClientToken
// idempotency other than CreateSecurityGroup's and CreatePrefixList's, DryRun, classic network,
// port lists (PortRangeListId), IANA protocol numbers, RAM authorization
// (every known key may call every action), DescribeSecurityGroups'
// FuzzyQuery/IsQueryEcsCount, and the rule that an ENI cannot be in basic and
// enterprise groups at once.
package ecs
