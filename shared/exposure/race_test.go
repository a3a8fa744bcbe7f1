//go:build race

package exposure

// raceEnabled scales the bounded differential test down under -race, which
// runs it about seven times slower.
const raceEnabled = true
