// Package logstore is what porthygiene's ledger needs of a log store, with
// no SDK below it: the Log entry, the paging of a search query, the quoting
// of a search value, and the Store interface that the SLS adapter
// (shared/slsapi) implements.
//
// Invariants:
//
//   - The package imports the standard library only: a package that talks
//     to a Store (the ledger, and everything above it) does not depend on
//     the SLS SDK.
//   - A Log is a value: a time and string contents, as SLS keeps them.
//   - Quote(s), used as a search value, matches exactly the phrase s: every
//     backslash and double quote is escaped.
package logstore
