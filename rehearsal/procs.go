package rehearsal

import "strings"

// goMaxProcs names the GOMAXPROCS the started app instances run with, as the reports
// print it after them (" (GOMAXPROCS=1)"); "" when their environment leaves Go's default.
// The last setting in env is the one a process sees.
func goMaxProcs(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "GOMAXPROCS="); ok {
			return " (GOMAXPROCS=" + v + ")"
		}
	}
	return ""
}
