//go:build race

package rehearsal

const raceEnabled = true
