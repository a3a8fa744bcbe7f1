// Package ledgertest gives tests a ledger: Mem, in memory, and OnLocalcloud,
// a real ledger.Ledger on localcloud's SLS emulator. It is imported by tests
// only.
//
// # Invariants
//
//   - Mem keeps a ledger.Ledger's contract: Append validates and writes all
//     or none; Query selects with ledger.Filter.Match, reads a record written
//     twice once, orders with ledger.Filter.Compare and honours Limit. One
//     definition of a filter serves both, and shared/ledger's query tests
//     run against both.
//   - Mem is linearizable (one mutex); its zero value is an empty ledger.
//   - OnLocalcloud goes through the real SDK (shared/slsapi) with STS
//     credentials of the functions' role, as in FC, and closes the emulator
//     when the test ends.
package ledgertest
