// Package policy reads porthygiene's policy file: the catalog of sensitive
// services, the ports allowed to the internet, the internet-wide thresholds,
// where exemptions are written and how long they may last, the per-function
// modes (by severity and by security-group tag) and the cap on changes per
// run. default.yaml, embedded, documents every key.
//
// Invariants:
//
//   - Parsing is strict: an unknown key, a duplicate key, a value of the wrong
//     type or an invalid value is an error that names the file, the line and
//     the key, e.g. `policy.yaml:12: unknown key "sevrity" in services.ssh`
//     or `policy.yaml:7: services.ssh.severity: unknown severity "hgh" (…)`.
//   - A file is read on top of the embedded default: omitted keys keep their
//     default, lists replace, entries under services replace or add the entry
//     of that name, and `disabled: true` removes a default service. An empty
//     file is the default policy.
//   - Every *Policy returned by [Default], [Parse] or [Load] has passed
//     [Policy.Validate]; [Default] returns a fresh copy each call, so callers
//     may modify it.
//   - The package does no I/O except [Load] reading the named file, and reads
//     no clock: [Policy.ModeFor], [Policy.CapUntil], [Policy.ExpiringSoon] and
//     [Thresholds.InternetWide] are pure.
//   - What a function does with one finding is [Policy.ModeFor]: the first
//     scope matching the group's tags, then the enforce list of severities
//     (an enforce mode for a severity not listed is notify).
//   - replace.trustedCidrs that are internet-wide by the policy's own
//     thresholds, alone or together, are refused ([ErrInternetWideTrust]);
//     [Thresholds.InternetWide] is the evaluator's test, restated.
package policy
